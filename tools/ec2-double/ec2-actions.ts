// What the front does per EC2 action, where real EC2 and moto differ. Each handler cites the EC2
// behaviour it adds; actions without a handler go to moto unchanged.
import { FrontError, okBody, type Front, type Reply } from './front.ts'
import { child, items, leaf, node, parseXml, serializeXml, setText, textOf, type XmlElement } from './xml.ts'

type Handler = (front: Front, region: string, params: URLSearchParams) => Promise<Reply>

export const HANDLERS: Record<string, Handler> = {
  CreateImage: createImage,
  CopyImage: copyImage,
  DescribeImages: describeImages,
  DescribeSnapshots: (front, region, params) => paginated(front, region, params, 'snapshotSet', (xml) => overlaySnapshots(front, xml)),
  // moto pages these itself (15 or 100 at a time) unless asked for more; the front does the paging.
  DescribeInstances: (front, region, params) => paginated(front, region, params, 'reservationSet', undefined, !params.has('InstanceId.1')),
  DescribeLaunchTemplates: (front, region, params) => paginated(front, region, params, 'launchTemplates', undefined, true),
  DescribeLaunchTemplateVersions: describeLaunchTemplateVersions,
  CreateLaunchTemplateVersion: createLaunchTemplateVersion,
  ModifyLaunchTemplate: modifyLaunchTemplate,
  DescribeImageAttribute: describeImageAttribute,
  ModifyImageAttribute: modifyImageAttribute,
  ModifySnapshotAttribute: modifySnapshotAttribute,
  DeregisterImage: deregisterImage,
  EnableImageDeprecation: (front, region, params) => {
    const at = deprecateAt(params.get('DeprecateAt') ?? '')
    return setAttribute(front, region, params, 'EnableImageDeprecation', (image) => {
      image.deprecationTime = at.toISOString()
    })
  },
  DisableImageDeprecation: (front, region, params) =>
    setAttribute(front, region, params, 'DisableImageDeprecation', (image) => void delete image.deprecationTime),
  EnableImageDeregistrationProtection: (front, region, params) =>
    setAttribute(front, region, params, 'EnableImageDeregistrationProtection', (image) => {
      // The AWS CLI's own examples answer enabled-without-cooldown (and enabled-with-cooldown).
      image.protection = params.get('WithCooldown') === 'true' ? 'enabled-with-cooldown' : 'enabled-without-cooldown'
    }),
  // EC2 API Reference, EnableImageDeregistrationProtection: WithCooldown "enforces deregistration
  // protection for 24 hours after deregistration protection is disabled". How DescribeImages shows
  // that state is not documented; the front answers disabled-until-<time>, and keeps refusing
  // DeregisterImage until then.
  DisableImageDeregistrationProtection: (front, region, params) =>
    setAttribute(front, region, params, 'DisableImageDeregistrationProtection', (image) => {
      image.protection =
        image.protection === 'enabled-with-cooldown'
          ? `disabled-until-${new Date(Date.now() + COOLDOWN_MS).toISOString().replace(/\.\d+Z$/, 'Z')}`
          : 'disabled'
    }),
  DescribeImageReferences: describeImageReferences,
  RegisterImage: registerImage,
  DisableImage: disableImage,
  // EC2 API Reference, EnableImage: "Re-enables a disabled AMI." What EC2 answers for an image that
  // is not disabled is not documented; the front refuses it (IncorrectState, "The resource is in an
  // incorrect state for the request"), the strict reading, so code never leans on a no-op.
  EnableImage: (front, region, params) =>
    setAttribute(
      front,
      region,
      params,
      'EnableImage',
      (image) => void (image.disabled = false),
      (imageId) => {
        if (!front.state.images.get(imageId)?.disabled)
          throw new FrontError(400, 'IncorrectState', `Image ${imageId} is not disabled, so it cannot be re-enabled.`)
      }
    ),
  DeleteSnapshot: deleteSnapshot
}

const isDryRun = (params: URLSearchParams): boolean => params.get('DryRun') === 'true'
const COOLDOWN_MS = 24 * 3_600_000

/** Protected: enabled (with or without cooldown), or disabled but still in its cooldown. */
function isProtectedNow(protection: string | undefined): boolean {
  if (!protection || protection === 'disabled') return false
  const until = /^disabled-until-(.+)$/.exec(protection)?.[1]
  return until === undefined || Date.parse(until) > Date.now()
}

/** CreateImage: names are unique per region; snapshot tags at creation (moto: NotImplemented). */
async function createImage(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  if (isDryRun(params)) return front.send(region, params)
  const name = params.get('Name') ?? ''
  await refuseTakenName(front, region, name)
  const { rest, tags } = takeTagSpecifications(params)
  const imageTags = tags.get('image') ?? []
  imageTags.forEach((tag, i) => {
    rest.set(`TagSpecification.1.ResourceType`, 'image')
    rest.set(`TagSpecification.1.Tag.${i + 1}.Key`, tag.Key)
    rest.set(`TagSpecification.1.Tag.${i + 1}.Value`, tag.Value)
  })
  const reply = await front.send(region, rest)
  if (reply.status >= 400) return reply
  const imageId = textOf(parseXml(reply.body), 'imageId')!
  const overlay = front.overlay(imageId, region)
  const now = Date.now()
  Object.assign(overlay, {
    name,
    createdAt: now,
    visibleAt: front.visibleFrom(now),
    pendingMs: front.pendingFor({ imageId, region, name, action: 'CreateImage' })
  })
  await tagResources(front, region, await snapshotsOf(front, region, imageId), tags.get('snapshot') ?? [])
  return reply
}

/**
 * CopyImage: ClientToken makes it idempotent; the source must be available; names are unique;
 * tags at creation and encryption (moto ignores all of these).
 */
async function copyImage(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  if (isDryRun(params)) return front.send(region, params)
  const token = params.get('ClientToken')
  const fingerprint = fingerprintOf(params)
  const earlier = token ? front.state.copyTokens.get(`${region}|${token}`) : undefined
  if (earlier) {
    if (earlier.fingerprint !== fingerprint)
      throw new FrontError(400, 'IdempotentParameterMismatch', `The client token ${token} was used with other parameters.`)
    return { status: 200, body: okBody('CopyImage', [leaf('imageId', earlier.imageId)]) }
  }
  const sourceId = params.get('SourceImageId') ?? ''
  const sourceState = front.stateOf(sourceId)?.state
  if (sourceState && sourceState !== 'available') {
    throw new FrontError(400, 'IncorrectState', `Image ${sourceId} is not in a valid state for copying (${sourceState}).`)
  }
  const name = params.get('Name') ?? ''
  await refuseTakenName(front, region, name)
  const { rest, tags } = takeTagSpecifications(params)
  const reply = await front.send(region, rest)
  if (reply.status >= 400) return reply
  const imageId = textOf(parseXml(reply.body), 'imageId')!
  const encrypted = params.get('Encrypted') === 'true' || params.has('KmsKeyId')
  const overlay = front.overlay(imageId, region)
  const now = Date.now()
  Object.assign(overlay, {
    name,
    createdAt: now,
    visibleAt: front.visibleFrom(now),
    pendingMs: front.pendingFor({ imageId, region, name, action: 'CopyImage' }),
    encrypted,
    // EC2 User Guide, "Use AMI ancestry": a copy reports the AMI and Region it was copied from.
    sourceImageId: sourceId,
    sourceImageRegion: params.get('SourceRegion') ?? ''
  })
  const kmsKeyId = params.get('KmsKeyId') ?? 'alias/aws/ebs'
  if (encrypted) overlay.kmsKeyId = kmsKeyId
  const snapshots = await snapshotsOf(front, region, imageId)
  if (encrypted) for (const snapshot of snapshots) front.state.snapshotKeys.set(snapshot, kmsKeyId)
  await tagResources(front, region, [imageId], tags.get('image') ?? [])
  await tagResources(front, region, snapshots, tags.get('snapshot') ?? [])
  if (token) front.state.copyTokens.set(`${region}|${token}`, { imageId, fingerprint })
  return reply
}

/**
 * EC2 developer guide, "Ensuring idempotency": a retry with the same client token "but one or more
 * of the parameters are different, other than the Region or Availability Zone, ... fails with an
 * IdempotentParameterMismatch error". So every parameter counts, tags included.
 */
function fingerprintOf(params: URLSearchParams): string {
  return JSON.stringify(
    [...params].filter(([key]) => !['Action', 'Version', 'ClientToken', 'DryRun'].includes(key)).sort(([a], [b]) => a.localeCompare(b))
  )
}

/** DescribeImages: pending and failed states, creation dates, encryption, deprecation, protection. */
async function describeImages(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  // moto filters on its own state (always available), so the state filter applies to ours instead;
  // moto lacks the block-device-mapping.snapshot-id filter.
  const { rest, taken } = takeFilters(params, ['state', 'block-device-mapping.snapshot-id'])
  const states = taken.get('state')
  const snapshots = taken.get('block-device-mapping.snapshot-id')
  // EC2 API Reference, DescribeImages, IncludeDisabled: "Default: No disabled AMIs are included in
  // the response." The front hides them from every describe without it, by id too (stricter).
  const includeDisabled = params.get('IncludeDisabled') === 'true'
  return paginated(front, region, rest, 'imagesSet', (element) => {
    const set = child(element, 'imagesSet')
    if (!set) return
    for (const image of items(element, 'imagesSet')) overlayImage(front, image)
    set.children = set.children.filter((image) => {
      const imageId = textOf(image, 'imageId') ?? ''
      if (!front.visible(imageId)) return false
      return includeDisabled || textOf(image, 'imageState') !== 'disabled'
    })
    if (states) set.children = set.children.filter((image) => states.includes(textOf(image, 'imageState') ?? ''))
    if (snapshots) set.children = set.children.filter((image) => snapshotIdsIn(image).some((id) => snapshots.includes(id)))
  })
}

function overlayImage(front: Front, image: XmlElement): void {
  const imageId = textOf(image, 'imageId') ?? ''
  const overlay = front.state.images.get(imageId)
  // Only the front knows when an image last launched (ImageOverlay.lastLaunchedTime): whatever moto
  // might put there is never shown.
  image.children = image.children.filter((c) => c.name !== 'lastLaunchedTime')
  if (overlay?.lastLaunchedTime) image.children.push(leaf('lastLaunchedTime', overlay.lastLaunchedTime))
  if (!overlay) return
  const state = front.stateOf(imageId)
  if (state) {
    setText(image, 'imageState', state.state)
    if (state.reason) image.children.push(node('stateReason', [leaf('code', state.reason.code), leaf('message', state.reason.message)]))
  }
  if (overlay.creationDate) setText(image, 'creationDate', overlay.creationDate)
  if (overlay.sourceImageId && !textOf(image, 'sourceImageId')) {
    image.children.push(leaf('sourceImageId', overlay.sourceImageId), leaf('sourceImageRegion', overlay.sourceImageRegion ?? ''))
  }
  if (overlay.snapshotIds) {
    items(image, 'blockDeviceMapping').forEach((mapping, i) => {
      const ebs = child(mapping, 'ebs')
      const id = overlay.snapshotIds![i]
      if (ebs && id) setText(ebs, 'snapshotId', id)
    })
  }
  if (overlay.deprecationTime) setText(image, 'deprecationTime', overlay.deprecationTime)
  if (overlay.protection) setText(image, 'deregistrationProtection', overlay.protection)
  if (overlay.encrypted) {
    for (const mapping of items(image, 'blockDeviceMapping')) {
      const ebs = child(mapping, 'ebs')
      if (!ebs) continue
      setText(ebs, 'encrypted', 'true')
      if (overlay.kmsKeyId) setText(ebs, 'kmsKeyId', overlay.kmsKeyId)
    }
  }
}

function overlaySnapshots(front: Front, element: XmlElement): void {
  for (const snapshot of items(element, 'snapshotSet')) {
    const key = front.state.snapshotKeys.get(textOf(snapshot, 'snapshotId') ?? '')
    if (!key) continue
    setText(snapshot, 'encrypted', 'true')
    setText(snapshot, 'kmsKeyId', key)
  }
}

/**
 * Forwards without MaxResults/NextToken (moto would return everything anyway), edits the answer,
 * then serves it a page at a time as EC2 does when MaxResults is given.
 */
async function paginated(
  front: Front,
  region: string,
  params: URLSearchParams,
  setName: string,
  edit?: (xml: XmlElement) => void | Promise<void>,
  askForAll = false
): Promise<Reply> {
  const asked = Number(params.get('MaxResults') ?? 0)
  const maxResults = asked > 0 && front.state.options.pageSize ? Math.min(asked, front.state.options.pageSize) : asked
  const offset = Number(params.get('NextToken') ?? 0)
  const rest = new URLSearchParams(params)
  rest.delete('MaxResults')
  rest.delete('NextToken')
  if (askForAll) rest.set('MaxResults', '1000000')
  const reply = await front.send(region, rest)
  if (reply.status >= 400) return reply
  const xml = parseXml(reply.body)
  await edit?.(xml)
  const set = child(xml, setName)
  if (maxResults > 0 && set) {
    const all = set.children.filter((c) => c.name === 'item')
    set.children = all.slice(offset, offset + maxResults)
    xml.children = xml.children.filter((c) => c.name !== 'nextToken')
    if (offset + maxResults < all.length) xml.children.push(leaf('nextToken', String(offset + maxResults)))
  }
  return { status: 200, body: serializeXml(xml) }
}

/**
 * DeregisterImage (EC2 API Reference, DeregisterImage; DeleteSnapshotReturnCode): protection
 * refuses it; with DeleteAssociatedSnapshots each snapshot is reported: success, or skipped "because
 * it's associated with other AMIs". EC2 judges that as of the request: an image whose own
 * DeregisterImage is in flight at the same moment still counts as using its snapshots, so two images
 * sharing a snapshot, deregistered together, both skip it. Disabled images count too (EC2 User
 * Guide, "Disable an AMI": their snapshots cannot be deleted).
 */
async function deregisterImage(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  if (isDryRun(params)) return front.send(region, params)
  const imageId = params.get('ImageId') ?? ''
  if (isProtectedNow(front.state.images.get(imageId)?.protection)) {
    throw new FrontError(
      400,
      'OperationNotPermitted',
      `Image ${imageId} has deregistration protection enabled (or in its cooldown); disable it before deregistering.`
    )
  }
  const deleteSnapshots = params.get('DeleteAssociatedSnapshots') === 'true'
  const images = await snapshotsByImage(front, region)
  const own = images.get(imageId) ?? []
  front.state.deregistering.set(imageId, own)
  try {
    const others = new Map([...images, ...front.state.deregistering])
    others.delete(imageId)
    const used = new Set([...others.values()].flat())
    const rest = new URLSearchParams(params)
    rest.delete('DeleteAssociatedSnapshots')
    const reply = await front.send(region, rest)
    if (reply.status >= 400 || !deleteSnapshots) return reply
    const results: XmlElement[] = []
    for (const snapshot of own) {
      const code = used.has(snapshot)
        ? 'skipped'
        : await front.moto(region, 'DeleteSnapshot', { SnapshotId: snapshot }).then(
            () => 'success',
            () => 'client-error'
          )
      results.push(node('item', [leaf('snapshotId', snapshot), leaf('returnCode', code)]))
    }
    const xml = parseXml(reply.body)
    xml.children.push(node('deleteSnapshotResultSet', results))
    return { status: reply.status, body: serializeXml(xml) }
  } finally {
    // The request's moment lasts a little beyond its reply, so calls sent together overlap.
    await new Promise((resolve) => setTimeout(resolve, DEREGISTER_MOMENT_MS))
    front.state.deregistering.delete(imageId)
  }
}

const DEREGISTER_MOMENT_MS = 50

/** Every image of this account in the region (disabled ones too) with its snapshots, as EC2 sees them. */
async function snapshotsByImage(front: Front, region: string): Promise<Map<string, string[]>> {
  const cached = front.state.imageIndex.get(region)
  if (cached) return cached
  const generation = front.state.generation.get(region) ?? 0
  const found = await front.moto(region, 'DescribeImages', { 'Owner.1': 'self' })
  const images = new Map<string, string[]>()
  for (const image of items(found, 'imagesSet')) {
    overlayImage(front, image)
    images.set(textOf(image, 'imageId') ?? '', snapshotIdsIn(image))
  }
  // Kept only if no image changed while it was being listed.
  if ((front.state.generation.get(region) ?? 0) === generation) front.state.imageIndex.set(region, images)
  return images
}

/**
 * DeleteSnapshot (EC2 API Reference, error codes: InvalidSnapshot.InUse, "The snapshot that you
 * are trying to delete is in use by one or more AMIs"): refused while any image of the account uses
 * it, disabled ones and ones registered from it included — which moto cannot see.
 */
async function deleteSnapshot(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  const snapshotId = params.get('SnapshotId') ?? ''
  // Whether EC2 judges use before it answers a DryRun is not documented: the front judges it first,
  // the stricter order, in which a dry run of a snapshot in use says nothing of the permission.
  for (const [imageId, snapshots] of await snapshotsByImage(front, region)) {
    if (snapshots.includes(snapshotId)) {
      throw new FrontError(400, 'InvalidSnapshot.InUse', `The snapshot ${snapshotId} is currently in use by ${imageId}`)
    }
  }
  // DryRun "checks whether you have the required permissions for the action, without actually
  // making the request" (EC2 API Reference, DeleteSnapshot): moto answers DryRunOperation.
  return front.send(region, params)
}

/**
 * RegisterImage (EC2 API Reference, RegisterImage; BlockDeviceMapping): the image uses the
 * snapshots it is given. moto makes new snapshots instead, so the front reports the given ones;
 * that is how two images come to share a snapshot.
 */
async function registerImage(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  if (isDryRun(params)) return front.send(region, params)
  await refuseTakenName(front, region, params.get('Name') ?? '')
  const reply = await front.send(region, params)
  if (reply.status >= 400) return reply
  const imageId = textOf(parseXml(reply.body), 'imageId')!
  const given = [...params].filter(([key]) => /^BlockDeviceMapping\.\d+\.Ebs\.SnapshotId$/.test(key)).map(([, value]) => value)
  const overlay = front.overlay(imageId, region)
  overlay.name = params.get('Name') ?? ''
  overlay.visibleAt = front.visibleFrom(Date.now())
  if (given.length > 0) overlay.snapshotIds = given
  return reply
}

/**
 * DescribeLaunchTemplateVersions (EC2 API Reference): without a template id or name, only $Latest
 * and $Default may be asked ("You cannot specify numbers"); ResolveAlias "If true, and if a Systems
 * Manager parameter is specified for ImageId, the AMI ID is displayed in the response for imageId".
 * MaxResults is 1 to 200. Versions made from a SourceVersion show the data EC2 gave them
 * (Front.launchTemplateVersions), which moto does not keep.
 */
async function describeLaunchTemplateVersions(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  const versions = [...params].filter(([key]) => /^LaunchTemplateVersion\.\d+$/.test(key)).map(([, value]) => value)
  const named = params.has('LaunchTemplateId') || params.has('LaunchTemplateName')
  if (!named && (versions.length === 0 || versions.some((v) => v !== '$Latest' && v !== '$Default'))) {
    throw new FrontError(
      400,
      'InvalidParameterValue',
      'Without a launch template id or name, only $Latest and $Default versions can be described.'
    )
  }
  // moto reads version 0 (or -1) as the latest, and fails on a word; EC2 has versions 1, 2, …
  for (const version of versions) refuseVersionNumber(version)
  const max = Number(params.get('MaxResults') ?? 200)
  if (params.has('MaxResults') && (max < 1 || max > 200)) throw new FrontError(400, 'InvalidParameterValue', 'MaxResults must be 1 to 200.')
  const resolve = params.get('ResolveAlias') === 'true'
  const rest = new URLSearchParams(params)
  rest.delete('ResolveAlias')
  return paginated(
    front,
    region,
    rest,
    'launchTemplateVersionSet',
    async (xml) => {
      overlayTemplateVersions(front, xml)
      if (resolve) await resolveAliases(front, region, items(xml, 'launchTemplateVersionSet'))
    },
    true
  )
}

/** A version number EC2 could have: $Latest, $Default, or 1, 2, … */
function refuseVersionNumber(version: string): void {
  if (version === '$Latest' || version === '$Default' || /^[1-9]\d*$/.test(version)) return
  if (/^-?\d+$/.test(version))
    throw new FrontError(400, 'InvalidLaunchTemplateId.VersionNotFound', `The specified launch template version ${version} does not exist.`)
  throw new FrontError(400, 'InvalidParameterValue', `${version} is not a launch template version number, $Latest or $Default.`)
}

/** Puts the data EC2 gave each version made from a SourceVersion in place of what moto kept. */
export function overlayTemplateVersions(front: Front, xml: XmlElement): void {
  for (const version of items(xml, 'launchTemplateVersionSet')) overlayTemplateVersion(front, version)
}

function overlayTemplateVersion(front: Front, version: XmlElement): void {
  const data = front.state.launchTemplateVersions.get(`${textOf(version, 'launchTemplateId')}#${textOf(version, 'versionNumber')}`)
  if (!data) return
  version.children = version.children.filter((c) => c.name !== 'launchTemplateData')
  version.children.push(cloneXml(data))
}

/** ResolveAlias: a resolve:ssm: image shows as the image the parameter holds now. */
async function resolveAliases(front: Front, region: string, versions: XmlElement[]): Promise<void> {
  for (const version of versions) {
    const data = child(version, 'launchTemplateData')
    const alias = /^resolve:ssm:(.+)$/.exec(data ? (textOf(data, 'imageId') ?? '') : '')?.[1]
    if (!data || alias === undefined) continue
    const answer = await front.ssm(region, 'GetParameter', { Name: alias })
    setText(data, 'imageId', String((answer.Parameter as { Value?: string } | undefined)?.Value ?? ''))
  }
}

function cloneXml(element: XmlElement): XmlElement {
  return { ...element, children: element.children.map(cloneXml) }
}

/**
 * CreateLaunchTemplateVersion (EC2 API Reference), which moto takes in part:
 * - SourceVersion: "If you specify this parameter, the new version inherits the launch parameters
 *   from the source version. If you specify additional launch parameters for the new version, they
 *   overwrite any corresponding launch parameters inherited from the source version." moto ignores
 *   it, so the front keeps the version's data itself (Front.launchTemplateVersions) and shows it in
 *   every answer. Also from SourceVersion: "Snapshots applied to the block device mapping are
 *   ignored when creating a new version unless they are explicitly included" — so inherited block
 *   device mappings lose their snapshot ids, and mappings given with the call replace the inherited
 *   list whole (whether EC2 merges a partial list device by device is not documented; replacing is
 *   the stricter reading, and the two agree when every mapping is given again). Only ImageId and
 *   BlockDeviceMapping are merged; any other field given with a SourceVersion is refused
 *   (FrontUnsupported) rather than merged wrongly. A source version that does not exist: InvalidLaunchTemplateId.VersionNotFound (EC2 API
 *   Reference, error codes: "The specified launch template version does not exist").
 * - ClientToken: "Unique, case-sensitive identifier you provide to ensure the idempotency of the
 *   request." The same token with the same parameters answers the first call's version and makes
 *   none; with any parameter different, IdempotentParameterMismatch (as CopyImage).
 * - DryRun: checked after the template and source version are found, then answered by moto
 *   (DryRunOperation, nothing made). A template that does not exist: moto's answer, which is EC2's
 *   documented InvalidLaunchTemplateId.NotFound (by id) or InvalidLaunchTemplateName.NotFoundException
 *   (by name).
 */
async function createLaunchTemplateVersion(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  const dryRun = isDryRun(params)
  const token = params.get('ClientToken')
  const fingerprint = fingerprintOf(params)
  const earlier = token && !dryRun ? front.state.templateTokens.get(`${region}|${token}`) : undefined
  if (earlier) {
    if (earlier.fingerprint !== fingerprint)
      throw new FrontError(400, 'IdempotentParameterMismatch', `The client token ${token} was used with other parameters.`)
    return { status: 200, body: earlier.body }
  }
  const source = params.get('SourceVersion')
  let sourceData: XmlElement | undefined
  if (source !== null) {
    const others = [...params.keys()].filter(
      (key) => key.startsWith('LaunchTemplateData.') && !/^LaunchTemplateData\.(ImageId$|BlockDeviceMapping\.)/.test(key)
    )
    if (others.length > 0) {
      throw new FrontError(
        400,
        'FrontUnsupported',
        `The test front merges only LaunchTemplateData.ImageId and BlockDeviceMapping into a SourceVersion; it was also given ${others.join(', ')}.`
      )
    }
    refuseVersionNumber(source)
    if (!/^\d+$/.test(source))
      throw new FrontError(400, 'InvalidParameterValue', `SourceVersion takes a version number; ${source} was given.`)
    const lookup = new URLSearchParams({
      Action: 'DescribeLaunchTemplateVersions',
      Version: '2016-11-15',
      'LaunchTemplateVersion.1': source
    })
    for (const key of ['LaunchTemplateId', 'LaunchTemplateName']) if (params.has(key)) lookup.set(key, params.get(key)!)
    const found = await front.send(region, lookup)
    if (found.status >= 400) return found
    const version = items(parseXml(found.body), 'launchTemplateVersionSet')[0]
    if (!version)
      throw new FrontError(
        400,
        'InvalidLaunchTemplateId.VersionNotFound',
        `The specified launch template version ${source} does not exist.`
      )
    overlayTemplateVersion(front, version)
    sourceData = cloneXml(child(version, 'launchTemplateData') ?? node('launchTemplateData', []))
  }
  if (dryRun) return front.send(region, params)
  const rest = new URLSearchParams(params)
  rest.delete('ResolveAlias')
  const reply = await front.send(region, rest)
  if (reply.status >= 400) return reply
  const xml = parseXml(reply.body)
  const made = child(xml, 'launchTemplateVersion')
  if (made && sourceData) {
    for (const mapping of items(sourceData, 'blockDeviceMappingSet')) {
      const ebs = child(mapping, 'ebs')
      if (ebs) ebs.children = ebs.children.filter((c) => c.name !== 'snapshotId')
    }
    // What the call gave, as moto keeps it (moto keeps exactly the fields given), replaces the
    // inherited field of the same name.
    for (const given of child(made, 'launchTemplateData')?.children ?? []) {
      sourceData.children = sourceData.children.filter((c) => c.name !== given.name)
      sourceData.children.push(cloneXml(given))
    }
    front.state.launchTemplateVersions.set(`${textOf(made, 'launchTemplateId')}#${textOf(made, 'versionNumber')}`, sourceData)
    overlayTemplateVersion(front, made)
  }
  if (made && params.get('ResolveAlias') === 'true') await resolveAliases(front, region, [made])
  const body = serializeXml(xml)
  if (token) front.state.templateTokens.set(`${region}|${token}`, { fingerprint, body })
  return { status: reply.status, body }
}

/**
 * ModifyLaunchTemplate (EC2 API Reference): the default version is sent as SetDefaultVersion (the
 * SDK's DefaultVersion), which moto reads. The front looks the template and version up first, so a
 * DryRun is refused as the call would be, and a missing template by id gets EC2's
 * InvalidLaunchTemplateId.NotFound (moto answers InvalidLaunchTemplateName.NotFoundException) and a
 * missing version InvalidLaunchTemplateId.VersionNotFound.
 */
async function modifyLaunchTemplate(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  const version = params.get('SetDefaultVersion')
  if (version !== null) {
    refuseVersionNumber(version)
    if (!/^\d+$/.test(version))
      throw new FrontError(400, 'InvalidParameterValue', `SetDefaultVersion takes a version number; ${version} was given.`)
    const lookup = new URLSearchParams({
      Action: 'DescribeLaunchTemplateVersions',
      Version: '2016-11-15',
      'LaunchTemplateVersion.1': version
    })
    for (const key of ['LaunchTemplateId', 'LaunchTemplateName']) if (params.has(key)) lookup.set(key, params.get(key)!)
    const found = await front.send(region, lookup)
    if (found.status >= 400) return found
  }
  return front.send(region, params)
}

/**
 * DescribeImageAttribute, Attribute lastLaunchedTime (EC2 API Reference, DescribeImageAttribute;
 * Image, lastLaunchedTime): moto fails on it (HTTP 500), so the front answers from its overlay, and
 * leaves the value out when the image has no reported launch.
 */
async function describeImageAttribute(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  if (params.get('Attribute') !== 'lastLaunchedTime') return front.send(region, params)
  const imageId = params.get('ImageId') ?? ''
  const found = await front.send(region, new URLSearchParams({ Action: 'DescribeImages', Version: '2016-11-15', 'ImageId.1': imageId }))
  if (found.status >= 400) return found
  if (isDryRun(params)) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  const launched = front.state.images.get(imageId)?.lastLaunchedTime
  return {
    status: 200,
    body: okBody('DescribeImageAttribute', [
      leaf('imageId', imageId),
      ...(launched ? [node('lastLaunchedTime', [leaf('value', launched)])] : [])
    ])
  }
}

/**
 * ModifyImageAttribute: EC2 API Reference, DisableImage: "A disabled AMI can't be shared." Adding a
 * launch permission to a disabled image is refused with InvalidAMIID.Unavailable (error codes: the
 * AMI "is not in a state from which you can launch an instance or modify attributes"); the code is
 * the front's choice, EC2 documents none for this case.
 */
async function modifyImageAttribute(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  const imageId = params.get('ImageId') ?? ''
  const keys = [...params.keys()]
  const adds =
    keys.some((key) => /^LaunchPermission\.Add\.\d+\./.test(key)) ||
    (params.get('OperationType') === 'add' &&
      keys.some((key) => /^(UserId|UserGroup|OrganizationArn|OrganizationalUnitArn)\.\d+$/.test(key)))
  if (adds && front.state.images.get(imageId)?.disabled)
    throw new FrontError(400, 'InvalidAMIID.Unavailable', `Image ${imageId} is disabled; a disabled AMI can't be shared.`)
  return front.send(region, params)
}

/**
 * DisableImage (EC2 API Reference; EC2 User Guide, "Disable an AMI"): "Sets the AMI state to
 * disabled and removes all launch permissions from the AMI ... If an AMI was public or previously
 * shared, it is made private. If an AMI was shared with an AWS account, organization, or
 * Organizational Unit, they lose access". Re-enabling does not give them back ("do not regain access
 * automatically"). moto keeps them, so the front removes them.
 */
async function disableImage(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  const reply = await setAttribute(front, region, params, 'DisableImage', (image) => {
    image.disabled = true
    image.organizationShares = []
  })
  const imageId = params.get('ImageId') ?? ''
  const found = await front.moto(region, 'DescribeImageAttribute', { ImageId: imageId, Attribute: 'launchPermission' })
  const remove: Record<string, string> = {}
  items(found, 'launchPermission').forEach((permission, i) => {
    for (const [element, name] of [
      ['userId', 'UserId'],
      ['group', 'Group'],
      ['organizationArn', 'OrganizationArn'],
      ['organizationalUnitArn', 'OrganizationalUnitArn']
    ] as const) {
      const value = textOf(permission, element)
      if (value) remove[`LaunchPermission.Remove.${i + 1}.${name}`] = value
    }
  })
  if (Object.keys(remove).length > 0) await front.moto(region, 'ModifyImageAttribute', { ImageId: imageId, ...remove })
  return reply
}

/**
 * ModifySnapshotAttribute, createVolumePermission (EC2 API Reference, ModifySnapshotAttribute;
 * CreateVolumePermission; EBS User Guide, "Share an Amazon EBS snapshot"):
 * - A permission names an account (UserId) or the group all, nothing else: organizations and OUs
 *   cannot be given one (UnknownParameter, EC2's common error for a parameter an action lacks).
 * - "You may add or remove specified AWS account IDs ... but you cannot do both in a single
 *   operation" (InvalidParameterCombination; the code is the front's choice).
 * - "Snapshots encrypted with your default KMS key cannot be shared with other accounts" / "You can't
 *   share snapshots that are encrypted with the default AWS managed key". EC2 documents no code; it
 *   answers OperationNotPermitted, "Encrypted snapshots with EBS default key cannot be shared" (as
 *   reported against the real API, e.g. hashicorp/packer issues 7499 and 8271), and so does the front.
 *   The front knows a snapshot's key from Front.snapshotKeys ('alias/aws/ebs' is the default key).
 * - "Encrypted snapshots ... cannot be made public": adding group all to an encrypted snapshot is
 *   refused with UnsupportedOperation (the front's choice; EC2 answers ModifyImageAttribute's
 *   equivalent so).
 * moto ignores the CreateVolumePermission.Add/Remove form (it answers success and changes nothing),
 * so the front sends it on in the OperationType / UserId.N / UserGroup.N form moto reads. Every
 * check runs before DryRun, and the snapshot must exist (moto answers a DryRun for any id).
 */
async function modifySnapshotAttribute(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  const snapshotId = params.get('SnapshotId') ?? ''
  const organizations = [...params.keys()].filter((key) => /Organization/.test(key))
  if (organizations.length > 0) {
    throw new FrontError(
      400,
      'UnknownParameter',
      `createVolumePermission takes account ids (UserId) and the group all only; snapshots cannot be shared with organizations or OUs (${organizations.join(', ')}).`
    )
  }
  const attribute = params.get('Attribute')
  if (attribute !== null && attribute !== 'createVolumePermission')
    throw new FrontError(400, 'InvalidParameterValue', `Only createVolumePermission can be modified; ${attribute} was given.`)
  const listed = (pattern: RegExp) => [...params].filter(([key]) => pattern.test(key)).map(([, value]) => value)
  const structured = {
    add: listed(/^CreateVolumePermission\.Add\.\d+\.(UserId|Group)$/),
    remove: listed(/^CreateVolumePermission\.Remove\.\d+\.(UserId|Group)$/)
  }
  const operation = params.get('OperationType')
  if ((structured.add.length > 0 && structured.remove.length > 0) || (operation && structured.add.length + structured.remove.length > 0)) {
    throw new FrontError(400, 'InvalidParameterCombination', 'A ModifySnapshotAttribute call either adds or removes permissions, not both.')
  }
  const users = [...listed(/^UserId\.\d+$/), ...listed(/^CreateVolumePermission\.(Add|Remove)\.\d+\.UserId$/)]
  const groups = [...listed(/^UserGroup\.\d+$/), ...listed(/^CreateVolumePermission\.(Add|Remove)\.\d+\.Group$/)]
  const adding = operation === 'add' || structured.add.length > 0
  const found = await front.send(
    region,
    new URLSearchParams({ Action: 'DescribeSnapshots', Version: '2016-11-15', 'SnapshotId.1': snapshotId })
  )
  if (found.status >= 400) return found
  const key = front.state.snapshotKeys.get(snapshotId)
  if (adding && key && users.length > 0 && /(^|:)alias\/aws\/ebs$/.test(key))
    throw new FrontError(400, 'OperationNotPermitted', 'Encrypted snapshots with EBS default key cannot be shared')
  if (adding && key && groups.includes('all'))
    throw new FrontError(400, 'UnsupportedOperation', `Encrypted snapshots can't be shared publicly; ${snapshotId} is encrypted.`)
  if (operation) return front.send(region, params)
  const rest = new URLSearchParams()
  for (const [name, value] of params) if (!name.startsWith('CreateVolumePermission.')) rest.append(name, value)
  rest.set('Attribute', 'createVolumePermission')
  rest.set('OperationType', adding ? 'add' : 'remove')
  users.forEach((user, i) => rest.set(`UserId.${i + 1}`, user))
  groups.forEach((group, i) => rest.set(`UserGroup.${i + 1}`, group))
  return front.send(region, rest)
}

async function setAttribute(
  front: Front,
  region: string,
  params: URLSearchParams,
  action: string,
  apply: (image: ReturnType<Front['overlay']>) => void,
  check?: (imageId: string) => void
): Promise<Reply> {
  const imageId = params.get('ImageId') ?? ''
  await front.moto(region, 'DescribeImages', { 'ImageId.1': imageId }).catch(() => {
    throw new FrontError(400, 'InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`)
  })
  check?.(imageId)
  if (isDryRun(params)) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  apply(front.overlay(imageId, region))
  const value = action === 'EnableImageDeregistrationProtection' ? (front.state.images.get(imageId)?.protection ?? 'enabled') : 'true'
  return { status: 200, body: okBody(action, [leaf('return', value)]) }
}

/**
 * DescribeImageReferences (moto lacks it): instances in any state but terminated, and launch
 * templates' default and latest versions, that use the images.
 */
async function describeImageReferences(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  if (front.state.options.imageReferences === false) {
    throw new FrontError(403, 'UnauthorizedOperation', 'You are not authorized to perform this operation. (ec2:DescribeImageReferences)')
  }
  const wanted = new Set([...params].filter(([key]) => /^ImageId\.\d+$/.test(key)).map(([, value]) => value))
  if (wanted.size > 10)
    throw new FrontError(400, 'InvalidParameterValue', `ImageIds takes at most 10 image ids; ${wanted.size} were given.`)
  const all = params.get('IncludeAllResourceTypes') === 'true'
  const types = new Map<string, string[] | undefined>()
  for (const [key, value] of params) {
    const match = /^ResourceType\.(\d+)\.ResourceType$/.exec(key)
    if (!match) continue
    const prefix = `ResourceType.${match[1]}.ResourceTypeOption.`
    for (const [k, optionName] of params) {
      const option = new RegExp(`^${prefix.replace(/\./g, '\\.')}(\\d+)\\.OptionName$`).exec(k)
      if (!option) continue
      const values = [...params].filter(([v]) => v.startsWith(`${prefix}${option[1]}.OptionValue.`)).map(([, v]) => v)
      types.set(optionName === 'state-name' ? value : `${value}:${optionName}`, values)
    }
    if (!types.has(value)) types.set(value, undefined)
  }
  if (!all && types.size === 0)
    throw new FrontError(400, 'MissingParameter', 'Either IncludeAllResourceTypes or ResourceTypes must be specified.')
  // Without state-name options EC2 counts instances in every state, terminated included.
  const instanceStates = all ? undefined : types.get('ec2:Instance')
  const references: XmlElement[] = []
  const add = (imageId: string, resourceType: string, arn: string): void => {
    if (wanted.has(imageId)) references.push(node('item', [leaf('imageId', imageId), leaf('resourceType', resourceType), leaf('arn', arn)]))
  }
  const instances =
    all || types.has('ec2:Instance') ? await front.moto(region, 'DescribeInstances', { MaxResults: '1000000' }) : leaf('x', '')
  for (const reservation of items(instances, 'reservationSet')) {
    for (const instance of items(reservation, 'instancesSet')) {
      const state = textOf(child(instance, 'instanceState') ?? leaf('x', ''), 'name') ?? ''
      if (instanceStates && !instanceStates.includes(state)) continue
      add(
        textOf(instance, 'imageId') ?? '',
        'ec2:Instance',
        `arn:aws:ec2:${region}:123456789012:instance/${textOf(instance, 'instanceId')}`
      )
    }
  }
  // ResourceTypeOption: "version-depth ... Valid values: Integers between 1 and 10000. Default: 10",
  // counted from the most recent version (EC2 User Guide, "Identify your resources referencing
  // specified AMIs").
  const depthText = types.get('ec2:LaunchTemplate:version-depth')?.[0]
  const depth = depthText === undefined ? 10 : Number(depthText)
  if (!Number.isInteger(depth) || depth < 1 || depth > 10_000)
    throw new FrontError(400, 'InvalidParameterValue', `version-depth must be an integer from 1 to 10000; got ${depthText}.`)
  const templates =
    all || types.has('ec2:LaunchTemplate') ? await front.moto(region, 'DescribeLaunchTemplates', { MaxResults: '1000000' }) : leaf('x', '')
  for (const template of items(templates, 'launchTemplates')) {
    const id = textOf(template, 'launchTemplateId') ?? ''
    const listed = await front.moto(region, 'DescribeLaunchTemplateVersions', { LaunchTemplateId: id })
    overlayTemplateVersions(front, listed)
    const versions = items(listed, 'launchTemplateVersionSet')
    const newest = versions.sort((a, b) => Number(textOf(b, 'versionNumber')) - Number(textOf(a, 'versionNumber'))).slice(0, depth)
    for (const version of newest) {
      add(
        textOf(child(version, 'launchTemplateData') ?? leaf('x', ''), 'imageId') ?? '',
        'ec2:LaunchTemplate',
        `arn:aws:ec2:${region}:123456789012:launch-template/${id}`
      )
    }
  }
  // ssm:Parameter: which parameters count is not documented (EC2 User Guide, "Identify your
  // resources referencing specified AMIs"), nor whether a launch template's resolve:ssm: image is
  // resolved. The front takes the narrowest reading — only parameters of data type aws:ec2:image
  // whose value is the image, and launch templates by their literal image — so code that leans on
  // references is never given more than EC2 promises.
  if (all || types.has('ssm:Parameter')) {
    // Every page: moto serves DescribeParameters 10 at a time whatever MaxResults says.
    const names: string[] = []
    let nextToken: string | undefined
    do {
      const listed = await front.ssm(region, 'DescribeParameters', { MaxResults: 50, ...(nextToken && { NextToken: nextToken }) })
      names.push(...((listed.Parameters as { Name: string }[] | undefined) ?? []).map((parameter) => parameter.Name))
      nextToken = typeof listed.NextToken === 'string' && listed.NextToken ? listed.NextToken : undefined
    } while (nextToken !== undefined)
    for (let at = 0; at < names.length; at += 10) {
      const found = await front.ssm(region, 'GetParameters', { Names: names.slice(at, at + 10) })
      for (const parameter of (found.Parameters as { Name: string; Value: string; DataType?: string }[] | undefined) ?? []) {
        if (parameter.DataType !== 'aws:ec2:image') continue
        add(
          parameter.Value,
          'ssm:Parameter',
          `arn:aws:ssm:${region}:123456789012:parameter${parameter.Name.startsWith('/') ? '' : '/'}${parameter.Name}`
        )
      }
    }
  }
  return { status: 200, body: okBody('DescribeImageReferences', [node('imageReferenceSet', references)]) }
}

async function refuseTakenName(front: Front, region: string, name: string): Promise<void> {
  const found = await front.moto(region, 'DescribeImages', { 'Owner.1': 'self', 'Filter.1.Name': 'name', 'Filter.1.Value.1': name })
  const taken = items(found, 'imagesSet').find((image) => textOf(image, 'name') === name)
  if (taken) throw new FrontError(400, 'InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${textOf(taken, 'imageId')}`)
}

export async function snapshotsOf(front: Front, region: string, imageId: string): Promise<string[]> {
  const found = await front.moto(region, 'DescribeImages', { 'ImageId.1': imageId })
  return items(found, 'imagesSet').flatMap(snapshotIdsIn)
}

function snapshotIdsIn(image: XmlElement): string[] {
  return items(image, 'blockDeviceMapping').flatMap((mapping) => {
    const id = textOf(child(mapping, 'ebs') ?? leaf('x', ''), 'snapshotId')
    return id ? [id] : []
  })
}

async function tagResources(front: Front, region: string, resources: string[], tags: { Key: string; Value: string }[]): Promise<void> {
  if (resources.length === 0 || tags.length === 0) return
  const params: Record<string, string> = {}
  resources.forEach((id, i) => (params[`ResourceId.${i + 1}`] = id))
  tags.forEach((tag, i) => {
    params[`Tag.${i + 1}.Key`] = tag.Key
    params[`Tag.${i + 1}.Value`] = tag.Value
  })
  await front.moto(region, 'CreateTags', params)
}

/** Splits TagSpecification.N.* off the parameters, by resource type. */
function takeTagSpecifications(params: URLSearchParams): { rest: URLSearchParams; tags: Map<string, { Key: string; Value: string }[]> } {
  const rest = new URLSearchParams()
  const specs = new Map<string, { type: string; tags: Map<string, { Key: string; Value: string }> }>()
  for (const [key, value] of params) {
    const match = /^TagSpecification\.(\d+)\.(ResourceType|Tag\.(\d+)\.(Key|Value))$/.exec(key)
    if (!match) {
      rest.append(key, value)
      continue
    }
    const spec = specs.get(match[1]!) ?? { type: '', tags: new Map() }
    specs.set(match[1]!, spec)
    if (match[2] === 'ResourceType') spec.type = value
    else {
      const tag = spec.tags.get(match[3]!) ?? { Key: '', Value: '' }
      tag[match[4] as 'Key' | 'Value'] = value
      spec.tags.set(match[3]!, tag)
    }
  }
  return { rest, tags: new Map([...specs.values()].map((spec) => [spec.type, [...spec.tags.values()]])) }
}

/** Removes the named filters, renumbering the others, and returns their values. */
function takeFilters(params: URLSearchParams, names: string[]): { rest: URLSearchParams; taken: Map<string, string[]> } {
  const filters = new Map<string, { name: string; values: string[] }>()
  const rest = new URLSearchParams()
  for (const [key, value] of params) {
    const match = /^Filter\.(\d+)\.(Name|Value\.\d+)$/.exec(key)
    if (!match) {
      rest.append(key, value)
      continue
    }
    const filter = filters.get(match[1]!) ?? { name: '', values: [] }
    filters.set(match[1]!, filter)
    if (match[2] === 'Name') filter.name = value
    else filter.values.push(value)
  }
  const taken = new Map<string, string[]>()
  let n = 0
  for (const filter of filters.values()) {
    if (names.includes(filter.name)) {
      taken.set(filter.name, filter.values)
      continue
    }
    n++
    rest.append(`Filter.${n}.Name`, filter.name)
    filter.values.forEach((value, i) => rest.append(`Filter.${n}.Value.${i + 1}`, value))
  }
  return { rest, taken }
}

/**
 * EnableImageDeprecation, DeprecateAt (EC2 API Reference): "If you specify a value for seconds,
 * Amazon EC2 rounds the seconds to the nearest minute. You can't specify a date in the past. The
 * upper limit for DeprecateAt is 10 years from now". (The two-year limit for public images does not
 * arise: the action never makes an image public.)
 */
function deprecateAt(text: string): Date {
  const given = Date.parse(text)
  if (Number.isNaN(given)) throw new FrontError(400, 'InvalidParameterValue', `DeprecateAt '${text}' is not a date and time.`)
  const at = new Date(Math.round(given / 60_000) * 60_000)
  const limit = new Date()
  limit.setUTCFullYear(limit.getUTCFullYear() + 10)
  // Both the time given and the minute it rounds to: a time just past that rounds up is still past.
  if (Math.min(given, at.getTime()) < Date.now())
    throw new FrontError(400, 'InvalidParameterValue', `DeprecateAt ${new Date(given).toISOString()} is in the past.`)
  if (at > limit) throw new FrontError(400, 'InvalidParameterValue', `DeprecateAt ${at.toISOString()} is more than 10 years from now.`)
  return at
}
