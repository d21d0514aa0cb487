// Waiting for images to be available: wait's whole job, and what copy, tag, publish and prune do
// first. One DescribeImages per region per poll serves all of that region's images; the interval
// starts short and backs off to a cap (the polling configuration), so a long wait costs few calls.
import { describeImages } from '../aws/images.ts'
import type { Context } from '../context.ts'
import { StepError } from '../errors.ts'
import type { ReleaseImage } from '../release.ts'
import { formatDuration } from '../time.ts'
import { removeImages } from './retire.ts'

/**
 * Waits for the given images (all of the step's, or just the source before a copy). An image that
 * ends failed is removed if this run made it (nobody can launch it) and leaves the release, so it
 * is never in the outputs as if usable. Failures and a timeout are reported together, whichever
 * came first: the step fails once every image has settled or the time is up.
 */
export async function waitForImages(context: Context, images: readonly ReleaseImage[]): Promise<void> {
  const { log, clock, polling, plan } = context
  const started = clock.now()
  const deadline = started + plan.waitTimeoutMs
  let pending = images.filter((image) => image.state !== 'available')
  if (pending.length === 0) return
  log.info(`Waiting for ${describeList(pending)} to be available (up to ${formatDuration(plan.waitTimeoutMs)}).`)

  let lastProgress = started
  const unusable: ReleaseImage[] = []
  for (let poll = 0; ; poll++) {
    context.signal.throwIfAborted()
    await pollOnce(context, pending)
    unusable.push(...pending.filter(isUnusable))
    pending = pending.filter((image) => image.state !== 'available' && !isUnusable(image))
    if (pending.length === 0 || clock.now() >= deadline) break
    if (clock.now() - lastProgress >= polling.progressEveryMs) {
      log.info(
        `Still waiting after ${formatDuration(clock.now() - started)}: ${pending.map((image) => `${image.imageId} in ${image.region} ${image.state}`).join(', ')}.`
      )
      lastProgress = clock.now()
    }
    const interval = polling.wait[Math.min(poll, polling.wait.length - 1)] ?? 0
    await clock.sleep(Math.max(0, Math.min(interval, deadline - clock.now())), context.signal)
  }

  const problems: string[] = []
  if (unusable.length > 0) problems.push(await settleUnusable(context, unusable))
  if (pending.length > 0) {
    problems.push(
      `Timed out after ${formatDuration(clock.now() - started)} (wait-timeout ${formatDuration(plan.waitTimeoutMs)}) with images still pending: ${pending.map((image) => `${image.imageId} in ${image.region} (${image.state})`).join(', ')}. ` +
        'They may still become available: run a later step with mode: wait and image-ids from this step’s outputs, or raise wait-timeout.'
    )
  }
  if (problems.length > 0) throw new StepError(problems.join(' '))
  log.info(`Available after ${formatDuration(clock.now() - started)}: ${describeList(images)}.`)
}

/** One DescribeImages per region, all regions at once. */
async function pollOnce(context: Context, pending: readonly ReleaseImage[]): Promise<void> {
  const byRegion = Map.groupBy(pending, (image) => image.region)
  await Promise.all(
    [...byRegion].map(async ([region, images]) => {
      const found = await describeImages(
        context.aws,
        region,
        images.map((image) => image.imageId)
      )
      // An image missing from the answer is new and not listed yet: still pending.
      for (const info of found) context.release.observe(region, info)
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
async function settleUnusable(context: Context, images: readonly ReleaseImage[]): Promise<string> {
  const { release, journal, log } = context
  for (const image of images) release.remove(image.region)
  const ours = images.filter((image) => isFailed(image) && (image.origin === 'built' || image.origin === 'copied'))
  const failures: string[] = []
  if (!context.plan.dryRun) {
    for (const [region, regionImages] of Map.groupBy(ours, (image) => image.region)) {
      failures.push(...(await removeImages(context, region, regionImages, 'removedFailed')))
    }
  }
  for (const image of ours) {
    const removed = journal.removedFailed.get(image.region)
    if (!removed?.imageIds.includes(image.imageId)) continue
    log.warning(
      `Deregistered the failed image ${image.imageId} in ${image.region}${removed.snapshotIds.length ? ` and deleted its snapshots (${removed.snapshotIds.join(', ')})` : ''}: it could never be launched.`
    )
  }
  return [
    ...failedParts(images),
    ...(failures.length > 0 ? [`Removing the failed images did not fully succeed: ${failures.join('; ')}.`] : [])
  ].join(' ')
}

function failedParts(images: readonly ReleaseImage[]): string[] {
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
  return parts
}

function describeList(images: readonly ReleaseImage[]): string {
  return images.map((image) => `${image.imageId} in ${image.region}`).join(', ')
}
