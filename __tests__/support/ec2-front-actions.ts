// What the front does per EC2 action, where real EC2 and moto differ. Each handler cites the EC2
// behaviour it adds; actions without a handler go to moto unchanged.
import { FrontError, okBody, type Front, type Reply } from './ec2-front.ts'
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
  DescribeLaunchTemplateVersions: (front, region, params) => paginated(front, region, params, 'launchTemplateVersionSet', undefined, true),
  DeregisterImage: deregisterImage,
  EnableImageDeprecation: (front, region, params) =>
    setAttribute(front, region, params, 'EnableImageDeprecation', (image) => {
      image.deprecationTime = new Date(params.get('DeprecateAt') ?? '').toISOString().replace(/\.\d+Z$/, '.000Z')
    }),
  DisableImageDeprecation: (front, region, params) =>
    setAttribute(front, region, params, 'DisableImageDeprecation', (image) => void delete image.deprecationTime),
  EnableImageDeregistrationProtection: (front, region, params) =>
    setAttribute(front, region, params, 'EnableImageDeregistrationProtection', (image) => {
      image.protection = params.get('WithCooldown') === 'true' ? 'enabled-with-cooldown' : 'enabled'
    }),
  DisableImageDeregistrationProtection: (front, region, params) =>
    setAttribute(front, region, params, 'DisableImageDeregistrationProtection', (image) => {
      image.protection = 'disabled'
    }),
  DescribeImageReferences: describeImageReferences
}

const isDryRun = (params: URLSearchParams): boolean => params.get('DryRun') === 'true'

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
  Object.assign(overlay, { name, createdAt: Date.now(), pendingMs: front.pendingFor({ imageId, region, name, action: 'CreateImage' }) })
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
  const fingerprint = ['SourceImageId', 'SourceRegion', 'Name', 'Encrypted', 'KmsKeyId'].map((key) => params.get(key) ?? '').join('|')
  const earlier = token ? front.copyTokens.get(`${region}|${token}`) : undefined
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
  Object.assign(overlay, {
    name,
    createdAt: Date.now(),
    pendingMs: front.pendingFor({ imageId, region, name, action: 'CopyImage' }),
    encrypted
  })
  const kmsKeyId = params.get('KmsKeyId') ?? 'alias/aws/ebs'
  if (encrypted) overlay.kmsKeyId = kmsKeyId
  const snapshots = await snapshotsOf(front, region, imageId)
  if (encrypted) for (const snapshot of snapshots) front.snapshotKeys.set(snapshot, kmsKeyId)
  await tagResources(front, region, [imageId], tags.get('image') ?? [])
  await tagResources(front, region, snapshots, tags.get('snapshot') ?? [])
  if (token) front.copyTokens.set(`${region}|${token}`, { imageId, fingerprint })
  return reply
}

/** DescribeImages: pending and failed states, creation dates, encryption, deprecation, protection. */
async function describeImages(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  // moto filters on its own state (always available), so the state filter applies to ours instead;
  // moto lacks the block-device-mapping.snapshot-id filter.
  const { rest, taken } = takeFilters(params, ['state', 'block-device-mapping.snapshot-id'])
  const states = taken.get('state')
  const snapshots = taken.get('block-device-mapping.snapshot-id')
  return paginated(front, region, rest, 'imagesSet', (element) => {
    const set = child(element, 'imagesSet')
    if (!set) return
    for (const image of items(element, 'imagesSet')) overlayImage(front, image)
    if (states) set.children = set.children.filter((image) => states.includes(textOf(image, 'imageState') ?? ''))
    if (snapshots) set.children = set.children.filter((image) => snapshotIdsIn(image).some((id) => snapshots.includes(id)))
  })
}

function overlayImage(front: Front, image: XmlElement): void {
  const imageId = textOf(image, 'imageId') ?? ''
  const overlay = front.images.get(imageId)
  if (!overlay) return
  const state = front.stateOf(imageId)
  if (state) {
    setText(image, 'imageState', state.state)
    if (state.reason) image.children.push(node('stateReason', [leaf('code', state.reason.code), leaf('message', state.reason.message)]))
  }
  if (overlay.creationDate) setText(image, 'creationDate', overlay.creationDate)
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
    const key = front.snapshotKeys.get(textOf(snapshot, 'snapshotId') ?? '')
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
  edit?: (xml: XmlElement) => void,
  askForAll = false
): Promise<Reply> {
  const asked = Number(params.get('MaxResults') ?? 0)
  const maxResults = asked > 0 && front.options.pageSize ? Math.min(asked, front.options.pageSize) : asked
  const offset = Number(params.get('NextToken') ?? 0)
  const rest = new URLSearchParams(params)
  rest.delete('MaxResults')
  rest.delete('NextToken')
  if (askForAll) rest.set('MaxResults', '1000000')
  const reply = await front.send(region, rest)
  if (reply.status >= 400) return reply
  const xml = parseXml(reply.body)
  edit?.(xml)
  const set = child(xml, setName)
  if (maxResults > 0 && set) {
    const all = set.children.filter((c) => c.name === 'item')
    set.children = all.slice(offset, offset + maxResults)
    xml.children = xml.children.filter((c) => c.name !== 'nextToken')
    if (offset + maxResults < all.length) xml.children.push(leaf('nextToken', String(offset + maxResults)))
  }
  return { status: 200, body: serializeXml(xml) }
}

/** DeregisterImage: protection refuses it; DeleteAssociatedSnapshots deletes the snapshots too. */
async function deregisterImage(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  if (isDryRun(params)) return front.send(region, params)
  const imageId = params.get('ImageId') ?? ''
  const protection = front.images.get(imageId)?.protection
  if (protection && protection.startsWith('enabled')) {
    throw new FrontError(
      400,
      'InvalidParameterValue',
      `Image ${imageId} has deregistration protection enabled; disable it before deregistering.`
    )
  }
  const deleteSnapshots = params.get('DeleteAssociatedSnapshots') === 'true'
  const snapshots = deleteSnapshots ? await snapshotsOf(front, region, imageId).catch(() => []) : []
  const rest = new URLSearchParams(params)
  rest.delete('DeleteAssociatedSnapshots')
  const reply = await front.send(region, rest)
  if (reply.status >= 400) return reply
  if (!deleteSnapshots) return reply
  // EC2 reports each snapshot: deleted, or skipped because another image still uses it.
  const results: XmlElement[] = []
  for (const snapshot of snapshots) {
    const code = await front.moto(region, 'DeleteSnapshot', { SnapshotId: snapshot }).then(
      () => 'success',
      () => 'skipped'
    )
    results.push(node('item', [leaf('snapshotId', snapshot), leaf('returnCode', code)]))
  }
  const xml = parseXml(reply.body)
  xml.children.push(node('deleteSnapshotResultSet', results))
  return { status: reply.status, body: serializeXml(xml) }
}

async function setAttribute(
  front: Front,
  region: string,
  params: URLSearchParams,
  action: string,
  apply: (image: ReturnType<Front['overlay']>) => void
): Promise<Reply> {
  const imageId = params.get('ImageId') ?? ''
  await front.moto(region, 'DescribeImages', { 'ImageId.1': imageId }).catch(() => {
    throw new FrontError(400, 'InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`)
  })
  if (isDryRun(params)) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  apply(front.overlay(imageId, region))
  const value = action === 'EnableImageDeregistrationProtection' ? (front.images.get(imageId)?.protection ?? 'enabled') : 'true'
  return { status: 200, body: okBody(action, [leaf('return', value)]) }
}

/**
 * DescribeImageReferences (moto lacks it): instances in any state but terminated, and launch
 * templates' default and latest versions, that use the images.
 */
async function describeImageReferences(front: Front, region: string, params: URLSearchParams): Promise<Reply> {
  if (front.options.imageReferences === false) {
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
    const states = [...params]
      .filter(([k]) => k.startsWith(`ResourceType.${match[1]}.ResourceTypeOption.`) && /\.OptionValue\.\d+$/.test(k))
      .map(([, v]) => v)
    types.set(value, states.length > 0 ? states : undefined)
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
  const templates =
    all || types.has('ec2:LaunchTemplate') ? await front.moto(region, 'DescribeLaunchTemplates', { MaxResults: '1000000' }) : leaf('x', '')
  for (const template of items(templates, 'launchTemplates')) {
    const id = textOf(template, 'launchTemplateId') ?? ''
    const versions = await front.moto(region, 'DescribeLaunchTemplateVersions', {
      LaunchTemplateId: id,
      'LaunchTemplateVersion.1': '$Default',
      'LaunchTemplateVersion.2': '$Latest'
    })
    for (const version of items(versions, 'launchTemplateVersionSet')) {
      add(
        textOf(child(version, 'launchTemplateData') ?? leaf('x', ''), 'imageId') ?? '',
        'ec2:LaunchTemplate',
        `arn:aws:ec2:${region}:123456789012:launch-template/${id}`
      )
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
