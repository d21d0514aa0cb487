// The snapshots that DeregisterImage did not delete, settled once a region's images are gone: each
// once, already gone (EC2 finished deleting it after all) counts as deleted; used by an image that
// stays is kept, saying which; otherwise deleted here.
import { deleteSnapshot, existingSnapshots, snapshotUsers } from '../aws/snapshots.ts'
import type { Context } from '../context.ts'
import { errorMessage } from '../errors.ts'

/** A snapshot of a removed image that EC2 did not report deleted. */
export interface Unsettled {
  imageId: string
  snapshotId: string
}

export interface Settled {
  deleted: string[]
  /** Left by a cancel: to delete by hand if no image uses them. */
  left: string[]
  failures: string[]
}

export async function settleSnapshots(
  context: Context,
  region: string,
  unsettled: readonly Unsettled[],
  removedImages: ReadonlySet<string>
): Promise<Settled> {
  const { signal, log } = context
  const settled: Settled = { deleted: [], left: [], failures: [] }
  try {
    if (!signal.aborted) await settle(context, region, unsettled, removedImages, settled)
  } catch (error) {
    if (!signal.aborted) settled.failures.push(`settling the snapshots of the removed images in ${region}: ${errorMessage(error)}`)
  }
  // Settling sends changing calls too: a cancelled job leaves the rest, and names it, since no later
  // run finds a snapshot that no image names any more.
  if (signal.aborted) {
    settled.left = [...new Set(unsettled.map((entry) => entry.snapshotId))].filter((id) => !settled.deleted.includes(id))
    if (settled.left.length > 0)
      log.warning(
        `The job was cancelled before these snapshots in ${region} were settled; delete any that no image uses: ${settled.left.join(', ')}.`
      )
  }
  return settled
}

async function settle(
  context: Context,
  region: string,
  unsettled: readonly Unsettled[],
  removedImages: ReadonlySet<string>,
  settled: Settled
): Promise<void> {
  const { aws, log, signal } = context
  const firstImage = new Map<string, string>()
  for (const { imageId, snapshotId } of unsettled) if (!firstImage.has(snapshotId)) firstImage.set(snapshotId, imageId)
  const remaining = await existingSnapshots(aws, region, [...firstImage.keys()])
  const users = remaining.size > 0 ? await snapshotUsers(aws, region, [...remaining], removedImages) : new Map<string, string[]>()
  for (const [snapshotId, imageId] of firstImage) {
    const usedBy = users.get(snapshotId)
    if (usedBy) {
      log.info(
        `Kept snapshot ${snapshotId} of ${imageId} in ${region}: ${usedBy.join(', ')} still ${usedBy.length === 1 ? 'uses' : 'use'} it.`
      )
      continue
    }
    if (signal.aborted) break
    try {
      if (remaining.has(snapshotId)) await deleteSnapshot(aws, region, snapshotId)
      settled.deleted.push(snapshotId)
    } catch (error) {
      settled.failures.push(`snapshot ${snapshotId} of ${imageId} in ${region}: ${errorMessage(error)}`)
    }
  }
  if (settled.deleted.length > 0)
    log.info(`Deleted snapshots of the removed images in ${region} that no image uses any more: ${settled.deleted.join(', ')}.`)
}
