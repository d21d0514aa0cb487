// The stages of retirement that keep the image: DisableImage (no launches, snapshots kept; the owner
// can EnableImage it again) and deprecation from now (still launchable by id, hidden from listings). Run a few images at a
// time per region, like removal, and stopped the same way by a cancel.
import { errorMessage } from '../errors.ts'
import { deprecateImage } from '../aws/distribution.ts'
import { disableImage, tagResources } from '../aws/images.ts'
import { deprecationTime } from '../distribution.ts'
import type { Retirement } from '../inputs.ts'
import type { Step } from '../step.ts'
import { DISABLED_AT } from './plan.ts'

const CONCURRENCY = 4

/** Disables or deprecates the images of one region, recording each in `release.pruned`; returns what failed. */
export async function stageImages(
  step: Step,
  region: string,
  images: readonly { imageId: string; name: string }[],
  how: Exclude<Retirement, 'deregister'>
): Promise<string[]> {
  const { release, log } = step
  const queue = [...images]
  const failures: string[] = []
  const worker = async (): Promise<void> => {
    for (let image = queue.shift(); image && !step.signal.aborted; image = queue.shift()) {
      try {
        if (how === 'disable') {
          // The tag goes first: an image disabled without it (a cancel or a failed CreateTags in
          // between) would have its grace period counted from its creation by the next stage. On
          // an image that stays enabled the tag means nothing: only disabled images read it.
          await tagResources(step.aws, region, [image.imageId], new Map([[DISABLED_AT, new Date(step.now()).toISOString()]]))
          await disableImage(step.aws, region, image.imageId)
          release.recordRemoved(release.pruned, region, image.imageId, [])
          log.info(`Disabled ${image.imageId} '${image.name}' in ${region}: it launches no instance until EnableImage.`)
        } else {
          // EC2 refuses a deprecation time in the past and keeps it to the minute: the next whole
          // minute at least a minute away is the soonest "now" it accepts.
          const at = deprecationTime(step.now(), 60_000)
          await deprecateImage(step.aws, region, image.imageId, at)
          release.recordRemoved(release.pruned, region, image.imageId, [])
          log.info(`Deprecated ${image.imageId} '${image.name}' in ${region} as of ${at.toISOString()}.`)
        }
      } catch (error) {
        if (step.signal.aborted && error === step.signal.reason) return
        if (step.signal.aborted) release.recordRemoved(release.unsettled, region, image.imageId, [])
        const cut = step.signal.aborted ? 'the job was cancelled before EC2 answered: ' : ''
        failures.push(`${image.imageId} '${image.name}' in ${region}: ${cut}${errorMessage(error)}`)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, images.length) }, worker))
  return failures
}
