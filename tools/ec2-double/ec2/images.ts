// Making images: CreateImage, CopyImage and RegisterImage, where moto takes shortcuts — an image
// available at once, a taken name accepted, tags at creation and ClientToken ignored, a copy
// unencrypted, new snapshots instead of the ones given.
import type { Caller } from '../caller.ts'
import { FrontError, okBody, type Reply } from '../protocol.ts'
import { leaf, parseXml, textOf } from '../xml.ts'
import { imageStateAt, overlayOf, pendingFor, visibleFrom } from './image-state.ts'
import { refuseTakenName, snapshotsOf, tagResources } from './lookups.ts'
import { fingerprintOf, isDryRun, listed, takeTagSpecifications } from './requests.ts'

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
  await tagResources(caller, await snapshotsOf(caller, imageId), tags.get('snapshot') ?? [])
  return reply
}

/** A new image: pending for its pending time, and not listed for a moment (eventual consistency). */
function made(caller: Caller, imageId: string, name: string, action: string): ReturnType<typeof overlayOf> {
  const now = caller.now()
  return Object.assign(overlayOf(caller.state, imageId, caller.region), {
    name,
    createdAt: now,
    visibleAt: visibleFrom(caller.options, now),
    pendingMs: pendingFor(caller.options, { imageId, region: caller.region, name, action })
  })
}

/**
 * CopyImage: ClientToken makes it idempotent; the source must be available; names are unique;
 * tags at creation and encryption (moto ignores all of these).
 */
export async function copyImage(caller: Caller, params: URLSearchParams): Promise<Reply> {
  // The name is judged before a DryRun is answered, as for CreateImage (the stricter order).
  if (isDryRun(params)) {
    await refuseTakenName(caller, params.get('Name') ?? '')
    return caller.send(params)
  }
  const token = params.get('ClientToken')
  const fingerprint = fingerprintOf(params)
  const tokenKey = `${caller.scope}|${token}`
  const earlier = token ? caller.state.copyTokens.get(tokenKey) : undefined
  if (earlier) {
    if (earlier.fingerprint !== fingerprint)
      throw new FrontError(400, 'IdempotentParameterMismatch', `The client token ${token} was used with other parameters.`)
    return { status: 200, body: okBody('CopyImage', [leaf('imageId', earlier.imageId)]) }
  }
  const sourceId = params.get('SourceImageId') ?? ''
  const sourceState = imageStateAt(caller.state, sourceId, caller.now())?.state
  if (sourceState && sourceState !== 'available') {
    throw new FrontError(400, 'IncorrectState', `Image ${sourceId} is not in a valid state for copying (${sourceState}).`)
  }
  const name = params.get('Name') ?? ''
  await refuseTakenName(caller, name)
  const { rest, tags } = takeTagSpecifications(params)
  const reply = await caller.send(rest)
  if (reply.status >= 400) return reply
  const imageId = textOf(parseXml(reply.body), 'imageId')!
  const encrypted = params.get('Encrypted') === 'true' || params.has('KmsKeyId')
  const overlay = Object.assign(made(caller, imageId, name, 'CopyImage'), {
    encrypted,
    // EC2 User Guide, "Use AMI ancestry": a copy reports the AMI and Region it was copied from.
    sourceImageId: sourceId,
    sourceImageRegion: params.get('SourceRegion') ?? ''
  })
  const kmsKeyId = params.get('KmsKeyId') ?? 'alias/aws/ebs'
  if (encrypted) overlay.kmsKeyId = kmsKeyId
  const snapshots = await snapshotsOf(caller, imageId)
  if (encrypted) for (const snapshot of snapshots) caller.state.snapshotKeys.set(snapshot, kmsKeyId)
  await tagResources(caller, [imageId], tags.get('image') ?? [])
  await tagResources(caller, snapshots, tags.get('snapshot') ?? [])
  if (token) caller.state.copyTokens.set(tokenKey, { imageId, fingerprint })
  return reply
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
  overlay.name = params.get('Name') ?? ''
  overlay.visibleAt = visibleFrom(caller.options, caller.now())
  if (given.length > 0) overlay.snapshotIds = given
  return reply
}
