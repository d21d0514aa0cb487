// build: CreateImage from the builder instance, tagged at creation. A name that already exists is
// either this workflow run's own image (a re-run, or a retried call whose reply was lost), which is
// reused, or someone else's, which fails the step unless if-exists is reuse.
import { CreateImageCommand } from '@aws-sdk/client-ec2'
import { StepError } from '../errors.ts'
import { hasCode } from '../aws/errors.ts'
import { createImage, createImageInput, eventually, findOwnImageByName, type ImageInfo, type NewImage } from '../aws/images.ts'
import { madeByRun, mergeTags, PROVENANCE, provenanceTags } from '../provenance.ts'
import { removeImages } from '../removal.ts'
import { isRunsCopy, replaceExisting } from '../replace.ts'
import type { Step } from '../step.ts'

/** Runner and EC2 clocks may disagree; an image this step made is never older than this allows. */
const CLOCK_SKEW_MS = 5 * 60_000

export async function build(step: Step): Promise<void> {
  const { plan, aws, log } = step
  const build = plan.build!
  const region = plan.region
  const image: NewImage = { ...build, tags: mergeTags(plan.tags, plan.provenanceTags ? provenanceTags(step.run) : new Map()) }

  const started = step.now()
  if (build.ifExists === 'replace') {
    // The source region's holder is decided first: this run's own image is adopted, not replaced,
    // and a copy of it in another region is this run's copy.
    const holder = await findOwnImageByName(aws, region, build.name)
    const ownSource = holder && madeByThisRun(step, holder, started) ? holder.imageId : undefined
    // Nothing is removed that the step could not then replace: CreateImage is checked first.
    if (!plan.dryRun && !ownSource) await checkCreateImage(step, image, true)
    await replaceExisting(step, (image, where) => (where === region ? image.imageId === ownSource : isRunsCopy(step, image, ownSource)))
  }

  if (plan.dryRun) {
    await checkCreateImage(step, image)
    log.info(`Dry run: CreateImage of ${build.instanceId} as '${build.name}' in ${region} would be allowed; no image was made.`)
    return
  }

  const existing = await findOwnImageByName(aws, region, build.name)
  if (existing && (await adopt(step, existing, started))) return

  try {
    const imageId = await createImage(aws, region, image)
    log.info(`Creating image ${imageId} '${build.name}' from ${build.instanceId} in ${region}${build.noReboot ? ' (no reboot)' : ''}.`)
    step.release.add({
      region,
      imageId,
      name: build.name,
      description: build.description,
      origin: 'built',
      state: 'pending',
      snapshotIds: []
    })
  } catch (error) {
    // The SDK retried a CreateImage whose first reply was lost: the image exists, made by us. It
    // may not be listed yet, so look for it a little while before giving up.
    if (!hasCode(error, 'InvalidAMIName.Duplicate')) throw error
    if (step.release.replaced.has(region)) return createAfterReplace(step, image)
    const taken = await eventually(
      () => findOwnImageByName(aws, region, build.name),
      (ms) => step.sleep(ms, step.signal)
    )
    if (!taken) {
      throw new StepError(
        `CreateImage in ${region} says the name '${build.name}' is taken, but no image of this account with that name is listed there: ` +
          'it may belong to an image still being registered. Re-run the step in a minute, or choose another name.'
      )
    }
    if (!(await adopt(step, taken, started))) throw error
  }
}

/**
 * CreateImage with DryRun: EC2 checks the permission (API Reference, DryRun). Before a replace the
 * old image still holds the name, so a name refusal there is expected and passes.
 */
async function checkCreateImage(step: Step, image: NewImage, nameTaken = false): Promise<void> {
  try {
    await step.aws.check(step.plan.region, 'CreateImage', `instance ${image.instanceId}`, (client) =>
      client.send(new CreateImageCommand({ ...createImageInput(image), DryRun: true }))
    )
  } catch (error) {
    if (!(nameTaken && hasCode(error, 'InvalidAMIName.Duplicate'))) throw error
  }
}

/**
 * EC2 may hold a just-deregistered image's name for a moment (it lists deregistered images for a
 * while): CreateImage is tried again as the name frees, for about a minute.
 */
async function createAfterReplace(step: Step, image: NewImage): Promise<void> {
  const region = step.plan.region
  const started = step.now()
  const imageId = await eventually(
    () =>
      createImage(step.aws, region, image).catch(async (error: unknown) => {
        if (!hasCode(error, 'InvalidAMIName.Duplicate')) throw error
        // A retried CreateImage whose first reply was lost holds the name itself.
        const holder = await findOwnImageByName(step.aws, region, image.name)
        return holder && madeByThisRun(step, holder, started) ? holder.imageId : undefined
      }),
    (ms) => step.sleep(ms, step.signal)
  )
  if (!imageId)
    throw new StepError(`CreateImage in ${region} still finds the name '${image.name}' taken a minute after the old image was replaced.`)
  step.log.info(`Creating image ${imageId} '${image.name}' from ${image.instanceId} in ${region}, replacing the old one.`)
  step.release.add({
    region,
    imageId,
    name: image.name,
    description: image.description,
    origin: 'built',
    state: 'pending',
    snapshotIds: []
  })
}

/**
 * Whether this workflow run made the image: its provenance tags say so, or — on an image without
 * them (provenance-tags: false) — EC2 says it was made from this same builder instance, either
 * during this step (a retried CreateImage whose reply was lost) or, on a re-run, in an earlier
 * attempt of this run.
 */
function madeByThisRun(step: Step, image: ImageInfo, started: number): boolean {
  // Provenance, where the image has it, is the answer: it names the run that made it.
  if (image.tags.has(PROVENANCE.runId)) return madeByRun(image.tags, step.run)
  if (image.sourceInstanceId !== step.plan.build!.instanceId) return false
  const rerun = Number(step.run.runAttempt) > 1
  return rerun || Date.parse(image.creationDate) >= started - CLOCK_SKEW_MS
}

/**
 * Reuses an image that already carries the name, when that is safe; returns false when the step
 * should make the image itself (the earlier attempt's image failed and was cleaned up).
 */
async function adopt(step: Step, existing: ImageInfo, started: number): Promise<boolean> {
  const { plan, log, release } = step
  const region = plan.region
  const ours = madeByThisRun(step, existing, started)
  const usable = existing.state === 'available' || existing.state === 'pending'
  if (existing.state === 'disabled') {
    // Someone disabled it on purpose; it holds the name but cannot launch anything.
    throw new StepError(
      `An image named '${existing.name}' already exists in ${region}: ${existing.imageId}, and it is disabled. ` +
        'Enable it again (EnableImage) to use it, deregister it to free the name, or build under another name.'
    )
  }
  if (ours && !usable) {
    // An earlier attempt of this run left a failed image; nobody can launch it, so it goes.
    log.warning(
      `Image ${existing.imageId} '${existing.name}' from an earlier attempt of this run is ${existing.state}: deregistering it and its snapshots, then building again.`
    )
    const failures = await removeImages(step, region, [existing], release.removedFailed, true)
    if (failures.length > 0) throw new StepError(`Could not remove the failed image of the earlier attempt: ${failures.join('; ')}`)
    return false
  }
  if (!ours && plan.build!.ifExists !== 'reuse') {
    throw new StepError(
      `An image named '${existing.name}' already exists in ${region}: ${existing.imageId} (${existing.state}), not made by this workflow run. ` +
        'AMI names are unique per region: choose another name (for example with the version or run number in it), or set if-exists: reuse to adopt it.'
    )
  }
  if (!usable) {
    throw new StepError(
      `if-exists: reuse found ${existing.imageId} '${existing.name}' in ${region}, but it is ${existing.state}${existing.stateReason ? ` (${existing.stateReason})` : ''}: it cannot be used.`
    )
  }
  log.info(
    ours
      ? `Reusing ${existing.imageId} '${existing.name}' in ${region}: an earlier attempt of this workflow run made it.`
      : `Reusing the existing image ${existing.imageId} '${existing.name}' in ${region} (if-exists: reuse).`
  )
  release.add({
    region,
    imageId: existing.imageId,
    name: existing.name,
    description: existing.description,
    origin: ours ? 'built' : 'reused',
    state: existing.state,
    snapshotIds: existing.snapshotIds,
    tags: existing.tags,
    encrypted: existing.encrypted
  })
  return true
}
