// if-exists: replace — Packer's force_deregister plus force_delete_snapshot, made safe: before build
// makes its image, the same-named image in every region the step writes to (the source region, and
// each copy's region) is deregistered with its snapshots, after the same checks as prune. One in
// use or protected refuses the whole step before anything changes, naming it and its users.
import { DeregisterImageCommand } from '@aws-sdk/client-ec2'
import { StepError } from './errors.ts'
import { findOwnImageByName, type ImageInfo } from './aws/images.ts'
import { findUsage } from './aws/usage.ts'
import { madeByRun, PROVENANCE } from './provenance.ts'
import { removeImages } from './removal.ts'
import type { Step } from './step.ts'

/**
 * `isOurs` says whether a name holder is this workflow run's own image (a re-run), which build and
 * copy adopt instead; only the others are replaced.
 */
export async function replaceExisting(step: Step, isOurs: (image: ImageInfo, region: string) => boolean): Promise<void> {
  const { plan } = step
  const name = plan.build!.name
  const regions = [...new Set([plan.region, ...(plan.modes.has('copy') ? plan.copy!.regions : [])])]
  const found = await Promise.all(regions.map(async (region) => ({ region, image: await findOwnImageByName(step.aws, region, name) })))
  const holders = found.filter(
    (entry): entry is { region: string; image: ImageInfo } => entry.image !== undefined && !isOurs(entry.image, entry.region)
  )
  if (holders.length === 0) return

  const refusals: string[] = []
  await Promise.all(
    holders.map(async ({ region, image }) => {
      if (image.protected) refusals.push(`${image.imageId} in ${region} has deregistration protection on`)
      const users = (await findUsage(step.aws, region, [image.imageId])).users.get(image.imageId)
      if (users) refusals.push(`${image.imageId} in ${region} is in use by ${users.join(', ')}`)
    })
  )
  if (refusals.length > 0) {
    throw new StepError(
      `if-exists: replace refused: an image named '${name}' cannot be replaced — ${refusals.sort().join('; ')}. Nothing was changed. ` +
        'Point its users at another image (or turn protection off) first, or build under another name.'
    )
  }
  if (plan.dryRun) {
    for (const { region, image } of holders) {
      await step.aws.check(region, 'DeregisterImage', `image ${image.imageId}`, (client) =>
        client.send(new DeregisterImageCommand({ ImageId: image.imageId, DeleteAssociatedSnapshots: true, DryRun: true }))
      )
      step.release.recordRemoved(step.release.replaced, region, image.imageId, image.snapshotIds)
    }
    step.log.info(
      `Dry run: would replace ${holders.map(({ region, image }) => `${image.imageId} in ${region}`).join(', ')} (if-exists: replace).`
    )
    return
  }
  const failures = (
    await Promise.all(
      holders.map(({ region, image }) => {
        step.log.info(`Replacing ${image.imageId} '${name}' in ${region} (if-exists: replace): deregistering it and its snapshots first.`)
        return removeImages(step, region, [image], step.release.replaced, true)
      })
    )
  ).flat()
  step.signal.throwIfAborted()
  if (failures.length > 0) throw new StepError(`if-exists: replace could not remove every image named '${name}': ${failures.join('; ')}`)
}

/** A copy's name holder is this run's when its provenance says so, or it is a copy of the source this run adopted. */
export function isRunsCopy(step: Step, image: ImageInfo, sourceImageId: string | undefined): boolean {
  if (image.tags.has(PROVENANCE.runId)) return madeByRun(image.tags, step.run)
  return sourceImageId !== undefined && (image.sourceImageId ?? image.tags.get(PROVENANCE.sourceImage)) === sourceImageId
}
