// build: CreateImage from the builder instance, tagged at creation. A name that already exists is
// either this workflow run's own image (a re-run, or a retried call whose reply was lost), which is
// reused, or someone else's, which fails the step unless if-exists is reuse.
import { CreateImageCommand } from '@aws-sdk/client-ec2'
import { StepError } from '../errors.ts'
import { hasCode } from '../ec2/errors.ts'
import { createImage, createImageInput, deregisterImage, findOwnImageByName, type ImageInfo, type NewImage } from '../ec2/images.ts'
import { madeByRun, mergeTags, provenanceTags } from '../provenance.ts'
import type { Step } from '../step.ts'

export async function build(step: Step): Promise<void> {
  const { plan, ec2, log } = step
  const build = plan.build!
  const region = plan.region
  const image: NewImage = { ...build, tags: mergeTags(plan.tags, plan.provenanceTags ? provenanceTags(step.run) : new Map()) }

  if (plan.dryRun) {
    await ec2.check(region, 'CreateImage', `instance ${build.instanceId}`, (client) =>
      client.send(new CreateImageCommand({ ...createImageInput(image), DryRun: true }))
    )
    log.info(`Dry run: CreateImage of ${build.instanceId} as '${build.name}' in ${region} would be allowed; no image was made.`)
    return
  }

  const existing = await findOwnImageByName(ec2, region, build.name)
  if (existing && (await adopt(step, existing))) return

  try {
    const imageId = await createImage(ec2, region, image)
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
    // The SDK retried a CreateImage whose first reply was lost: the image exists, made by us.
    if (!hasCode(error, 'InvalidAMIName.Duplicate')) throw error
    const taken = await findOwnImageByName(ec2, region, build.name)
    if (!taken || !(await adopt(step, taken))) throw error
  }
}

/**
 * Reuses an image that already carries the name, when that is safe; returns false when the step
 * should make the image itself (the earlier attempt's image failed and was cleaned up).
 */
async function adopt(step: Step, existing: ImageInfo): Promise<boolean> {
  const { plan, log, release } = step
  const region = plan.region
  const ours = madeByRun(existing.tags, step.run)
  const usable = existing.state === 'available' || existing.state === 'pending'
  if (ours && !usable) {
    // An earlier attempt of this run left a failed image; nobody can launch it, so it goes.
    log.warning(
      `Image ${existing.imageId} '${existing.name}' from an earlier attempt of this run is ${existing.state}: deregistering it and its snapshots, then building again.`
    )
    await deregisterImage(step.ec2, region, existing.imageId, true)
    release.recordRemoved(release.removedFailed, region, existing.imageId, existing.snapshotIds)
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
