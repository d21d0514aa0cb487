// Removing images with their snapshots, the one way every mode does it (prune, a failed image, an
// earlier attempt's failed image). DeregisterImage with DeleteAssociatedSnapshots deletes what it
// can, but EC2 judges "another image uses this snapshot" as of each request: two images sharing a
// snapshot, deregistered at the same moment, both skip it and it is orphaned. So every snapshot a
// call did not delete is settled once the region's images are gone: deleted if no image uses it any
// more, kept (saying which image uses it) if one does.
import { DeleteSnapshotCommand, DeregisterImageCommand } from '@aws-sdk/client-ec2'
import { errorMessage } from './errors.ts'
import { hasCode } from './aws/errors.ts'
import { deregisterImage } from './aws/images.ts'
import { deleteSnapshot, existingSnapshots, snapshotUsers } from './aws/snapshots.ts'
import type { Retired } from './release.ts'
import type { Step } from './step.ts'

export interface Removal {
  imageId: string
  name: string
  snapshotIds: readonly string[]
}

/** Images at once per region: pacing, not concurrency, sets the speed. */
const CONCURRENCY = 4

/**
 * Deregisters the images of one region (with their snapshots when `deleteSnapshots`), recording
 * what went into `into`; returns what could not be done, one line each. Once the job is cancelled
 * no further image is started; calls in flight finish and are recorded.
 */
export async function removeImages(
  step: Step,
  region: string,
  images: readonly Removal[],
  into: Map<string, Retired>,
  deleteSnapshots: boolean
): Promise<string[]> {
  const { release, log } = step
  const queue = [...images]
  const failures: string[] = []
  /** Snapshots of removed images that EC2 did not report deleted. */
  const unsettled: { imageId: string; snapshotId: string }[] = []

  const worker = async (): Promise<void> => {
    for (let image = queue.shift(); image && !step.signal.aborted; image = queue.shift()) {
      try {
        const outcomes = await deregisterImage(step.aws, region, image.imageId, deleteSnapshots)
        const deleted = outcomes?.filter((outcome) => outcome.code === 'success').map((outcome) => outcome.snapshotId) ?? []
        release.recordRemoved(into, region, image.imageId, deleted)
        log.info(`Deregistered ${image.imageId} '${image.name}' in ${region}${deleted.length ? ` with ${deleted.join(', ')}` : ''}.`)
        if (!deleteSnapshots) continue
        // skipped (another image used it at that moment), internal-error, client-error,
        // missing-permissions, or no report at all: settled below, where a refusal gets EC2's
        // own error message rather than a bare return code.
        const reported = new Map((outcomes ?? []).map((outcome) => [outcome.snapshotId, outcome.code]))
        for (const snapshotId of image.snapshotIds) {
          if (reported.get(snapshotId) === 'success') continue
          unsettled.push({ imageId: image.imageId, snapshotId })
          const code = reported.get(snapshotId)
          if (code !== undefined)
            log.debug(`DeregisterImage ${image.imageId}: snapshot ${snapshotId} ${code}; settled once the region is done.`)
        }
      } catch (error) {
        // One image failing (it became protected or in use meanwhile) does not stop the others.
        // Refused before sending because the job was cancelled: not a failure of this image.
        if (step.signal.aborted && error === step.signal.reason) return
        if (step.signal.aborted) {
          // Cut off by the cancel (no retry): EC2 may have done it. Reported, never guessed.
          release.recordRemoved(release.unsettled, region, image.imageId, [])
          failures.push(`${image.imageId} '${image.name}' in ${region}: the job was cancelled before EC2 answered (${errorMessage(error)})`)
          continue
        }
        failures.push(`${image.imageId} '${image.name}' in ${region}: ${errorMessage(error)}`)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, images.length) }, worker))
  if (unsettled.length === 0) return failures
  try {
    if (!step.signal.aborted) failures.push(...(await settleSnapshots(step, region, unsettled, into)))
  } catch (error) {
    if (!step.signal.aborted) failures.push(`settling the snapshots of the removed images in ${region}: ${errorMessage(error)}`)
  }
  // Settling sends changing calls too: a cancelled job leaves the rest, and names it, since no later
  // run finds a snapshot that no image names any more.
  if (step.signal.aborted) {
    const settled = new Set(into.get(region)?.snapshotIds)
    const left = new Set(unsettled.map((entry) => entry.snapshotId).filter((id) => !settled.has(id)))
    const entry = release.unsettled.get(region) ?? { imageIds: [], snapshotIds: [] }
    entry.snapshotIds.push(...[...left].filter((id) => !entry.snapshotIds.includes(id)))
    if (left.size > 0) release.unsettled.set(region, entry)
    if (left.size > 0)
      log.warning(
        `The job was cancelled before these snapshots in ${region} were settled; delete any that no image uses: ${[...left].join(', ')}.`
      )
  }
  return failures
}

/**
 * Each snapshot once: already gone (EC2 finished deleting it after all) is recorded as deleted;
 * used by an image that stays is kept, saying which; otherwise deleted here.
 */
async function settleSnapshots(
  step: Step,
  region: string,
  unsettled: readonly { imageId: string; snapshotId: string }[],
  into: Map<string, Retired>
): Promise<string[]> {
  const { aws, release, log } = step
  const firstImage = new Map<string, string>()
  for (const { imageId, snapshotId } of unsettled) if (!firstImage.has(snapshotId)) firstImage.set(snapshotId, imageId)
  const ids = [...firstImage.keys()]
  const remaining = await existingSnapshots(aws, region, ids)
  const removedImages = new Set(into.get(region)?.imageIds)
  const users = remaining.size > 0 ? await snapshotUsers(aws, region, [...remaining], removedImages) : new Map<string, string[]>()
  const failures: string[] = []
  const deleted: string[] = []
  for (const [snapshotId, imageId] of firstImage) {
    const usedBy = users.get(snapshotId)
    if (usedBy) {
      log.info(
        `Kept snapshot ${snapshotId} of ${imageId} in ${region}: ${usedBy.join(', ')} still ${usedBy.length === 1 ? 'uses' : 'use'} it.`
      )
      continue
    }
    if (step.signal.aborted) break
    try {
      if (remaining.has(snapshotId)) await deleteSnapshot(aws, region, snapshotId)
      release.recordRemoved(into, region, imageId, [snapshotId])
      deleted.push(snapshotId)
    } catch (error) {
      failures.push(`snapshot ${snapshotId} of ${imageId} in ${region}: ${errorMessage(error)}`)
    }
  }
  if (deleted.length > 0)
    log.info(`Deleted snapshots of the removed images in ${region} that no image uses any more: ${deleted.join(', ')}.`)
  return failures
}

/**
 * DeregisterImage (and DeleteSnapshot, which DeleteAssociatedSnapshots needs too) with DryRun: EC2
 * checks the permission (API Reference, DryRun), for this image and snapshot, changing nothing.
 */
export async function checkRemoval(
  step: Step,
  region: string,
  imageId: string,
  snapshotId: string | undefined,
  deleteSnapshots: boolean
): Promise<void> {
  await step.aws.check(region, 'DeregisterImage', `image ${imageId}`, (client) =>
    client.send(new DeregisterImageCommand({ ImageId: imageId, ...(deleteSnapshots && { DeleteAssociatedSnapshots: true }), DryRun: true }))
  )
  if (!deleteSnapshots || snapshotId === undefined) return
  try {
    await step.aws.check(region, 'DeleteSnapshot', `snapshot ${snapshotId}`, (client) =>
      client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId, DryRun: true }))
    )
  } catch (error) {
    // The image that uses the snapshot is still there (and a disabled image's snapshots cannot be
    // deleted at all, EC2 User Guide, "Disable an AMI"): EC2 may say so rather than answer the
    // DryRun. That is not a refusal of the permission, which is all a DryRun is asked here.
    if (!hasCode(error, 'InvalidSnapshot.InUse')) throw error
  }
}
