// wait: blocks until every image is available. One DescribeImages per region per poll serves all
// of that region's images; the interval starts short (a copy of a small image can be quick) and
// backs off to a cap so a long wait costs few calls.
import { StepError } from '../errors.ts'
import { describeImages } from '../aws/images.ts'
import { removeImages } from '../removal.ts'
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
 * ends failed is removed if this run made it (nobody can launch it) and leaves the release, so it
 * is never in the outputs as if usable. Failures and a timeout are reported together, whichever
 * came first: the step fails once every image has settled or the time is up.
 */
export async function waitForImages(step: Step, images: readonly ReleaseImage[]): Promise<void> {
  const { log, now } = step
  const started = now()
  const deadline = started + step.plan.waitTimeoutMs
  let pending = images.filter((image) => image.state !== 'available')
  if (pending.length === 0) return
  log.info(`Waiting for ${describeList(pending)} to be available (up to ${formatDuration(step.plan.waitTimeoutMs)}).`)

  let lastProgress = started
  const unusable: ReleaseImage[] = []
  for (let poll = 0; ; poll++) {
    step.signal.throwIfAborted()
    await pollOnce(step, pending)
    unusable.push(...pending.filter(isUnusable))
    pending = pending.filter((image) => image.state !== 'available' && !isUnusable(image))
    if (pending.length === 0 || now() >= deadline) break
    if (now() - lastProgress >= PROGRESS_EVERY_MS) {
      log.info(
        `Still waiting after ${formatDuration(now() - started)}: ${pending.map((image) => `${image.imageId} in ${image.region} ${image.state}`).join(', ')}.`
      )
      lastProgress = now()
    }
    const interval = POLL_SCHEDULE_MS[Math.min(poll, POLL_SCHEDULE_MS.length - 1)]!
    await step.sleep(Math.max(0, Math.min(interval, deadline - now())), step.signal)
  }

  const problems: string[] = []
  if (unusable.length > 0) problems.push(await settleUnusable(step, unusable))
  if (pending.length > 0) {
    problems.push(
      `Timed out after ${formatDuration(now() - started)} (wait-timeout ${formatDuration(step.plan.waitTimeoutMs)}) with images still pending: ${pending.map((image) => `${image.imageId} in ${image.region} (${image.state})`).join(', ')}. ` +
        'They may still become available: run a later step with mode: wait and image-ids from this step’s outputs, or raise wait-timeout.'
    )
  }
  if (problems.length > 0) throw new StepError(problems.join(' '))
  log.info(`Available after ${formatDuration(now() - started)}: ${describeList(images)}.`)
}

/** One DescribeImages per region, all regions at once. */
async function pollOnce(step: Step, pending: readonly ReleaseImage[]): Promise<void> {
  const byRegion = Map.groupBy(pending, (image) => image.region)
  await Promise.all(
    [...byRegion].map(async ([region, images]) => {
      const found = await describeImages(
        step.aws,
        region,
        images.map((image) => image.imageId)
      )
      // An image missing from the answer is new and not listed yet: still pending.
      for (const info of found) step.release.observe(region, info)
    })
  )
}

/** failed, invalid, error, deregistered: it will never be available. */
function isFailed(image: ReleaseImage): boolean {
  return image.state === 'failed' || image.state === 'invalid' || image.state === 'error' || image.state === 'deregistered'
}

/** A disabled image is not failed — it can be enabled again — but it launches nothing either. */
function isUnusable(image: ReleaseImage): boolean {
  return isFailed(image) || image.state === 'disabled'
}

/**
 * Takes unusable images out of the release (so no output offers them), removes the failed ones
 * this run made, with their snapshots, and says what happened to each.
 */
async function settleUnusable(step: Step, images: readonly ReleaseImage[]): Promise<string> {
  for (const image of images) step.release.remove(image.region)
  const ours = images.filter((image) => isFailed(image) && (image.origin === 'built' || image.origin === 'copied'))
  const failures: string[] = []
  if (!step.plan.dryRun) {
    for (const [region, regionImages] of Map.groupBy(ours, (image) => image.region)) {
      failures.push(...(await removeImages(step, region, regionImages, step.release.removedFailed, true)))
    }
  }
  for (const image of ours) {
    const removed = step.release.removedFailed.get(image.region)
    if (!removed?.imageIds.includes(image.imageId)) continue
    step.log.warning(
      `Deregistered the failed image ${image.imageId} in ${image.region}${removed.snapshotIds.length ? ` and deleted its snapshots (${removed.snapshotIds.join(', ')})` : ''}: it could never be launched.`
    )
  }
  const failed = images.filter(isFailed)
  const disabled = images.filter((image) => image.state === 'disabled')
  const parts: string[] = []
  if (failed.length > 0) {
    parts.push(
      `${failed.length === 1 ? 'An image' : `${failed.length} images`} failed: ` +
        failed
          .map((image) => `${image.imageId} '${image.name}' in ${image.region}: ${image.stateReason ?? 'AWS gave no reason'}`)
          .join('; ') +
        '.'
    )
  }
  if (disabled.length > 0) {
    parts.push(
      `${disabled.map((image) => `${image.imageId} '${image.name}' in ${image.region}`).join(', ')} ${disabled.length === 1 ? 'is' : 'are'} disabled: ` +
        'EnableImage makes an image usable again.'
    )
  }
  if (failures.length > 0) parts.push(`Removing the failed images did not fully succeed: ${failures.join('; ')}.`)
  return parts.join(' ')
}

function describeList(images: readonly ReleaseImage[]): string {
  return images.map((image) => `${image.imageId} in ${image.region}`).join(', ')
}
