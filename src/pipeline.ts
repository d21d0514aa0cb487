// Runs the modes the step asked for in the one order that is correct whatever order they were
// written in: an image must exist before it is copied, be available before it is tagged, and the
// new release must be available everywhere before prune retires an old one. Each mode gets its own
// plan, which exists exactly when the step runs that mode.
import { describeImages, type ImageInfo } from './aws/images.ts'
import { lookAgain, type Context } from './context.ts'
import { StepError } from './errors.ts'
import { waitForImages } from './images/waiter.ts'
import type { Plan } from './inputs/index.ts'
import { build } from './modes/build/build.ts'
import { copy } from './modes/copy.ts'
import { prune } from './modes/prune/prune.ts'
import { publish } from './modes/publish/publish.ts'
import { tag } from './modes/tag/tag.ts'
import { wait } from './modes/wait.ts'
import { checkRegions } from './regions.ts'

export async function runPipeline(context: Context, plan: Plan): Promise<void> {
  // The modes' dry-run branches trust the AWS layer to send only DryRun checks: the two must agree.
  if (context.aws.dryRun !== plan.dryRun) throw new Error(`dry-run is ${plan.dryRun} but the AWS layer's dry run is ${context.aws.dryRun}`)
  const { log } = context
  await checkRegions(context, plan)
  await loadGivenImages(context, plan.givenImages)
  const { build: building, copy: copying, tag: tagging, publish: publishing, prune: pruning } = plan
  if (building) await log.group(`build: ${building.name} in ${plan.region}`, () => build(context, building, copying))
  if (copying) await log.group(`copy: to ${copying.regions.join(', ')}`, () => copy(context, copying))
  if (plan.modes.has('wait')) await log.group('wait: until every image is available', () => wait(context))
  if (tagging) await log.group('tag', () => tag(context, tagging))
  if (publishing) await log.group('publish', () => publish(context, publishing))
  if (pruning) {
    // Never retire the old release before the new one exists.
    if (!plan.dryRun && context.release.all().length > 0)
      await log.group('prune: waiting for this release first', () => waitForImages(context, context.release.all()))
    // prune makes its own groups: one per region for its plan.
    await prune(context, pruning)
  }
}

/**
 * Describes the images given as inputs (one call per region); a missing one fails before any
 * change, in seconds. An image an earlier step made moments ago may not be listed yet, so a region
 * whose images are not all there is asked again for a few seconds first (the `given` schedule).
 */
async function loadGivenImages(context: Context, givenImages: ReadonlyMap<string, string>): Promise<void> {
  const byRegion = Map.groupBy(givenImages, ([region]) => region)
  await Promise.all(
    [...byRegion].map(async ([region, entries]) => {
      const ids = entries.map(([, id]) => id)
      let found: ImageInfo[] = []
      await lookAgain(
        context,
        'given',
        async () => {
          found = await describeImages(context.aws, region, ids)
          return ids.every((id) => found.some((image) => image.imageId === id)) ? found : undefined
        },
        `${ids.join(', ')} in ${region} (an image made moments ago is listed within seconds)`
      )
      for (const id of ids) {
        const info = found.find((image) => image.imageId === id)
        if (!info) {
          throw new StepError(
            `The image ${id} is not visible in ${region}: check image-id / image-ids and the region, and that these credentials may describe it.`
          )
        }
        context.release.adopt(region, info, 'given')
      }
    })
  )
}
