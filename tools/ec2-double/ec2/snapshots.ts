// Snapshots as EC2 sees them: encrypted when the double encrypted their copy, and in use while any
// image of the account uses them — disabled ones and ones registered from them included, which moto
// cannot see.
import type { Caller } from '../caller.ts'
import { FrontError, type Reply } from '../protocol.ts'
import { items, setText, textOf, type XmlElement } from '../xml.ts'
import { overlayImage } from './describe-images.ts'
import { snapshotIdsIn } from './lookups.ts'

/** DescribeSnapshots: the key of each snapshot the double encrypted (moto does not encrypt copies). */
export function overlaySnapshots(caller: Caller, element: XmlElement): void {
  for (const snapshot of items(element, 'snapshotSet')) {
    const key = caller.state.snapshotKeys.get(textOf(snapshot, 'snapshotId') ?? '')
    if (!key) continue
    setText(snapshot, 'encrypted', 'true')
    setText(snapshot, 'kmsKeyId', key)
  }
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
  return caller.send(params)
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
