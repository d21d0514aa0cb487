// One account's images as another account sees them. moto keeps one backend per account, so in moto
// no account sees another's image at all; on EC2 an account sees, by id, an image another account
// has shared with it — without the owner's tags — may tag it for itself, may copy it if it may also
// read its snapshots, and may not change it or read its attributes. The double finds such an image
// as its owner sees it (Caller.as), in any account it holds credentials for.
import { accountsBesides, type Caller } from '../caller.ts'
import { ec2ErrorCode, FrontError, okBody, type Reply } from '../protocol.ts'
import { child, items, leaf, node, parseXml, serializeXml, textOf, type XmlElement } from '../xml.ts'
import { mayLaunch } from './other-accounts.ts'
import { isDryRun, listed } from './requests.ts'

/** An image owned by another account, and that account, acting in the image's region. */
export interface ForeignImage {
  owner: Caller
  /** As its owner's moto describes it. */
  image: XmlElement
}

/** Whether the caller's account could see another account's image: only if the double acts in another account. */
export function othersKnown(caller: Caller): boolean {
  return accountsBesides(caller.state, caller.account).length > 0
}

/**
 * The image, in `region`, of an account other than the caller's: the one the double saw make it
 * (ImageOverlay.account), else whichever account it holds credentials for has it.
 */
export async function foreignImage(caller: Caller, imageId: string, region = caller.region): Promise<ForeignImage | undefined> {
  const known = caller.state.images.get(imageId)?.account
  if (known === caller.account) return undefined
  const candidates = known !== undefined ? [known] : accountsBesides(caller.state, caller.account)
  for (const account of candidates) {
    let owner: Caller
    try {
      owner = caller.as(account, region)
    } catch {
      continue
    }
    const found = await owner.moto('DescribeImages', { 'ImageId.1': imageId }).catch(() => undefined)
    const image = found && items(found, 'imagesSet')[0]
    if (image && textOf(image, 'imageOwnerId') === account) return { owner, image }
  }
  return undefined
}

/**
 * Whether the image's owner lets `account` launch it (EC2 User Guide, "Share an AMI with specific
 * AWS accounts", "... organizations or OUs", "Make an AMI public"): the account, its organization or
 * OU (as Front.otherAccount records them), or everyone. A disabled image has none (DisableImage).
 */
export async function sharedWith(owner: Caller, imageId: string, account: string): Promise<boolean> {
  const membership = owner.state.otherAccounts.get(account) ?? { account, organizationalUnitArns: [] }
  return mayLaunch(owner, membership, imageId)
}

/** Another account's image that the caller's account may launch, as its owner sees it; undefined if none. */
export async function sharedImage(caller: Caller, imageId: string, region = caller.region): Promise<ForeignImage | undefined> {
  if (!othersKnown(caller)) return undefined
  const found = await foreignImage(caller, imageId, region)
  return found && (await sharedWith(found.owner, imageId, caller.account)) ? found : undefined
}

/**
 * The image as the viewing account sees it: without its owner's tags (EC2 User Guide, "Share an AMI
 * with specific AWS accounts", Tags: "When you share an AMI, your user-defined tags are not available
 * to any AWS account that the AMI is shared with"), with the viewer's own tags on it, if any.
 */
export function asSeenBy(viewer: Caller, image: XmlElement): XmlElement {
  const own = viewer.state.sharedImageTags.get(`${viewer.account}|${textOf(image, 'imageId') ?? ''}`)
  const tags = [...(own ?? [])].map(([key, value]) => node('item', [leaf('key', key), leaf('value', value)]))
  return { ...image, children: [...image.children.filter((c) => c.name !== 'tagSet'), node('tagSet', tags)] }
}

/**
 * DescribeImages (EC2 API Reference, DescribeImages: "The images available to you include public
 * images, private images that you own, and private images owned by other Amazon Web Services
 * accounts for which you have explicit launch permissions"; EC2 User Guide, "Find shared AMIs").
 * moto answers from the caller's account only, so the double adds other accounts' images shared
 * with the caller, as their owners' moto describes them, tags apart (asSeenBy):
 * - by id: an id moto does not know may be such an image. An id neither knows is left to moto, which
 *   answers as EC2 answers an unknown id (InvalidAMIID.NotFound when no id is known, as it does today).
 *   moto applies no owner or filter to images asked by id, and neither does the double.
 * - otherwise: the images of each other account the double acts in — of the accounts Owner.N names,
 *   if any — that are public or name the caller in their launch permissions (ExecutableBy.N, if
 *   given, keeps those shared with the caller, `self`, or public ones, `all`), through the request's
 *   filters; a tag filter is matched against the caller's own tags on them, the only ones it sees.
 *   Sharing with an organization or OU is seen by id only.
 */
export async function withSharedImages(caller: Caller, params: URLSearchParams): Promise<Reply> {
  if (!othersKnown(caller)) return caller.send(params)
  const ids = [...new Set(listed(params, /^ImageId\.\d+$/))]
  if (ids.length > 0) return sharedById(caller, params, ids)
  const reply = await caller.send(params)
  if (reply.status >= 400) return reply
  const shared = await sharedListed(caller, params)
  if (shared.length === 0) return reply
  const xml = parseXml(reply.body)
  const set = imagesSetOf(xml)
  const present = new Set(items(xml, 'imagesSet').map((image) => textOf(image, 'imageId')))
  set.children.push(...shared.filter((image) => !present.has(textOf(image, 'imageId'))))
  return { status: 200, body: serializeXml(xml) }
}

function imagesSetOf(xml: XmlElement): XmlElement {
  let set = child(xml, 'imagesSet')
  if (!set) {
    set = node('imagesSet', [])
    xml.children.push(set)
  }
  return set
}

async function sharedById(caller: Caller, params: URLSearchParams, ids: string[]): Promise<Reply> {
  const reply = await caller.send(params)
  if (reply.status >= 400 && ec2ErrorCode(reply.body) !== 'InvalidAMIID.NotFound') return reply
  const answered = new Set(reply.status < 400 ? items(parseXml(reply.body), 'imagesSet').map((image) => textOf(image, 'imageId')) : [])
  const shared: XmlElement[] = []
  for (const id of ids) {
    if (answered.has(id)) continue
    const found = await sharedImage(caller, id)
    if (found) shared.push(asSeenBy(caller, found.image))
  }
  if (shared.length === 0) return reply
  let base = reply
  if (reply.status >= 400) {
    // moto refused the whole request for the ids it does not know: asked again without the shared ones.
    const sharedIds = new Set(shared.map((image) => textOf(image, 'imageId')))
    const rest = withoutIds(params, /^ImageId\.\d+$/, 'ImageId', sharedIds)
    base = listed(rest, /^ImageId\.\d+$/).length > 0 ? await caller.send(rest) : { status: 200, body: okBody('DescribeImages', []) }
    if (base.status >= 400) return base
  }
  const xml = parseXml(base.body)
  imagesSetOf(xml).children.push(...shared)
  return { status: 200, body: serializeXml(xml) }
}

/** Other accounts' images a DescribeImages without ids lists for the caller (withSharedImages). */
async function sharedListed(caller: Caller, params: URLSearchParams): Promise<XmlElement[]> {
  const self = (value: string): string => (value === 'self' ? caller.account : value)
  const owners = listed(params, /^Owner\.\d+$/).map(self)
  const executable = listed(params, /^ExecutableBy\.\d+$/).map(self)
  if (executable.length > 0 && !executable.includes(caller.account) && !executable.includes('all')) return []
  const accounts = accountsBesides(caller.state, caller.account).filter((account) => owners.length === 0 || owners.includes(account))
  const { forwarded, tagFilters } = splitFilters(params)
  const shared: XmlElement[] = []
  for (const account of accounts) {
    const owner = caller.as(account)
    const found = await owner.moto('DescribeImages', { 'ExecutableBy.1': caller.account, ...forwarded }).catch(() => undefined)
    for (const image of found ? items(found, 'imagesSet') : []) {
      // moto's stock images are in every account, as amazon's: only the account's own images are added.
      if (textOf(image, 'imageOwnerId') !== account) continue
      const isPublic = textOf(image, 'isPublic') === 'true'
      if (executable.length > 0 && !(isPublic ? executable.includes('all') : executable.includes(caller.account))) continue
      const seen = asSeenBy(caller, image)
      if (tagFilters.every((filter) => filter(seen))) shared.push(seen)
    }
  }
  return shared
}

/**
 * The request's filters, renumbered, but for tag filters (`tag:<key>`, `tag-key`), which become
 * tests of an image's tags as the caller sees them. EC2 API Reference, DescribeImages, Filter: tag
 * filters match the key (and value), and "*" and "?" are wildcards.
 */
function splitFilters(params: URLSearchParams): { forwarded: Record<string, string>; tagFilters: ((image: XmlElement) => boolean)[] } {
  const filters = new Map<string, { name: string; values: string[] }>()
  for (const [key, value] of params) {
    const match = /^Filter\.(\d+)\.(Name|Value\.\d+)$/.exec(key)
    if (!match) continue
    const filter = filters.get(match[1]!) ?? { name: '', values: [] }
    filters.set(match[1]!, filter)
    if (match[2] === 'Name') filter.name = value
    else filter.values.push(value)
  }
  const wildcard = (pattern: string): RegExp =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`
    )
  const forwarded: Record<string, string> = {}
  const tagFilters: ((image: XmlElement) => boolean)[] = []
  let n = 0
  for (const { name, values } of filters.values()) {
    const tagsOf = (image: XmlElement): [string, string][] =>
      items(image, 'tagSet').map((tag) => [textOf(tag, 'key') ?? '', textOf(tag, 'value') ?? ''])
    if (name === 'tag-key') {
      tagFilters.push((image) => tagsOf(image).some(([key]) => values.some((value) => wildcard(value).test(key))))
    } else if (name.startsWith('tag:')) {
      const wanted = name.slice(4)
      tagFilters.push((image) => tagsOf(image).some(([key, value]) => key === wanted && values.some((v) => wildcard(v).test(value))))
    } else {
      n++
      forwarded[`Filter.${n}.Name`] = name
      values.forEach((value, i) => (forwarded[`Filter.${n}.Value.${i + 1}`] = value))
    }
  }
  return { forwarded, tagFilters }
}

/** The parameters without the numbered ones (`${prefix}.N`) whose value is in `drop`, renumbered. */
function withoutIds(params: URLSearchParams, pattern: RegExp, prefix: string, drop: Set<string | undefined>): URLSearchParams {
  const rest = new URLSearchParams()
  let n = 0
  for (const [key, value] of params) {
    if (!pattern.test(key)) rest.append(key, value)
    else if (!drop.has(value)) rest.append(`${prefix}.${++n}`, value)
  }
  return rest
}

/**
 * What EC2 answers an account that is not an image's owner for a call only the owner may make —
 * reading its attributes, changing, sharing, disabling or deregistering it (EC2 User Guide, "Share
 * an AMI with specific AWS accounts": "To share an AMI, your AWS account must own the AMI", "users
 * can only launch instances from the AMI. They can't delete, share, or modify it"): AuthFailure, the
 * error codes page's answer to "trying to use an AMI for which you do not have permissions", worded
 * "Not authorized for image:<id>" as EC2 words it. An image it cannot see at all stays unknown.
 */
export async function refuseNotOwned(caller: Caller, imageId: string): Promise<void> {
  if (await sharedImage(caller, imageId)) throw new FrontError(400, 'AuthFailure', `Not authorized for image:${imageId}`)
}

/** moto's answer, unless it did not know the image and the image is another account's shared with the caller. */
export async function ownersOnly(caller: Caller, imageId: string, reply: Reply): Promise<Reply> {
  if (reply.status >= 400 && ec2ErrorCode(reply.body) === 'InvalidAMIID.NotFound') await refuseNotOwned(caller, imageId)
  return reply
}

/**
 * CreateTags and DeleteTags on another account's image shared with the caller (EC2 User Guide, "Tag
 * your Amazon EC2 resources": "When you tag public or shared resources, the tags you assign are
 * available only to your AWS account; no other AWS account will have access to those tags"): the
 * double keeps those tags itself (DoubleState.sharedImageTags), since moto refuses an id the caller's
 * account does not hold, and shows them to that account alone. The other resources go to moto; an
 * id of an image nobody shared with the caller is left to moto too, which refuses it as unknown.
 */
export async function tagSharedImages(caller: Caller, params: URLSearchParams, deleting: boolean): Promise<Reply> {
  const action = deleting ? 'DeleteTags' : 'CreateTags'
  const ids = listed(params, /^ResourceId\.\d+$/).filter((id) => id.startsWith('ami-'))
  if (ids.length === 0 || !othersKnown(caller)) return caller.send(params)
  const known = await caller.moto('DescribeImages', {
    'Filter.1.Name': 'image-id',
    ...Object.fromEntries(ids.map((id, i) => [`Filter.1.Value.${i + 1}`, id]))
  })
  const own = new Set(items(known, 'imagesSet').map((image) => textOf(image, 'imageId')))
  const shared = new Set<string>()
  for (const id of ids) if (!own.has(id) && (await sharedImage(caller, id))) shared.add(id)
  if (shared.size === 0) return caller.send(params)
  const tags = tagsIn(params)
  const changed = [...shared].map((id) => {
    const key = `${caller.account}|${id}`
    const held = new Map(caller.state.sharedImageTags.get(key))
    for (const [name, value] of tags) {
      // DeleteTags (EC2 API Reference): a tag given with a value is deleted only if it has that value.
      if (!deleting) held.set(name, value ?? '')
      else if (value === undefined || held.get(name) === value) held.delete(name)
    }
    // CreateTags: "Each resource can have a maximum of 50 tags".
    if (held.size > 50) throw new FrontError(400, 'TagLimitExceeded', `The maximum number of tags for ${id} (50) would be exceeded.`)
    return [key, held] as const
  })
  const rest = withoutIds(params, /^ResourceId\.\d+$/, 'ResourceId', shared)
  // The other resources first: EC2 tags all or none.
  if (listed(rest, /^ResourceId\.\d+$/).length > 0) {
    const reply = await caller.send(rest)
    if (reply.status >= 400 || isDryRun(params)) return reply
  } else if (isDryRun(params)) {
    throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  }
  for (const [key, held] of changed) caller.state.sharedImageTags.set(key, held)
  return { status: 200, body: okBody(action, [leaf('return', 'true')]) }
}

/** Tag.N.Key / Tag.N.Value, in order (a value left out is undefined). */
function tagsIn(params: URLSearchParams): [string, string | undefined][] {
  const tags = new Map<string, { key?: string; value?: string }>()
  for (const [name, value] of params) {
    const match = /^Tag\.(\d+)\.(Key|Value)$/.exec(name)
    if (!match) continue
    const tag = tags.get(match[1]!) ?? {}
    if (match[2] === 'Key') tag.key = value
    else tag.value = value
    tags.set(match[1]!, tag)
  }
  return [...tags.values()].flatMap((tag) => (tag.key === undefined ? [] : [[tag.key, tag.value] as [string, string | undefined]]))
}
