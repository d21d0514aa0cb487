// build: CreateImage from the builder instance, tagged at creation. A name that already exists is
// either this workflow run's own image (a re-run, or a retried call whose reply was lost), which is
// reused, or someone else's, which fails the step unless if-exists is reuse (or replace: see
// replace.ts).
import { hasCode } from '../../aws/errors.ts'
import { anAttemptWentUnanswered } from '../../aws/retry.ts'
import { findOwnImageByName, type ImageInfo } from '../../aws/images.ts'
import { checkCreateImage, createImage, type NewImage } from '../../aws/new-images.ts'
import { lookAgain, type Context } from '../../context.ts'
import { StepError } from '../../errors.ts'
import { removeImages } from '../../images/retire.ts'
import { CLOCK_SKEW_MS } from '../../limits.ts'
import type { BuildPlan, CopyPlan } from '../../inputs/index.ts'
import { madeByRun, mergeTags, PROVENANCE, provenanceTags } from '../../tags.ts'
import { isRunsCopy, replaceExisting } from './replace.ts'

/** `copy` is the step's copy plan, if it copies: if-exists: replace covers the copies' regions too. */
export async function build(context: Context, build: BuildPlan, copy?: CopyPlan): Promise<void> {
  const { plan, aws, log } = context
  const region = plan.region
  const image: NewImage = { ...build, tags: mergeTags(plan.tags, plan.provenanceTags ? provenanceTags(context.run) : new Map()) }
  const ours = (holder: ImageInfo): boolean => madeByThisRun(context, build, holder) === 'yes'

  if (build.ifExists === 'replace') {
    // The source region's holder is decided first: this run's own image is adopted, not replaced,
    // and a copy of it in another region is this run's copy.
    const holder = await findOwnImageByName(aws, region, build.name)
    // An image that may be an earlier attempt's is never replaced: the step cannot tell, and says so.
    if (holder && madeByThisRun(context, build, holder) === 'unknown') throw cannotTell(holder, region)
    const ownSource = holder && ours(holder) ? holder.imageId : undefined
    // Nothing is removed that the step could not then replace: CreateImage is checked first.
    if (!plan.dryRun && !ownSource) await checkCreateImage(aws, region, image, true)
    const regions = [...new Set([region, ...(copy?.regions ?? [])])]
    await replaceExisting(context, build.name, regions, (found, where) =>
      where === region ? found.imageId === ownSource : isRunsCopy(context, found, ownSource)
    )
  }

  if (plan.dryRun) {
    // The name a replace would free is still taken in a dry run: a name refusal then is expected.
    await checkCreateImage(aws, region, image, context.journal.replaced.has(region))
    log.info(`Dry run: CreateImage of ${build.instanceId} as '${build.name}' in ${region} would be allowed; no image was made.`)
    return
  }

  // Right after a replace EC2 may still list the image it removed (eventual consistency): not a holder.
  const listed = await findOwnImageByName(aws, region, build.name)
  const existing = listed && !context.journal.replaced.get(region)?.imageIds.includes(listed.imageId) ? listed : undefined
  if (existing && (await adopt(context, build, existing, madeByThisRun(context, build, existing)))) return

  const sentAt = context.clock.now()
  try {
    const imageId = await createImage(aws, region, image)
    log.info(`Creating image ${imageId} '${build.name}' from ${build.instanceId} in ${region}${build.noReboot ? ' (no reboot)' : ''}.`)
    addBuilt(context, imageId, image)
  } catch (error) {
    // The SDK retried a CreateImage whose first reply was lost: the image exists, made by us. It
    // may not be listed yet, so look for it a little while before giving up.
    if (!hasCode(error, 'InvalidAMIName.Duplicate')) throw error
    if (context.journal.replaced.has(region)) return createAfterReplace(context, build, image)
    const taken = await lookAgain(
      context,
      'visibility',
      () => findOwnImageByName(aws, region, build.name),
      `the image EC2 says holds the name '${build.name}' in ${region}`
    )
    if (!taken) {
      throw new StepError(
        `CreateImage in ${region} says the name '${build.name}' is taken, but no image of this account with that name is listed there: ` +
          'it may belong to an image still being registered. Re-run the step in a minute, or choose another name.'
      )
    }
    const lost = anAttemptWentUnanswered(error) ? sentAt : undefined
    if (!(await adopt(context, build, taken, madeByThisRun(context, build, taken, lost)))) throw error
  }
}

function addBuilt(context: Context, imageId: string, image: NewImage): void {
  context.release.add({
    region: context.plan.region,
    imageId,
    name: image.name,
    description: image.description,
    origin: 'built',
    state: 'pending',
    snapshotIds: []
  })
}

/**
 * EC2 may hold a just-deregistered image's name for a moment (it lists deregistered images for a
 * while): CreateImage is tried again as the name frees, for about a minute.
 */
async function createAfterReplace(context: Context, build: BuildPlan, image: NewImage): Promise<void> {
  const region = context.plan.region
  const imageId = await lookAgain(
    context,
    'visibility',
    () => {
      const sentAt = context.clock.now()
      return createImage(context.aws, region, image).catch(async (error: unknown) => {
        if (!hasCode(error, 'InvalidAMIName.Duplicate')) throw error
        // A retried CreateImage whose first reply was lost holds the name itself.
        const holder = await findOwnImageByName(context.aws, region, image.name)
        const lost = anAttemptWentUnanswered(error) ? sentAt : undefined
        return holder && madeByThisRun(context, build, holder, lost) === 'yes' ? holder.imageId : undefined
      })
    },
    `EC2 to free the name '${image.name}' in ${region} after the replace`
  )
  if (!imageId)
    throw new StepError(`CreateImage in ${region} still finds the name '${image.name}' taken a minute after the old image was replaced.`)
  context.log.info(`Creating image ${imageId} '${image.name}' from ${image.instanceId} in ${region}, replacing the old one.`)
  addBuilt(context, imageId, image)
}

/**
 * Whether this workflow run made the image. Its provenance tags, where it has them, name the run
 * that made it. Without them (provenance-tags: false) EC2 records only the builder instance and the
 * creation time (SourceInstanceId, CreationDate). Only one case then tells: our own CreateImage had
 * an attempt that went unanswered (`lostCallAt`, when it was sent) and the name's holder is an image
 * of this builder made since — the image that attempt made. Any other image of the builder was
 * there before our call, and may be an earlier attempt's or another run's on the same long-lived
 * builder, however recent: 'unknown' on a re-run, never taken; on a first attempt, not this run's.
 */
function madeByThisRun(context: Context, build: BuildPlan, image: ImageInfo, lostCallAt?: number): 'yes' | 'no' | 'unknown' {
  if (image.tags.has(PROVENANCE.runId)) return madeByRun(image.tags, context.run) ? 'yes' : 'no'
  if (image.sourceInstanceId !== build.instanceId) return 'no'
  if (lostCallAt !== undefined && Date.parse(image.creationDate) >= lostCallAt - CLOCK_SKEW_MS) return 'yes'
  return Number(context.run.runAttempt) > 1 ? 'unknown' : 'no'
}

/** An image of this builder, without provenance tags, made before the step: this run's or another's. */
function cannotTell(existing: ImageInfo, region: string): StepError {
  return new StepError(
    `An image named '${existing.name}' already exists in ${region}: ${existing.imageId} (${existing.state}), made from this builder instance at ${existing.creationDate}, ` +
      'before this step. It has no provenance tags (provenance-tags: false), so the step cannot tell whether an earlier attempt of this workflow run made it or another run did. ' +
      'Set if-exists: reuse to adopt it, deregister it, or build with provenance-tags: true (the default), which tells them apart.'
  )
}

/**
 * Reuses an image that already carries the name, when that is safe; returns false when the step
 * should make the image itself (the earlier attempt's image failed and was cleaned up).
 */
async function adopt(context: Context, build: BuildPlan, existing: ImageInfo, madeHere: 'yes' | 'no' | 'unknown'): Promise<boolean> {
  const { log, release } = context
  const region = context.plan.region
  const ours = madeHere === 'yes'
  if (madeHere === 'unknown' && build.ifExists !== 'reuse') throw cannotTell(existing, region)
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
    const failures = await removeImages(context, region, [existing], 'removedFailed')
    if (failures.length > 0) throw new StepError(`Could not remove the failed image of the earlier attempt: ${failures.join('; ')}`)
    return false
  }
  if (!ours && build.ifExists !== 'reuse') {
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
  release.adopt(region, existing, ours ? 'built' : 'reused')
  return true
}
