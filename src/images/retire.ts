// Retiring images, the one way every mode does it: prune's stages (deprecate, disable, deregister),
// a failed image removed, an image replaced. Images go a few at a time per region; each comes back
// as an outcome, in the order given, for the caller to record once.
//
// DeregisterImage with DeleteAssociatedSnapshots deletes what it can, but EC2 judges "another image
// uses this snapshot" as of each request: two images sharing a snapshot, deregistered at the same
// moment, both skip it and it is orphaned. So every snapshot a call did not delete is settled once
// the region's images are gone: deleted if no image uses it any more, kept (saying which image uses
// it) if one does.
import { deprecateImage, deprecationTime, deregisterImage, disableImage } from '../aws/retiring.ts'
import { tagResources, untagResources } from '../aws/new-images.ts'
import { anAttemptWentUnanswered } from '../aws/retry.ts'
import type { Context } from '../context.ts'
import { errorMessage } from '../errors.ts'
import type { Retirement } from '../inputs/index.ts'
import type { Retired } from '../journal.ts'
import { IN_FLIGHT, inPool } from '../pool.ts'
import { DISABLED_AT } from '../tags.ts'
import { settleSnapshots, type Unsettled } from './snapshots.ts'

export interface Removal {
  imageId: string
  name: string
  snapshotIds: readonly string[]
}

/** What retiring the images of one region did, in the order the images were given. */
export interface Retirements {
  retired: Retired
  /** Cut off by a cancel: images EC2 may or may not have retired, snapshots not yet settled. */
  unsettled: Retired
  /** What could not be done, one line each. */
  failures: string[]
}

interface Outcome {
  retired: boolean
  /** Snapshots DeregisterImage reported deleted. */
  deleted: string[]
  /** Snapshots it did not: settled once the region is done. */
  unsettled: Unsettled[]
  cutOff?: boolean
  failure?: string
}

/**
 * Retires the images of one region the way asked (deregister: with their snapshots when
 * `deleteSnapshots`). Once the job is cancelled no further image is started; calls in flight finish
 * and are reported.
 */
export async function retireImages(
  context: Context,
  region: string,
  images: readonly Removal[],
  how: Retirement,
  deleteSnapshots = true
): Promise<Retirements> {
  const { signal } = context
  const outcomes = await inPool(
    images,
    IN_FLIGHT,
    (image) => retireOne(context, region, image, how, deleteSnapshots),
    () => signal.aborted
  )
  const retired = images.filter((_, i) => outcomes[i]?.retired)
  const deleted = new Set(outcomes.flatMap((outcome) => outcome?.deleted ?? []))
  // A snapshot another image's deregistration deleted is settled already.
  const unsettled = outcomes.flatMap((outcome) => outcome?.unsettled ?? []).filter((entry) => !deleted.has(entry.snapshotId))
  const settled =
    unsettled.length > 0 ? await settleSnapshots(context, region, unsettled, new Set(retired.map((image) => image.imageId))) : undefined
  for (const snapshotId of settled?.deleted ?? []) deleted.add(snapshotId)
  // Snapshots in the order of the images that had them, as a dry run lists them; one EC2 reported
  // that the image did not list, last.
  const listed = [...new Set(images.flatMap((image) => image.snapshotIds))]
  const result: Retirements = {
    retired: {
      imageIds: retired.map((image) => image.imageId),
      snapshotIds: [...listed.filter((id) => deleted.has(id)), ...[...deleted].filter((id) => !listed.includes(id))]
    },
    unsettled: {
      imageIds: images.filter((_, i) => outcomes[i]?.cutOff).map((image) => image.imageId),
      snapshotIds: settled?.left ?? []
    },
    failures: [...outcomes.flatMap((outcome) => (outcome?.failure !== undefined ? [outcome.failure] : [])), ...(settled?.failures ?? [])]
  }
  return result
}

async function retireOne(context: Context, region: string, image: Removal, how: Retirement, deleteSnapshots: boolean): Promise<Outcome> {
  const { signal, log } = context
  let tagged = false
  try {
    if (how === 'deregister') return await deregister(context, region, image, deleteSnapshots)
    if (how === 'disable') {
      // The tag goes first: an image disabled without it (a cancel or a failed CreateTags in
      // between) would have its grace period counted from its creation by the next stage. On
      // an image that stays enabled the tag means nothing: only disabled images read it.
      const marker = new Map([[DISABLED_AT, new Date(context.clock.now()).toISOString()]])
      await tagResources(context.aws, region, [image.imageId], marker)
      tagged = true
      await disableImage(context.aws, region, image.imageId).catch((error: unknown) =>
        untagRefused(context, region, image.imageId, marker, error)
      )
      log.info(`Disabled ${image.imageId} '${image.name}' in ${region}: it launches no instance until EnableImage.`)
    } else {
      // EC2 refuses a deprecation time in the past and keeps it to the minute: the next whole
      // minute at least a minute away is the soonest "now" it accepts.
      const at = deprecationTime(context.clock.now(), 60_000)
      await deprecateImage(context.aws, region, image.imageId, at)
      log.info(`Deprecated ${image.imageId} '${image.name}' in ${region} as of ${at.toISOString()}.`)
    }
    return { retired: true, deleted: [], unsettled: [] }
  } catch (error) {
    // One image failing (it became protected or in use meanwhile) does not stop the others.
    const where = `${image.imageId} '${image.name}' in ${region}`
    // Tagged, then cancelled before DisableImage went out: a marker without its change, reported.
    if (signal.aborted && tagged && error === signal.reason) {
      const failure = `${where}: tagged ${DISABLED_AT}, then the job was cancelled before DisableImage was sent: the image is still enabled; delete the tag`
      return { retired: false, deleted: [], unsettled: [], cutOff: true, failure }
    }
    // Refused before sending because the job was cancelled: not a failure of this image.
    if (signal.aborted && error === signal.reason) return { retired: false, deleted: [], unsettled: [] }
    if (signal.aborted) {
      // Cut off by the cancel (no retry): EC2 may have done it. Reported, never guessed.
      const failure =
        how === 'deregister'
          ? `${where}: the job was cancelled before EC2 answered (${errorMessage(error)})`
          : `${where}: the job was cancelled before EC2 answered: ${errorMessage(error)}`
      return { retired: false, deleted: [], unsettled: [], cutOff: true, failure }
    }
    return { retired: false, deleted: [], unsettled: [], failure: `${where}: ${errorMessage(error)}` }
  }
}

/**
 * EC2 refused DisableImage (a cancel, or an attempt EC2 did not answer, aside: those leave it unknown): the image stays enabled, and
 * its disabled-at tag would mark a change that never happened — a later only-disabled stage would
 * trust it once someone disabled the image by hand. The tag is taken off again (only where it still
 * has the value written), and the failure says whether that worked.
 */
async function untagRefused(
  context: Context,
  region: string,
  imageId: string,
  marker: Map<string, string>,
  error: unknown
): Promise<never> {
  if (context.signal.aborted) throw error
  // An attempt that got no refusing answer (a 5xx, a timeout) may have disabled it, which EC2 may
  // not show yet: the tag stays, right if it did, and the failure says so.
  if (anAttemptWentUnanswered(error))
    throw new Error(
      `${errorMessage(error)} (EC2 may have disabled it all the same: its ${DISABLED_AT} tag stays, right if it did; look at the image)`,
      {
        cause: error
      }
    )
  const undone = await untagResources(context.aws, region, [imageId], marker).then(
    () => ` (its ${DISABLED_AT} tag was removed again)`,
    (untag: unknown) =>
      ` — and its ${DISABLED_AT} tag could not be removed (${errorMessage(untag)}): delete it, or a later only-disabled stage may take the image once it is disabled by hand`
  )
  throw new Error(`${errorMessage(error)}${undone}`, { cause: error })
}

async function deregister(context: Context, region: string, image: Removal, deleteSnapshots: boolean): Promise<Outcome> {
  const outcomes = await deregisterImage(context.aws, region, image.imageId, deleteSnapshots)
  const deleted = outcomes?.filter((outcome) => outcome.code === 'success').map((outcome) => outcome.snapshotId) ?? []
  context.log.info(`Deregistered ${image.imageId} '${image.name}' in ${region}${deleted.length ? ` with ${deleted.join(', ')}` : ''}.`)
  if (!deleteSnapshots) return { retired: true, deleted, unsettled: [] }
  // skipped (another image used it at that moment), internal-error, client-error,
  // missing-permissions, or no report at all: settled later, where a refusal gets EC2's own error
  // message rather than a bare return code.
  const reported = new Map((outcomes ?? []).map((outcome) => [outcome.snapshotId, outcome.code]))
  const unsettled: Unsettled[] = []
  for (const snapshotId of image.snapshotIds) {
    if (reported.get(snapshotId) === 'success') continue
    unsettled.push({ imageId: image.imageId, snapshotId })
    const code = reported.get(snapshotId)
    if (code !== undefined)
      context.log.debug(`DeregisterImage ${image.imageId}: snapshot ${snapshotId} ${code}; settled once the region is done.`)
  }
  return { retired: true, deleted, unsettled }
}

/**
 * Deregisters images with their snapshots and records them, once, as `kind`: a failed image this
 * run made, or one that if-exists: replace removes. Returns what could not be done.
 */
export async function removeImages(
  context: Context,
  region: string,
  images: readonly Removal[],
  kind: 'removedFailed' | 'replaced'
): Promise<string[]> {
  const result = await retireImages(context, region, images, 'deregister', true)
  context.journal.record(kind, region, result.retired)
  context.journal.record('unsettled', region, result.unsettled)
  return result.failures
}
