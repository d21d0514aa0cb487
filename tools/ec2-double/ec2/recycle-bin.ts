// What Recycle Bin retention does to EC2 (EBS User Guide and EC2 User Guide, "Recycle Bin"; EC2
// API Reference, DeregisterImage, ListImagesInRecycleBin, ListSnapshotsInRecycleBin), which moto
// lacks: a deregistered AMI or a deleted snapshot that an available rule of its account and region
// retains goes to the Recycle Bin until the longest retention period of the rules that apply has
// passed, and is listed there until then. The rules are rbin/rules.ts's; the bin is
// DoubleState.recycleBin, on the front's clock. Restoring is not modelled.
import type { Caller } from '../caller.ts'
import { FrontError, okBody, type Reply } from '../protocol.ts'
import { anyRuleFor, exitTime, retainingRule } from '../rbin/rules.ts'
import type { BinnedImage, BinnedSnapshot } from '../state.ts'
import { items, leaf, node, textOf, type XmlElement } from '../xml.ts'
import { isDryRun, listed } from './requests.ts'

/** A resource's tags from moto's answer (tagSet). */
function tagsIn(resource: XmlElement): Map<string, string> {
  return new Map(items(resource, 'tagSet').map((tag) => [textOf(tag, 'key') ?? '', textOf(tag, 'value') ?? '']))
}

/**
 * DeregisterImage (EC2 API Reference): "If a deregistered EBS-backed AMI matches a Recycle Bin
 * retention rule, it moves to the Recycle Bin for the specified retention period ... If the
 * deregistered AMI doesn't match a retention rule, it is permanently deleted immediately." Only
 * EBS-backed AMIs ("Considerations for Recycle Bin": "Only Amazon EBS-backed AMIs are supported");
 * disabled ones too ("Retention rules also apply to disabled AMIs"). Its tags are read before it
 * goes, and only when the account has an AMI rule in the region, so a prune without rules asks
 * nothing more. Its snapshots are not held by it while it is in the bin: deleting them is allowed,
 * and makes the AMI unrecoverable ("If the snapshots that are associated with the AMI are deleted
 * from the Recycle Bin, the AMI is no longer recoverable") — it stays listed until its exit time.
 */
export async function deregisteredIntoBin(
  caller: Caller,
  imageId: string,
  snapshotIds: string[],
  deregister: () => Promise<Reply>
): Promise<Reply> {
  const { state, account, region } = caller
  const found = anyRuleFor(state, account, region, 'EC2_IMAGE')
    ? await caller.moto('DescribeImages', { 'ImageId.1': imageId }).catch(() => undefined)
    : undefined
  const image = found && items(found, 'imagesSet').find((i) => textOf(i, 'imageId') === imageId)
  const reply = await deregister()
  if (reply.status >= 400 || !image || textOf(image, 'rootDeviceType') === 'instance-store') return reply
  const now = caller.now()
  const rule = retainingRule(state, account, region, 'EC2_IMAGE', tagsIn(image), now)
  if (!rule) return reply
  const name = textOf(image, 'name')
  const description = textOf(image, 'description')
  const binned: BinnedImage = {
    imageId,
    account,
    region,
    ...(name && { name }),
    ...(description && { description }),
    enteredAt: now,
    exitAt: exitTime(rule, now),
    ruleId: rule.identifier,
    snapshotIds
  }
  state.recycleBin.images.set(imageId, binned)
  return reply
}

/**
 * DeleteSnapshot, and DeregisterImage's DeleteAssociatedSnapshots, of a snapshot that an available
 * EBS_SNAPSHOT rule retains (EBS User Guide, "Recycle Bin": retention rules retain deleted snapshots,
 * archived ones too: "If you delete an archived snapshot that matches a retention rule, that
 * snapshot is retained in the Recycle Bin"). Read before it goes, and only when the account has a
 * snapshot rule in the region.
 */
export async function deletedIntoBin(caller: Caller, snapshotId: string, remove: () => Promise<Reply>): Promise<Reply> {
  const { state, account, region } = caller
  const found = anyRuleFor(state, account, region, 'EBS_SNAPSHOT')
    ? await caller.moto('DescribeSnapshots', { 'SnapshotId.1': snapshotId }).catch(() => undefined)
    : undefined
  const snapshot = found && items(found, 'snapshotSet').find((s) => textOf(s, 'snapshotId') === snapshotId)
  const reply = await remove()
  if (reply.status >= 400 || !snapshot) return reply
  const now = caller.now()
  const rule = retainingRule(state, account, region, 'EBS_SNAPSHOT', tagsIn(snapshot), now)
  if (!rule) return reply
  const description = textOf(snapshot, 'description')
  const volumeId = textOf(snapshot, 'volumeId')
  const binned: BinnedSnapshot = {
    snapshotId,
    account,
    region,
    ...(description && { description }),
    ...(volumeId && { volumeId }),
    enteredAt: now,
    exitAt: exitTime(rule, now),
    ruleId: rule.identifier
  }
  state.recycleBin.snapshots.set(snapshotId, binned)
  return reply
}

/**
 * A page of what is in the bin: MaxResults within the action's range (InvalidParameterValue
 * otherwise), a NextToken only this listing gave (InvalidPaginationToken, EC2's code for "The
 * specified pagination token is not valid or is expired"), 1,000 a page by default
 * (ListImagesInRecycleBin, MaxResults: "If you do not specify a value for MaxResults, the request
 * returns 1,000 items per page by default"), FrontOptions.pageSize capping a page.
 */
function page<T>(caller: Caller, params: URLSearchParams, all: T[], minResults: number, action: string): { page: T[]; next?: string } {
  const asked = params.get('MaxResults')
  const maxResults = asked === null ? 1000 : Number(asked)
  if (!Number.isInteger(maxResults) || maxResults < minResults || maxResults > 1000)
    throw new FrontError(400, 'InvalidParameterValue', `MaxResults must be an integer from ${minResults} to 1000; got '${asked}'.`)
  const size = Math.min(maxResults, caller.options.pageSize ?? maxResults)
  const token = params.get('NextToken')
  const prefix = `${action}:`
  let offset = 0
  if (token !== null) {
    const read = /^(\w+):(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'))
    if (!read || `${read[1]}:` !== prefix)
      throw new FrontError(400, 'InvalidPaginationToken', `The pagination token '${token}' is not valid.`)
    offset = Number(read[2])
  }
  const slice = all.slice(offset, offset + size)
  return offset + size < all.length ? { page: slice, next: Buffer.from(`${prefix}${offset + size}`).toString('base64') } : { page: slice }
}

const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * ListImagesInRecycleBin (EC2 API Reference): the caller's AMIs in the bin in its region, until
 * their exit time; ImageId.N at most 20 ("You can specify up to 20 IDs in a single request";
 * InvalidParameterValue beyond, the double's choice of code), an id not in the bin simply not listed;
 * MaxResults 1 to 1000. Each is an ImageRecycleBinInfo: imageId, name, description,
 * recycleBinEnterTime, recycleBinExitTime. DryRun answers DryRunOperation once the request is
 * judged valid.
 */
export async function listImagesInRecycleBin(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const ids = listed(params, /^ImageId\.\d+$/)
  if (ids.length > 20)
    throw new FrontError(400, 'InvalidParameterValue', `ListImagesInRecycleBin takes at most 20 image ids; ${ids.length} were given.`)
  const now = caller.now()
  const binned = [...caller.state.recycleBin.images.values()].filter(
    (image) =>
      image.account === caller.account &&
      image.region === caller.region &&
      now < image.exitAt &&
      (ids.length === 0 || ids.includes(image.imageId))
  )
  const { page: shown, next } = page(caller, params, binned, 1, 'ListImagesInRecycleBin')
  if (isDryRun(params)) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  const set = shown.map((image) =>
    node('item', [
      leaf('imageId', image.imageId),
      ...(image.name !== undefined ? [leaf('name', image.name)] : []),
      ...(image.description !== undefined ? [leaf('description', image.description)] : []),
      leaf('recycleBinEnterTime', iso(image.enteredAt)),
      leaf('recycleBinExitTime', iso(image.exitAt))
    ])
  )
  return { status: 200, body: okBody('ListImagesInRecycleBin', [node('imageSet', set), ...(next ? [leaf('nextToken', next)] : [])]) }
}

/**
 * ListSnapshotsInRecycleBin (EC2 API Reference): the caller's snapshots in the bin in its region,
 * until their exit time; SnapshotId.N filters; MaxResults 5 to 1000 (the action's own range). Each is
 * a SnapshotRecycleBinInfo: snapshotId, recycleBinEnterTime, recycleBinExitTime, description,
 * volumeId.
 */
export async function listSnapshotsInRecycleBin(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const ids = listed(params, /^SnapshotId\.\d+$/)
  const now = caller.now()
  const binned = [...caller.state.recycleBin.snapshots.values()].filter(
    (snapshot) =>
      snapshot.account === caller.account &&
      snapshot.region === caller.region &&
      now < snapshot.exitAt &&
      (ids.length === 0 || ids.includes(snapshot.snapshotId))
  )
  const { page: shown, next } = page(caller, params, binned, 5, 'ListSnapshotsInRecycleBin')
  if (isDryRun(params)) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  const set = shown.map((snapshot) =>
    node('item', [
      leaf('snapshotId', snapshot.snapshotId),
      leaf('recycleBinEnterTime', iso(snapshot.enteredAt)),
      leaf('recycleBinExitTime', iso(snapshot.exitAt)),
      ...(snapshot.description !== undefined ? [leaf('description', snapshot.description)] : []),
      ...(snapshot.volumeId !== undefined ? [leaf('volumeId', snapshot.volumeId)] : [])
    ])
  )
  return { status: 200, body: okBody('ListSnapshotsInRecycleBin', [node('snapshotSet', set), ...(next ? [leaf('nextToken', next)] : [])]) }
}
