// Runs the modes the step asked for in the one order that is correct whatever order they were
// written in: an image must exist before it is copied, be available before it is tagged, and the
// new release must be available everywhere before prune retires an old one.
import { StepError } from './errors.ts'
import { describeImages, eventually, type ImageInfo } from './aws/images.ts'
import type { Mode } from './inputs.ts'
import type { Step } from './step.ts'
import { build } from './modes/build.ts'
import { copy } from './modes/copy.ts'
import { prune } from './modes/prune.ts'
import { publish } from './modes/publish.ts'
import { tag } from './modes/tag.ts'
import { wait, waitForImages } from './modes/wait.ts'

const ORDER: readonly [Mode, (step: Step) => Promise<void>][] = [
  ['build', build],
  ['copy', copy],
  ['wait', wait],
  ['tag', tag],
  ['publish', publish],
  [
    'prune',
    async (step) => {
      // Never retire the old release before the new one exists.
      if (!step.plan.dryRun) await waitForImages(step, step.release.all())
      await prune(step)
    }
  ]
]

export async function runPipeline(step: Step): Promise<void> {
  await loadGivenImages(step)
  for (const [mode, runMode] of ORDER) {
    if (step.plan.modes.has(mode)) await runMode(step)
  }
}

/**
 * Describes the images given as inputs (one call per region); a missing one fails before any
 * change. An image an earlier step made moments ago may not be listed yet, so a region whose
 * images are not all there is asked again for a few seconds first.
 */
async function loadGivenImages(step: Step): Promise<void> {
  const byRegion = Map.groupBy(step.plan.givenImages, ([region]) => region)
  await Promise.all(
    [...byRegion].map(async ([region, entries]) => {
      const ids = entries.map(([, id]) => id)
      let found: ImageInfo[] = []
      await eventually(
        async () => {
          found = await describeImages(step.aws, region, ids)
          return ids.every((id) => found.some((image) => image.imageId === id)) ? found : undefined
        },
        (ms) => step.sleep(ms, step.signal)
      )
      for (const id of ids) {
        const info = found.find((image) => image.imageId === id)
        if (!info) {
          throw new StepError(
            `The image ${id} is not visible in ${region}: check image-id / image-ids and the region, and that these credentials may describe it.`
          )
        }
        step.release.add({
          region,
          imageId: id,
          name: info.name,
          description: info.description,
          origin: 'given',
          state: info.state,
          snapshotIds: info.snapshotIds,
          tags: info.tags,
          encrypted: info.encrypted
        })
      }
    })
  )
}
