// Making images: CreateImage, CopyImage and RegisterImage, where moto takes shortcuts — an image
// available at once, a taken name accepted, tags at creation and ClientToken ignored, a copy
// unencrypted, new snapshots instead of the ones given, no copy of another account's image.
import type { Caller } from '../caller.ts'
import { defaultEbsKey, keyProblem, recordedKey, sourceKeyProblem } from '../kms/keys.ts'
import { FrontError, okBody, type Reply } from '../protocol.ts'
import { items, leaf, parseXml, textOf, type XmlElement } from '../xml.ts'
import { imageStateAt, overlayOf, pendingFor, visibleFrom } from './image-state.ts'
import { refuseTakenName, snapshotIdsIn, snapshotsOf, tagResources } from './lookups.ts'
import { fingerprintOf, isDryRun, listed, takeTagSpecifications } from './requests.ts'
import { foreignImage, othersKnown, sharedWith } from './shared-images.ts'
import { madeSnapshots } from './snapshots.ts'

/** CreateImage: names are unique per region; snapshot tags at creation (moto: NotImplemented). */
export async function createImage(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const name = params.get('Name') ?? ''
  // Whether EC2 judges the name before it answers a DryRun is not documented: the double does, the
  // stricter order, so a dry run that passes here passes there.
  await refuseTakenName(caller, name)
  if (isDryRun(params)) return caller.send(params)
  const { rest, tags } = takeTagSpecifications(params)
  const imageTags = tags.get('image') ?? []
  imageTags.forEach((tag, i) => {
    rest.set(`TagSpecification.1.ResourceType`, 'image')
    rest.set(`TagSpecification.1.Tag.${i + 1}.Key`, tag.Key)
    rest.set(`TagSpecification.1.Tag.${i + 1}.Value`, tag.Value)
  })
  const reply = await caller.send(rest)
  if (reply.status >= 400) return reply
  const imageId = textOf(parseXml(reply.body), 'imageId')!
  made(caller, imageId, name, 'CreateImage')
  const snapshots = await snapshotsOf(caller, imageId)
  // Its snapshots are pending while it is (snapshots.ts).
  madeSnapshots(caller, imageId, snapshots)
  await tagResources(caller, snapshots, tags.get('snapshot') ?? [])
  return reply
}

/** A new image of the caller's account: pending for its pending time, and not listed for a moment (eventual consistency). */
function made(caller: Caller, imageId: string, name: string, action: string): ReturnType<typeof overlayOf> {
  const now = caller.now()
  return Object.assign(overlayOf(caller.state, imageId, caller.region), {
    account: caller.account,
    name,
    createdAt: now,
    visibleAt: visibleFrom(caller.options, now),
    pendingMs: pendingFor(caller.options, { imageId, region: caller.region, name, action })
  })
}

/** The image a CopyImage copies, as its owner sees it in the source region. */
interface CopySource {
  owner: Caller
  /** The caller's own (or one every account holds, as moto's stock images): moto copies it. */
  own: boolean
  image: XmlElement
  /** Its snapshots, as EC2 sees them (the ones RegisterImage was given, for an image registered so). */
  snapshots: string[]
}

/** The source, in the caller's account or, failing that, in another the double acts in; undefined: left to moto. */
async function copySource(caller: Caller, imageId: string, region: string): Promise<CopySource | undefined> {
  const snapshotsIn = (image: XmlElement): string[] => caller.state.images.get(imageId)?.snapshotIds ?? snapshotIdsIn(image)
  const self = caller.as(caller.account, region)
  // An image the double saw another account make is not the caller's: no need to ask moto.
  const maker = caller.state.images.get(imageId)?.account
  const found =
    maker === undefined || maker === caller.account
      ? await self.moto('DescribeImages', { 'ImageId.1': imageId }).catch(() => undefined)
      : undefined
  const mine = found && items(found, 'imagesSet')[0]
  if (mine) return { owner: self, own: true, image: mine, snapshots: snapshotsIn(mine) }
  if (!othersKnown(caller)) return undefined
  const theirs = await foreignImage(caller, imageId, region)
  return theirs && { ...theirs, own: false, snapshots: snapshotsIn(theirs.image) }
}

/**
 * Cross-account copying (EC2 User Guide, "Copy an Amazon EC2 AMI", Cross-account copying): "To copy
 * an AMI that was shared with you from another account, the owner of the source AMI must grant you
 * read permissions for the storage that backs the AMI", that is, createVolumePermission on each of
 * its snapshots (EBS User Guide, "Share an Amazon EBS snapshot"). An image not shared with the
 * caller is one it cannot see: InvalidAMIID.NotFound, as for an unknown id. Without the storage,
 * EC2 answers "You do not have permission to access the storage of this ami" (the wording users
 * report; EC2 documents no code, InvalidRequest is the double's choice). Whether the caller may use
 * the snapshots' KMS keys EC2 finds out only while it copies: see copyEncryption.
 */
async function refuseCrossAccount(caller: Caller, source: CopySource, imageId: string): Promise<void> {
  if (!(await sharedWith(source.owner, imageId, caller.account)))
    throw new FrontError(400, 'InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`)
  for (const snapshot of source.snapshots) {
    const found = await source.owner.moto('DescribeSnapshotAttribute', { SnapshotId: snapshot, Attribute: 'createVolumePermission' })
    const permitted = items(found, 'createVolumePermission').some(
      (permission) => textOf(permission, 'userId') === caller.account || textOf(permission, 'group') === 'all'
    )
    if (!permitted) throw new FrontError(400, 'InvalidRequest', 'You do not have permission to access the storage of this ami')
  }
}

/**
 * The key a copy is encrypted with, and why the copy will fail, if it will (EC2 User Guide, "Use
 * encryption with EBS-backed AMIs", Image-copying scenarios; "Copy an Amazon EC2 AMI", Encryption
 * and copying; EC2 API Reference, CopyImage, Encrypted and KmsKeyId):
 * - A copy of an encrypted source is encrypted: "you cannot copy an encrypted snapshot to yield an
 *   unencrypted one". With KmsKeyId, that key; without, "An encrypted snapshot that you own is
 *   copied to a snapshot encrypted with the same KMS key" — in the same region, since a KMS key
 *   lives in one region; to another region the double uses the destination's default key, its
 *   reading — and "An encrypted snapshot that you do not own (that is, the AMI is shared with you) is
 *   copied to a snapshot that is encrypted by your AWS account's default KMS key".
 * - An unencrypted source is copied unencrypted unless Encrypted is true: then with KmsKeyId, else
 *   the account's default key ("If you do not specify the KmsKeyId parameter, the default ... key is
 *   used").
 * - The key is recorded as EC2 reports it, an ARN (kms/keys.ts, recordedKey).
 * - KMS problems surface late: "Amazon Web Services parses KmsKeyId asynchronously, meaning that the
 *   action you call may appear to complete even though you provided an invalid identifier. This
 *   action will eventually report failure" (CopyImage, KmsKeyId), and "If you attempt to copy an
 *   encrypted snapshot without having permissions to use the encryption key, the operation fails
 *   silently" (EBS User Guide, "Copy an Amazon EBS snapshot"). So a key in another region, another
 *   account's key its policy does not let the caller use, or a shared source whose snapshots are
 *   encrypted with a key the caller may not use (the owner's aws/ebs key, or a customer managed key
 *   whose policy does not name the caller) does not refuse the copy: the copy is made, and ends
 *   failed after its pending time. The reason's wording is the double's.
 */
function copyEncryption(
  caller: Caller,
  params: URLSearchParams,
  source: CopySource | undefined,
  sourceRegion: string
): { key?: string; failure?: string } {
  const sourceKeys = (source?.snapshots ?? []).flatMap((snapshot) => caller.state.snapshotKeys.get(snapshot) ?? [])
  const given = params.get('KmsKeyId')
  if (params.get('Encrypted') !== 'true' && sourceKeys.length === 0) return {}
  const key =
    given !== null
      ? recordedKey(caller, given, caller.region)
      : source?.own && sourceKeys[0] !== undefined && sourceRegion === caller.region
        ? sourceKeys[0]
        : defaultEbsKey(caller.state, caller.account, caller.region, caller.now()).arn
  const problem =
    keyProblem(caller.state, key, caller.account, caller.region) ??
    (source?.own ? undefined : sourceKeys.map((sourceKey) => sourceKeyProblem(caller.state, sourceKey, caller.account)).find(Boolean))
  return problem ? { key, failure: `Copy image failed: ${problem}.` } : { key }
}

/**
 * CopyImage: ClientToken makes it idempotent; the source must be available; names are unique;
 * tags at creation and encryption (moto ignores all of these). A source another account shares with
 * the caller is copied into the caller's account (EC2 User Guide, "Copy an Amazon EC2 AMI",
 * Cross-account copying: "you are the owner of the target AMI in your account"), which moto cannot
 * do — it looks for the source in the caller's account only — so the double registers the copy in
 * moto as the caller (moto gives it a new snapshot of the caller's) and treats it as any other copy.
 */
export async function copyImage(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const sourceId = params.get('SourceImageId') ?? ''
  const sourceRegion = params.get('SourceRegion') ?? caller.region
  // EC2 User Guide, "Use encryption with EBS-backed AMIs": "Submitting a KmsKeyId without also
  // setting the Encrypted parameter results in an error" — InvalidParameterCombination, the error
  // codes page's code for "an incorrect combination of parameters, or a missing parameter".
  if (params.has('KmsKeyId') && params.get('Encrypted') !== 'true')
    throw new FrontError(400, 'InvalidParameterCombination', 'KmsKeyId requires Encrypted to be true.')
  const sourceOf = async (): Promise<CopySource | undefined> => {
    const source = await copySource(caller, sourceId, sourceRegion)
    if (source && !source.own) await refuseCrossAccount(caller, source, sourceId)
    // "You can encrypt a copy of an unencrypted snapshot, but you cannot create an unencrypted copy of
    // an encrypted snapshot" (CopyImage, Encrypted), in the words EC2 answers it with (InvalidRequest,
    // as reported against the real API).
    const encrypted = source?.snapshots.find((snapshot) => caller.state.snapshotKeys.has(snapshot))
    if (encrypted && params.get('Encrypted') === 'false')
      throw new FrontError(
        400,
        'InvalidRequest',
        `Snapshot ${encrypted} is encrypted. Creating an unencrypted copy from an encrypted snapshot is not supported.`
      )
    return source
  }
  // The name is judged before a DryRun is answered, as for CreateImage (the stricter order); so are
  // the source's sharing and storage, which DryRun's "required permissions" include.
  if (isDryRun(params)) {
    const source = await sourceOf()
    await refuseTakenName(caller, params.get('Name') ?? '')
    if (source && !source.own) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
    return caller.send(params)
  }
  // A repeated token answers the first copy, whatever has changed since (the grants taken back, say).
  const token = params.get('ClientToken')
  const fingerprint = fingerprintOf(params)
  const tokenKey = `${caller.scope}|${token}`
  const earlier = token ? caller.state.copyTokens.get(tokenKey) : undefined
  if (earlier) {
    if (earlier.fingerprint !== fingerprint)
      throw new FrontError(400, 'IdempotentParameterMismatch', `The client token ${token} was used with other parameters.`)
    return { status: 200, body: okBody('CopyImage', [leaf('imageId', earlier.imageId)]) }
  }
  const source = await sourceOf()
  const sourceState = imageStateAt(caller.state, sourceId, caller.now())?.state
  if (sourceState && sourceState !== 'available') {
    throw new FrontError(400, 'IncorrectState', `Image ${sourceId} is not in a valid state for copying (${sourceState}).`)
  }
  const name = params.get('Name') ?? ''
  await refuseTakenName(caller, name)
  const { rest, tags } = takeTagSpecifications(params)
  let imageId: string
  if (!source || source.own) {
    const reply = await caller.send(rest)
    if (reply.status >= 400) return reply
    imageId = textOf(parseXml(reply.body), 'imageId')!
  } else {
    imageId = await registerCopy(caller, source, params)
  }
  const overlay = Object.assign(made(caller, imageId, name, 'CopyImage'), {
    // EC2 User Guide, "Use AMI ancestry": a copy reports the AMI and Region it was copied from.
    sourceImageId: sourceId,
    sourceImageRegion: params.get('SourceRegion') ?? ''
  })
  const encryption = copyEncryption(caller, params, source, sourceRegion)
  const snapshots = await snapshotsOf(caller, imageId)
  // Pending while the copy is, with the source's full sizes (snapshots.ts).
  madeSnapshots(caller, imageId, snapshots, source && { snapshots: source.snapshots, region: sourceRegion })
  if (encryption.key) {
    overlay.encrypted = true
    overlay.kmsKeyId = encryption.key
    for (const snapshot of snapshots) caller.state.snapshotKeys.set(snapshot, encryption.key)
  }
  if (encryption.failure) overlay.failure = { code: 'Client.InternalError', message: encryption.failure }
  await tagResources(caller, [imageId], tags.get('image') ?? [])
  await tagResources(caller, snapshots, tags.get('snapshot') ?? [])
  if (token) caller.state.copyTokens.set(tokenKey, { imageId, fingerprint })
  return { status: 200, body: okBody('CopyImage', [leaf('imageId', imageId)]) }
}

/**
 * What EC2 copies of an image, as DescribeImages names them, that moto's RegisterImage does not
 * keep: a copy is "an identical but distinct target AMI" (EC2 User Guide, "Copy an Amazon EC2 AMI").
 */
const INHERITED = ['architecture', 'virtualizationType', 'hypervisor', 'platform', 'platformDetails', 'rootDeviceType', 'bootMode']

/** Registers the copy of another account's image in the caller's account (moto gives it a snapshot of the caller's). */
async function registerCopy(caller: Caller, source: CopySource, params: URLSearchParams): Promise<string> {
  const description = params.get('Description') ?? textOf(source.image, 'description')
  const registered = await caller.moto('RegisterImage', {
    Name: params.get('Name') ?? '',
    ...(description ? { Description: description } : {})
  })
  const imageId = textOf(registered, 'imageId')!
  const inherited: Record<string, string> = {}
  for (const name of INHERITED) {
    const value = textOf(source.image, name)
    if (value) inherited[name] = value
  }
  overlayOf(caller.state, imageId, caller.region).inherited = inherited
  return imageId
}

/**
 * RegisterImage (EC2 API Reference, RegisterImage; BlockDeviceMapping): the image uses the
 * snapshots it is given. moto makes new snapshots instead, so the double reports the given ones;
 * that is how two images come to share a snapshot.
 */
export async function registerImage(caller: Caller, params: URLSearchParams): Promise<Reply> {
  if (isDryRun(params)) return caller.send(params)
  await refuseTakenName(caller, params.get('Name') ?? '')
  const reply = await caller.send(params)
  if (reply.status >= 400) return reply
  const imageId = textOf(parseXml(reply.body), 'imageId')!
  const given = listed(params, /^BlockDeviceMapping\.\d+\.Ebs\.SnapshotId$/)
  const overlay = overlayOf(caller.state, imageId, caller.region)
  overlay.account = caller.account
  overlay.name = params.get('Name') ?? ''
  overlay.visibleAt = visibleFrom(caller.options, caller.now())
  if (given.length > 0) overlay.snapshotIds = given
  return reply
}
