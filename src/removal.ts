// Carries out one region's prune plan: DeregisterImage for each retired image (with its snapshots),
// a few at a time so that pacing, not concurrency, sets the speed; then makes sure the snapshots
// are gone where the server did not delete them itself, keeping any that another image uses.
import { errorMessage } from '../errors.ts'
import { deregisterImage, type ImageInfo } from '../ec2/images.ts'
import { deleteSnapshot, existingSnapshots, snapshotsInUse } from '../ec2/snapshots.ts'
import type { PruneDecision } from '../release.ts'
import type { Step } from '../step.ts'

const CONCURRENCY = 4

/** Retires the plan's images in the region; returns what could not be done, one line each. */
export async function retireImages(
  step: Step,
  region: string,
  images: ReadonlyMap<string, ImageInfo>,
  decisions: readonly PruneDecision[]
): Promise<string[]> {
  const deleteSnapshots = step.plan.prune!.deleteSnapshots
  const queue = decisions.filter((decision) => decision.action === 'retire')
  const failures: string[] = []
  /** Snapshots of retired images whose fate the server did not report. */
  const unreported: { imageId: string; snapshotId: string }[] = []

  const worker = async (): Promise<void> => {
    for (let decision = queue.shift(); decision; decision = queue.shift()) {
      const image = images.get(decision.imageId)!
      try {
        const outcomes = await deregisterImage(step.ec2, region, image.imageId, deleteSnapshots)
        const deleted = outcomes?.filter((outcome) => outcome.code === 'success').map((outcome) => outcome.snapshotId) ?? []
        step.release.recordRemoved(step.release.pruned, region, image.imageId, deleted)
        step.log.info(`Retired ${image.imageId} '${image.name}' in ${region}${deleted.length ? ` with ${deleted.join(', ')}` : ''}.`)
        for (const outcome of outcomes ?? []) {
          if (outcome.code === 'skipped') step.log.info(`Kept snapshot ${outcome.snapshotId} in ${region}: another image uses it.`)
          else if (outcome.code !== 'success')
            failures.push(`snapshot ${outcome.snapshotId} of ${image.imageId} in ${region}: ${outcome.code}`)
        }
        if (deleteSnapshots && !outcomes)
          unreported.push(...image.snapshotIds.map((snapshotId) => ({ imageId: image.imageId, snapshotId })))
      } catch (error) {
        // One image failing (it became protected or in use meanwhile) does not stop the others.
        failures.push(`${image.imageId} '${image.name}' in ${region}: ${errorMessage(error)}`)
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  if (unreported.length > 0) failures.push(...(await settleSnapshots(step, region, unreported)))
  return failures
}

/**
 * For servers that do not report DeleteAssociatedSnapshots' results (or a retried call whose reply
 * was lost): snapshots already gone were deleted with their image; the rest are deleted here,
 * unless another image still uses them.
 */
async function settleSnapshots(
  step: Step,
  region: string,
  snapshots: readonly { imageId: string; snapshotId: string }[]
): Promise<string[]> {
  const { ec2, release, log } = step
  const ids = snapshots.map((snapshot) => snapshot.snapshotId)
  const remaining = await existingSnapshots(ec2, region, ids)
  // EC2 may still list an image just deregistered: its own snapshots must not count as in use.
  const retired = new Set(release.pruned.get(region)?.imageIds)
  const used = remaining.size > 0 ? await snapshotsInUse(ec2, region, [...remaining], retired) : new Set<string>()
  const failures: string[] = []
  const deleted: string[] = []
  for (const { imageId, snapshotId } of snapshots) {
    if (used.has(snapshotId)) {
      log.info(`Kept snapshot ${snapshotId} of ${imageId} in ${region}: another image uses it.`)
      continue
    }
    try {
      if (remaining.has(snapshotId)) await deleteSnapshot(ec2, region, snapshotId)
      release.recordRemoved(release.pruned, region, imageId, [snapshotId])
      deleted.push(snapshotId)
    } catch (error) {
      failures.push(`snapshot ${snapshotId} of ${imageId} in ${region}: ${errorMessage(error)}`)
    }
  }
  if (deleted.length > 0) log.info(`Deleted the snapshots of the retired images in ${region}: ${deleted.join(', ')}.`)
  return failures
}
