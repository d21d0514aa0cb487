// if-exists: replace — Packer's force_deregister plus force_delete_snapshot, made safe: before build
// makes its image, the same-named image in every region the step writes to (the source region, and
// each copy's region) is deregistered with its snapshots, after the same checks as prune. One in
// use, protected or still being made refuses the whole step before anything changes, naming it and
// its users; so does a removal EC2 would not allow in any region (checked with DryRun first).
import type { ImageInfo } from '../../aws/images.ts'
import { findOwnImageByName } from '../../aws/images.ts'
import { checkRemoval } from '../../aws/retiring.ts'
import { findUsers } from '../../images/in-use.ts'
import type { Context } from '../../context.ts'
import { StepError } from '../../errors.ts'
import { removeImages } from '../../images/retire.ts'
import { madeByRun, PROVENANCE } from '../../tags.ts'

interface Holder {
  region: string
  image: ImageInfo
  /** Accounts, organizations and OUs it is shared with. */
  shared: string[]
}

/**
 * Replaces the image named `name` in each of `regions`. `isOurs` says whether a name holder is this
 * workflow run's own image (a re-run), which build and copy adopt instead; only the others go.
 */
export async function replaceExisting(
  context: Context,
  name: string,
  regions: readonly string[],
  isOurs: (image: ImageInfo, region: string) => boolean
): Promise<void> {
  const { aws, log, journal } = context
  const found = await Promise.all(regions.map(async (region) => ({ region, image: await findOwnImageByName(aws, region, name) })))
  const others = found.filter(
    (entry): entry is { region: string; image: ImageInfo } => entry.image !== undefined && !isOurs(entry.image, entry.region)
  )
  if (others.length === 0) return

  const holders = await checkHolders(context, name, others)
  // A region that would refuse the removal refuses it before any region's image is gone.
  for (const { region, image } of holders) await checkRemoval(aws, region, image.imageId, image.snapshotIds[0], true)
  for (const { region, image, shared } of holders) {
    if (shared.length === 0) continue
    // What the other accounts launch from it cannot be seen from here: they are told, not asked.
    log.warning(
      `${image.imageId} '${name}' in ${region} is shared with ${shared.join(', ')}: once it is replaced they can no longer launch it, ` +
        'only the new image, if this step shares it with them (share-accounts and the like).'
    )
  }
  if (context.plan.dryRun) {
    for (const { region, image } of holders)
      journal.record('replaced', region, { imageIds: [image.imageId], snapshotIds: image.snapshotIds })
    log.info(
      `Dry run: would replace ${holders.map(({ region, image }) => `${image.imageId} in ${region}`).join(', ')} (if-exists: replace).`
    )
    return
  }
  const failures = (
    await Promise.all(
      holders.map(({ region, image }) => {
        log.info(`Replacing ${image.imageId} '${name}' in ${region} (if-exists: replace): deregistering it and its snapshots first.`)
        return removeImages(context, region, [image], 'replaced')
      })
    )
  ).flat()
  context.signal.throwIfAborted()
  if (failures.length > 0) throw new StepError(`if-exists: replace could not remove every image named '${name}': ${failures.join('; ')}`)
}

/** Refuses, naming each, a holder that is being made, protected or in use; says whom each is shared with. */
async function checkHolders(context: Context, name: string, others: readonly { region: string; image: ImageInfo }[]): Promise<Holder[]> {
  const refusals: string[] = []
  const holders = await Promise.all(
    others.map(async ({ region, image }): Promise<Holder> => {
      const where = `${image.imageId} in ${region}`
      // Another run may be making it right now: removing it would break that run, not replace a release.
      if (image.state === 'pending') refusals.push(`${where} is still being made (pending)`)
      if (image.protected) refusals.push(`${where} has deregistration protection on`)
      // The same checks as prune's, other accounts included.
      const use = await findUsers(context, region, [image], { otherAccounts: true })
      for (const warning of use.warnings) context.log.warning(warning)
      const users = use.users.get(image.imageId)
      const kept = use.kept.get(image.imageId)
      if (users) refusals.push(`${where} is in use by ${users.join(', ')}`)
      // Fail closed, as prune does: a kind of use that could not be checked may be using it.
      else if (kept !== undefined) refusals.push(`${where} is not shown unused: ${kept}`)
      return { region, image, shared: use.sharedWith.get(image.imageId) ?? [] }
    })
  )
  if (refusals.length > 0) {
    throw new StepError(
      `if-exists: replace refused: an image named '${name}' cannot be replaced — ${refusals.sort().join('; ')}. Nothing was changed. ` +
        'Point its users at another image (or turn protection off, or let the other run finish) first, or build under another name.'
    )
  }
  return holders
}

/** A copy's name holder is this run's when its provenance says so, or it is a copy of the source this run adopted. */
export function isRunsCopy(context: Context, image: ImageInfo, sourceImageId: string | undefined): boolean {
  if (image.tags.has(PROVENANCE.runId)) return madeByRun(image.tags, context.run)
  return sourceImageId !== undefined && (image.sourceImageId ?? image.tags.get(PROVENANCE.sourceImage)) === sourceImageId
}
