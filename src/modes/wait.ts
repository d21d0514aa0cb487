// wait: blocks until every image is available. One DescribeImages per region per poll serves all
// of that region's images; the interval starts short (a copy of a small image can be quick) and
// backs off to a cap so a long wait costs few calls.
import { StepError } from '../errors.ts'
import { deregisterImage, describeImages } from '../ec2/images.ts'
import type { ReleaseImage } from '../release.ts'
import { formatDuration, type Step } from '../step.ts'

/** Seconds between polls: short at first, then every 10 s (6 calls a minute per region at most). */
export const POLL_SCHEDULE_MS = [2000, 4000, 8000, 10_000] as const
const PROGRESS_EVERY_MS = 30_000

export async function wait(step: Step): Promise<void> {
  await waitForImages(step, step.release.all())
}

/**
 * Waits for the given images (all of the step's, or just the source before a copy). An image that
 * ends failed is removed if this run made it (nobody can launch it) and fails the step with AWS's
 * reason, once the other images have settled so that their state is reported too.
 */
export async function waitForImages(step: Step, images: readonly ReleaseImage[]): Promise<void> {
  const { log, now } = step
  const started = now()
  const deadline = started + step.plan.waitTimeoutMs
  let pending = images.filter((image) => image.state !== 'available')
  if (pending.length === 0) return
  log.info(`Waiting for ${describeList(pending)} to be available (up to ${formatDuration(step.plan.waitTimeoutMs)}).`)

  let lastProgress = started
  const failed: ReleaseImage[] = []
  for (let poll = 0; ; poll++) {
    step.signal.throwIfAborted()
    await pollOnce(step, pending)
    failed.push(...pending.filter((image) => isFailed(image)))
    pending = pending.filter((image) => image.state !== 'available' && !isFailed(image))
    if (pending.length === 0) break

    const elapsed = now() - started
    if (now() >= deadline) {
      throw new StepError(
        `Timed out after ${formatDuration(elapsed)} (wait-timeout ${formatDuration(step.plan.waitTimeoutMs)}) with images still pending: ${pending.map((image) => `${image.imageId} in ${image.region} (${image.state})`).join(', ')}. ` +
          'They may still become available: run a later step with mode: wait and image-ids from this step’s outputs, or raise wait-timeout.'
      )
    }
    if (now() - lastProgress >= PROGRESS_EVERY_MS) {
      log.info(
        `Still waiting after ${formatDuration(elapsed)}: ${pending.map((image) => `${image.imageId} in ${image.region} ${image.state}`).join(', ')}.`
      )
      lastProgress = now()
    }
    const interval = POLL_SCHEDULE_MS[Math.min(poll, POLL_SCHEDULE_MS.length - 1)]!
    await step.sleep(Math.max(0, Math.min(interval, deadline - now())), step.signal)
  }

  if (failed.length > 0) {
    await removeFailed(step, failed)
    throw new StepError(
      `${failed.length === 1 ? 'An image' : `${failed.length} images`} failed: ` +
        failed
          .map((image) => `${image.imageId} '${image.name}' in ${image.region}: ${image.stateReason ?? 'AWS gave no reason'}`)
          .join('; ')
    )
  }
  log.info(`Available after ${formatDuration(now() - started)}: ${describeList(images)}.`)
}

/** One DescribeImages per region, all regions at once. */
async function pollOnce(step: Step, pending: readonly ReleaseImage[]): Promise<void> {
  const byRegion = Map.groupBy(pending, (image) => image.region)
  await Promise.all(
    [...byRegion].map(async ([region, images]) => {
      const found = await describeImages(
        step.ec2,
        region,
        images.map((image) => image.imageId)
      )
      // An image missing from the answer is new and not listed yet: still pending.
      for (const info of found) step.release.observe(region, info)
    })
  )
}

function isFailed(image: ReleaseImage): boolean {
  return image.state === 'failed' || image.state === 'invalid' || image.state === 'error' || image.state === 'deregistered'
}

/** Deregisters failed images this run made, with their snapshots, and records it for the report. */
async function removeFailed(step: Step, failed: readonly ReleaseImage[]): Promise<void> {
  for (const image of failed) {
    if (image.origin !== 'built' && image.origin !== 'copied') continue
    if (step.plan.dryRun) continue
    await deregisterImage(step.ec2, image.region, image.imageId, true)
    step.release.remove(image.region)
    step.release.recordRemoved(step.release.removedFailed, image.region, image.imageId, image.snapshotIds)
    step.log.warning(
      `Deregistered the failed image ${image.imageId} in ${image.region} and deleted its snapshots${image.snapshotIds.length ? ` (${image.snapshotIds.join(', ')})` : ''}: it could never be launched.`
    )
  }
}

function describeList(images: readonly ReleaseImage[]): string {
  return images.map((image) => `${image.imageId} in ${image.region}`).join(', ')
}
