// Snapshots as EC2 sees them: encrypted when the double encrypted their copy, their full size and
// storage tier (which moto does not report), pending while the image they are made for is, and in
// use while any image of the account uses them — disabled ones and ones registered from them
// included, which moto cannot see. Deleting one a Recycle Bin rule retains puts it in the bin.
import type { Caller } from '../caller.ts'
import { defaultSnapshotBytes } from '../options.ts'
import { FrontError, type Reply } from '../protocol.ts'
import type { DoubleState, SnapshotFacts } from '../state.ts'
import { child, items, setText, textOf, type XmlElement } from '../xml.ts'
import { overlayImage } from './describe-images.ts'
import { imageStateAt } from './image-state.ts'
import { snapshotIdsIn } from './lookups.ts'
import { paginated } from './paging.ts'
import { deletedIntoBin } from './recycle-bin.ts'
import { takeFilters } from './requests.ts'

/** What the double knows of the snapshot, made empty the first time it is asked. */
function factsOf(state: DoubleState, snapshotId: string, region: string): SnapshotFacts {
  let facts = state.snapshots.get(snapshotId)
  if (!facts) {
    facts = { region }
    state.snapshots.set(snapshotId, facts)
  }
  return facts
}

/**
 * Records the snapshots CreateImage or CopyImage made for a new image: each is pending while the
 * image is (EBS User Guide, "Create Amazon EBS snapshots": a snapshot "remains in the pending state
 * until all of data has been transferred"; an AMI is available only once its snapshots are). A
 * copy's snapshot has its source's full size: a copy holds every block its source does (EC2 User
 * Guide, "Copy an Amazon EC2 AMI": "an identical but distinct target AMI"). The snapshots are paired
 * with the source's in block device order.
 */
export function madeSnapshots(
  caller: Caller,
  imageId: string,
  snapshots: string[],
  source?: { snapshots: string[]; region: string }
): void {
  snapshots.forEach((snapshotId, i) => {
    const facts = factsOf(caller.state, snapshotId, caller.region)
    facts.madeFor = imageId
    const from = source?.snapshots[i]
    if (from === undefined || !source) return
    const known = caller.state.snapshots.get(from)
    // A size set on the source is the copy's; otherwise the copy's default is reckoned from the
    // source it descends from (a copy of a copy, from the first).
    if (typeof known?.fullSizeBytes === 'number') facts.fullSizeBytes = known.fullSizeBytes
    facts.copyOf = known?.copyOf ?? { snapshotId: from, region: source.region }
  })
}

/** FullSnapshotSizeInBytes of a completed snapshot, or undefined to leave the field out. */
function fullSizeOf(caller: Caller, snapshotId: string, volumeSize: number): number | undefined {
  const facts = caller.state.snapshots.get(snapshotId)
  if (facts?.fullSizeBytes === null) return undefined
  if (facts?.fullSizeBytes !== undefined) return facts.fullSizeBytes
  const identity = facts?.copyOf ?? { snapshotId, region: facts?.region ?? caller.region }
  const bytes = caller.options.snapshotBytes ?? defaultSnapshotBytes
  return bytes({ ...identity, volumeSize })
}

/**
 * The snapshot's state as the image it was made for decides it (undefined: moto's, completed).
 * Pending while the image is, with a progress short of 100 % in step with the image's pending time;
 * in error if the image failed, with the reason as StateMessage (Snapshot, StateMessage: "If a
 * snapshot copy operation fails ... this field displays error state details").
 */
function madeState(caller: Caller, facts: SnapshotFacts | undefined): { state: string; progress?: string; message?: string } | undefined {
  if (!facts?.madeFor) return undefined
  const image = caller.state.images.get(facts.madeFor)
  const now = caller.now()
  const state = imageStateAt(caller.state, facts.madeFor, now)?.state
  if (state === 'pending' && image) {
    const share = image.pendingMs > 0 ? Math.floor((100 * (now - image.createdAt)) / image.pendingMs) : 0
    return { state: 'pending', progress: `${Math.max(0, Math.min(99, share))}%` }
  }
  if (state === 'failed') return { state: 'error', ...(image?.failure && { message: image.failure.message }) }
  return undefined
}

/**
 * DescribeSnapshots (EC2 API Reference; Snapshot): the key of each snapshot the double encrypted
 * (moto does not encrypt copies); StorageTier, standard unless a test archived it; the state of one
 * made for an image still being made; and FullSnapshotSizeInBytes of a completed snapshot. EC2
 * documents the full size as "the size of all the blocks that were written to the source volume at
 * the time the snapshot was created", which a snapshot still pending (or failed) has not finished
 * taking: the double leaves it out until the snapshot completes, the strict reading. The filters
 * `status` and `storage-tier` (both documented) are applied to the double's answer, since moto knows
 * neither (it answers a storage-tier filter with a 500).
 */
export function describeSnapshots(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const { rest, taken } = takeFilters(params, ['status', 'storage-tier'])
  const statuses = taken.get('status')
  const tiers = taken.get('storage-tier')
  const edit = (element: XmlElement): void => {
    overlaySnapshots(caller, element)
    const set = child(element, 'snapshotSet')
    if (!set) return
    if (statuses) set.children = set.children.filter((snapshot) => statuses.includes(textOf(snapshot, 'status') ?? ''))
    if (tiers) set.children = set.children.filter((snapshot) => tiers.includes(textOf(snapshot, 'storageTier') ?? ''))
  }
  return paginated(caller, rest, 'snapshotSet', edit)
}

/** DescribeSnapshots' answer edited into what EC2 would say of each snapshot now (see describeSnapshots). */
export function overlaySnapshots(caller: Caller, element: XmlElement): void {
  for (const snapshot of items(element, 'snapshotSet')) {
    const snapshotId = textOf(snapshot, 'snapshotId') ?? ''
    const key = caller.state.snapshotKeys.get(snapshotId)
    if (key) {
      setText(snapshot, 'encrypted', 'true')
      setText(snapshot, 'kmsKeyId', key)
    }
    const facts = caller.state.snapshots.get(snapshotId)
    setText(snapshot, 'storageTier', facts?.storageTier ?? 'standard')
    // moto reports neither, but a test's snapshotBytes or setSnapshot decides it, not moto.
    snapshot.children = snapshot.children.filter((c) => c.name !== 'fullSnapshotSizeInBytes')
    const made = madeState(caller, facts)
    if (made) {
      setText(snapshot, 'status', made.state)
      if (made.progress) setText(snapshot, 'progress', made.progress)
      if (made.message) setText(snapshot, 'statusMessage', made.message)
      continue
    }
    const bytes = fullSizeOf(caller, snapshotId, Number(textOf(snapshot, 'volumeSize') ?? 0))
    if (bytes !== undefined) setText(snapshot, 'fullSnapshotSizeInBytes', String(bytes))
  }
}

/** Every image the double knows uses the snapshot, as made for it or registered from it. */
function imagesUsing(state: DoubleState, snapshotId: string): string[] {
  const made = state.snapshots.get(snapshotId)?.madeFor
  const registered = [...state.images].filter(([, image]) => image.snapshotIds?.includes(snapshotId)).map(([imageId]) => imageId)
  return [...new Set([...(made ? [made] : []), ...registered])]
}

/**
 * Front.setSnapshot: a snapshot's full size (a whole number of bytes; null leaves the field out)
 * and storage tier. A snapshot is archived only as EBS allows (EBS User Guide, "Archive an Amazon EBS
 * snapshot"): "You can archive any snapshot that is in the completed state ... You can't archive
 * snapshots that are in the pending or error states", and "If the snapshot is associated with one or
 * more AMIs, then you must first disable those associated AMIs". Of the AMIs the double knows use
 * it, each must be disabled or deregistered; otherwise this throws. Moving back to standard (a
 * permanent restore) is always allowed.
 */
export function setSnapshot(
  state: DoubleState,
  snapshotId: string,
  region: string,
  facts: { fullSizeBytes?: number | null; storageTier?: 'standard' | 'archive' },
  now: number
): void {
  if (!/^snap-[0-9a-f]+$/.test(snapshotId)) throw new Error(`setSnapshot: '${snapshotId}' is not a snapshot id`)
  const bytes = facts.fullSizeBytes
  if (bytes !== undefined && bytes !== null && (!Number.isSafeInteger(bytes) || bytes < 0))
    throw new Error(`setSnapshot: fullSizeBytes is a whole number of bytes, or null; got ${String(bytes)}`)
  const tier = facts.storageTier
  if (tier !== undefined && tier !== 'standard' && tier !== 'archive')
    throw new Error(`setSnapshot: storageTier is 'standard' or 'archive'; got '${String(tier)}'`)
  if (tier === 'archive') {
    const deregistered = (imageId: string): boolean => [...state.deregistered.values()].some((gone) => gone.has(imageId))
    for (const imageId of imagesUsing(state, snapshotId)) {
      if (deregistered(imageId)) continue
      const imageState = imageStateAt(state, imageId, now)?.state
      if (imageState === 'pending' || imageState === 'failed')
        throw new Error(
          `setSnapshot: ${snapshotId} is ${imageState === 'pending' ? 'pending' : 'in error'} with ${imageId}; only a completed snapshot can be archived`
        )
      if (imageState !== 'disabled')
        throw new Error(
          `setSnapshot: ${snapshotId} is used by ${imageId}, which is not disabled; disable the AMI before archiving its snapshot`
        )
    }
  }
  const known = factsOf(state, snapshotId, region)
  if (bytes !== undefined) known.fullSizeBytes = bytes
  if (tier !== undefined) known.storageTier = tier
}

/**
 * DeleteSnapshot (EC2 API Reference, error codes: InvalidSnapshot.InUse, "The snapshot that you
 * are trying to delete is in use by one or more AMIs"): refused while any image of the account uses
 * it, disabled ones and ones registered from it included — which moto cannot see.
 */
export async function deleteSnapshot(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const snapshotId = params.get('SnapshotId') ?? ''
  // Whether EC2 judges use before it answers a DryRun is not documented: the double judges it first,
  // the stricter order, in which a dry run of a snapshot in use says nothing of the permission.
  for (const [imageId, snapshots] of await snapshotsByImage(caller)) {
    if (snapshots.includes(snapshotId)) {
      throw new FrontError(400, 'InvalidSnapshot.InUse', `The snapshot ${snapshotId} is currently in use by ${imageId}`)
    }
  }
  // DryRun "checks whether you have the required permissions for the action, without actually
  // making the request" (EC2 API Reference, DeleteSnapshot): moto answers DryRunOperation.
  if (params.get('DryRun') === 'true') return caller.send(params)
  // A deleted snapshot that a Recycle Bin rule retains goes to the bin (ec2/recycle-bin.ts).
  return deletedIntoBin(caller, snapshotId, () => caller.send(params))
}

/**
 * Every image of the caller's account in the region (disabled ones too) with its snapshots, as EC2
 * sees them. One listing serves every request that arrives while it is under way and nothing but
 * deregistrations changed since it began: a prune sending many DeregisterImage calls at once must
 * not have each list thousands of images.
 */
export async function snapshotsByImage(caller: Caller): Promise<Map<string, string[]>> {
  const { state, scope } = caller
  const cached = state.imageIndex.get(scope)
  if (cached) return cached
  const generation = state.generation.get(scope) ?? 0
  const under = state.imageListings.get(scope)
  if (under?.generation === generation) return under.images
  const images = listImages(caller).then((listed) => {
    // An image deregistered while the listing ran is gone, whatever moto listed.
    for (const imageId of state.deregistered.get(scope) ?? []) listed.delete(imageId)
    // Kept only if no image changed otherwise while it was being listed.
    if ((state.generation.get(scope) ?? 0) === generation) state.imageIndex.set(scope, listed)
    return listed
  })
  const listing = { generation, images }
  state.imageListings.set(scope, listing)
  try {
    return await images
  } finally {
    if (state.imageListings.get(scope) === listing) state.imageListings.delete(scope)
  }
}

async function listImages(caller: Caller): Promise<Map<string, string[]>> {
  const found = await caller.moto('DescribeImages', { 'Owner.1': 'self' })
  const images = new Map<string, string[]>()
  for (const image of items(found, 'imagesSet')) {
    overlayImage(caller.state, image, caller.now())
    images.set(textOf(image, 'imageId') ?? '', snapshotIdsIn(image))
  }
  return images
}
