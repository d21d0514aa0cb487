// copy: CopyImage of the source to every destination region at once, once the source is available
// (EC2 refuses to copy a pending image). A copy this run already made — an earlier attempt's, or one
// whose reply was lost — is found by name and adopted; otherwise CopyImage is sent with a
// ClientToken for this attempt, so the SDK's own retries of one request can never make two copies.
import { createHash } from 'node:crypto'
import { hasCode } from '../../aws/errors.ts'
import type { TargetAccount } from '../../accounts.ts'
import { findOwnImageByName, ownsImage, type ImageInfo } from '../../aws/images.ts'
import { copyImage, type ImageCopy } from '../../aws/new-images.ts'
import { lookAgain, type Context } from '../../context.ts'
import { StepError, errorMessage } from '../../errors.ts'
import { removeImages } from '../../images/retire.ts'
import { waitForImages } from '../../images/waiter.ts'
import type { CopyPlan, Encryption, SharePlan } from '../../inputs/index.ts'
import { MAX_TAGS } from '../../limits.ts'
import type { ReleaseImage } from '../../release.ts'
import type { Run } from '../../run.ts'
import { mergeTags, PROVENANCE, provenanceTags } from '../../tags.ts'
import type { SnapshotFacts } from '../../aws/snapshots.ts'
import { checkAccountCopies, checkSource, copyToAccounts } from './accounts.ts'

export async function copy(
  context: Context,
  copy: CopyPlan,
  accounts: readonly TargetAccount[] = [],
  sharing?: SharePlan | undefined
): Promise<void> {
  const { plan, release, log } = context
  const source = release.source
  if (!source) {
    log.info('Dry run: no source image was made, so there is nothing to check a copy against.')
    return
  }
  // The other way round: an image another account shared with this one is copied as this
  // account's own, in its own region too.
  const foreign = source.origin === 'given' && !(await ownsImage(context.aws, source.region, source.imageId))
  if (foreign && accounts.length > 0)
    throw new StepError(
      `${source.imageId} belongs to another account: only this account's own images can be given to target-accounts. Copy it into this account first (a step without target-accounts), then give that copy.`
    )
  if (foreign) log.info(`${source.imageId} belongs to another account: this account gets a copy of its own in ${source.region} too.`)
  let destinations = copy.regions.filter((region) => region !== plan.region)
  if (destinations.length < copy.regions.length && !foreign) {
    log.notice(`regions lists the source region ${plan.region}: the source image is already there, so it is not copied to it.`)
  }
  if (foreign) destinations = [source.region, ...destinations]
  if (destinations.length === 0 && accounts.length === 0) return
  if (plan.dryRun) {
    await checkCopies(context, copy, source, destinations)
    if (accounts.length > 0) await checkAccountCopies(context, source, accounts)
    return
  }

  await waitForImages(context, [source])
  // The source's tags are final now; a copy that would carry too many fails before any is made.
  copyTags(context, source)
  // What no other account could copy fails before anything is copied anywhere.
  const snapshots = accounts.length > 0 ? await checkSource(context, source, accounts) : new Map<string, SnapshotFacts>()
  const [own, others] = await Promise.allSettled([
    copyRegions(context, copy, source, destinations, foreign),
    copyToAccounts(context, copy, source, accounts, snapshots, sharing)
  ])
  const failures = [own, others].flatMap((outcome) => (outcome.status === 'rejected' ? [errorMessage(outcome.reason)] : []))
  if (failures.length > 0) throw new StepError(failures.join(' '))
}

/** The step's own account's copies, every destination at once. */
async function copyRegions(
  context: Context,
  copy: CopyPlan,
  source: ReleaseImage,
  destinations: readonly string[],
  foreign: boolean
): Promise<void> {
  const { release } = context
  const results = await Promise.allSettled(
    destinations.map((region) =>
      copyTo(context, copy, source, region, copy.encryption.get(region) ?? { encrypted: foreign && source.encrypted === true })
    )
  )
  const failures = results.flatMap((result, index) =>
    result.status === 'rejected' ? [`${destinations[index]}: ${errorMessage(result.reason)}`] : []
  )
  if (failures.length > 0) {
    const made = release.all().filter((image) => image.origin === 'copied')
    throw new StepError(
      `Copying ${source.imageId} failed for ${failures.length} of ${destinations.length} regions — ${failures.join('; ')}` +
        (foreign ? `. ${FOREIGN_HINT}` : '') +
        (made.length ? `. Copies made: ${made.map((image) => `${image.imageId} in ${image.region}`).join(', ')}` : '')
    )
  }
}

const FOREIGN_HINT =
  "To copy another account's image, its owner must give this account launch permission on it and createVolumePermission on its snapshots (share-accounts with share-snapshots: true), and, if it is encrypted, the use of its customer managed key"

export async function copyTo(
  context: Context,
  copy: CopyPlan,
  source: ReleaseImage,
  region: string,
  encryption: Encryption
): Promise<void> {
  const request = copyRequest(context, copy, source, region, encryption)
  // Right after a replace EC2 may still list the image it removed (eventual consistency): not a holder.
  const listed = await findOwnImageByName(context.aws, region, request.name)
  const existing = listed && !context.journal.replaced.get(region)?.imageIds.includes(listed.imageId) ? listed : undefined
  let imageId = existing ? await adoptableCopy(context, source, region, existing) : undefined
  if (imageId === undefined) {
    try {
      imageId = await copyImage(context.aws, region, request)
    } catch (error) {
      // The name is taken, or this attempt's token was used with other parameters (an earlier step
      // of this job copied with other tags): either way a copy may exist that EC2 does not list
      // yet. Ours is adopted; anyone else's image is a conflict the user must resolve.
      if (!hasCode(error, 'InvalidAMIName.Duplicate', 'IdempotentParameterMismatch')) throw error
      imageId = await adoptAfterRefusal(context, source, region, request)
    }
  }
  context.release.add({
    region,
    imageId,
    name: request.name,
    description: request.description,
    origin: 'copied',
    state: existing?.imageId === imageId ? existing.state : 'pending',
    snapshotIds: existing?.imageId === imageId ? existing.snapshotIds : [],
    encrypted: request.encrypted
  })
  const keyUsed = request.kmsKeyId
    ? `, encrypted with ${request.kmsKeyId}`
    : request.encrypted
      ? ', encrypted with the default EBS key'
      : ''
  context.log.info(
    existing?.imageId === imageId
      ? `Found the copy of ${source.imageId} in ${region} that an earlier attempt made: ${imageId}.`
      : `Copying ${source.imageId} from ${source.region} to ${region} as ${imageId}${keyUsed}.`
  )
}

/**
 * CopyImage said the name is taken, or this attempt's token was used with other parameters: a copy
 * may exist that EC2 does not list yet. Ours is adopted once listed; anyone else's image is a
 * conflict. Right after if-exists: replace removed the old holder, EC2 may still hold its name for a
 * moment, so the copy is tried again meanwhile.
 */
async function adoptAfterRefusal(context: Context, source: ReleaseImage, region: string, request: ImageCopy): Promise<string> {
  let found: ImageInfo | undefined
  const imageId = await lookAgain(
    context,
    'visibility',
    async () => {
      const listed = await findOwnImageByName(context.aws, region, request.name)
      found = listed && !context.journal.replaced.get(region)?.imageIds.includes(listed.imageId) ? listed : undefined
      if (found || !context.journal.replaced.has(region)) return found?.imageId
      return copyImage(context.aws, region, request).catch((error: unknown) => {
        if (hasCode(error, 'InvalidAMIName.Duplicate')) return undefined
        throw error
      })
    },
    `the copy named '${request.name}' in ${region}`
  )
  if (!imageId || (found && !isCopyOf(found, source))) throw conflict(request.name, region, source, found)
  return imageId
}

/**
 * An image already named like the copy: this source's copy (an earlier attempt made it) is
 * adopted — or, if it failed, removed so that a new copy can take its name; anything else is a
 * conflict. Returns the image id to adopt, or undefined to copy anew.
 */
async function adoptableCopy(context: Context, source: ReleaseImage, region: string, existing: ImageInfo): Promise<string | undefined> {
  if (!isCopyOf(existing, source)) throw conflict(existing.name, region, source, existing)
  if (existing.state === 'available' || existing.state === 'pending') return existing.imageId
  if (existing.state === 'disabled') {
    throw new StepError(
      `The copy ${existing.imageId} of ${source.imageId} in ${region} is disabled: enable it again (EnableImage) or deregister it, then re-run.`
    )
  }
  context.log.warning(
    `The copy ${existing.imageId} in ${region} from an earlier attempt is ${existing.state}: removing it and copying again.`
  )
  const failures = await removeImages(context, region, [existing], 'removedFailed')
  if (failures.length > 0) throw new StepError(`Could not remove the failed copy ${existing.imageId}: ${failures.join('; ')}`)
  return undefined
}

/**
 * A copy of this very source: EC2 says so (SourceImageId, on every copy), or the provenance tags
 * do. Such an image is this release's copy whoever made it, so it is safe to adopt.
 */
function isCopyOf(image: ImageInfo, source: ReleaseImage): boolean {
  if (image.sourceImageId !== undefined)
    return image.sourceImageId === source.imageId && (image.sourceImageRegion ?? source.region) === source.region
  return image.tags.get(PROVENANCE.sourceImage) === source.imageId
}

function conflict(name: string, region: string, source: ReleaseImage, found: ImageInfo | undefined): StepError {
  return new StepError(
    `An image named '${name}' already exists in ${region}${found ? `: ${found.imageId}, not a copy of ${source.imageId}` : ''}. ` +
      'AMI names are unique per region; deregister it or build under another name.'
  )
}

/**
 * What a copy carries at creation: the source's own tags (not `aws:` ones, which AWS reserves, nor
 * the source's provenance, which describes the source), then `tags`, then the copy's provenance.
 * So a copy is found by the same prune-tags as its source, in every region.
 */
export function copyTags(context: Context, source: ReleaseImage): Map<string, string> {
  const { plan } = context
  const inherited = [...(source.tags ?? new Map<string, string>())].filter(([key]) => !/^(aws|ami-pipeline):/i.test(key))
  const provenance = plan.provenanceTags
    ? provenanceTags(context.run, { imageId: source.imageId, region: source.region })
    : new Map<string, string>()
  const tags = mergeTags(new Map(inherited), plan.tags, provenance)
  if (tags.size > MAX_TAGS) {
    throw new StepError(
      `A copy of ${source.imageId} would carry ${tags.size} tags — its own ${inherited.length}, tags and provenance — but EC2 allows ${MAX_TAGS}: ` +
        'give fewer tags, or set provenance-tags: false. Nothing was copied.'
    )
  }
  return tags
}

function copyRequest(context: Context, copy: CopyPlan, source: ReleaseImage, region: string, encryption: Encryption): ImageCopy {
  return {
    sourceRegion: source.region,
    sourceImageId: source.imageId,
    name: source.name,
    description: source.description ?? '',
    clientToken: copyToken(context.run, source.imageId, region),
    encrypted: encryption.encrypted,
    kmsKeyId: encryption.kmsKeyId,
    completionMinutes: copy.completionMinutes,
    tags: copyTags(context, source)
  }
}

/**
 * Deterministic per (repository, run, attempt, source image, destination): EC2 answers a replayed
 * token with the copy the first request made only when every other parameter is the same, and an
 * attempt's tags differ from the last one's (run-attempt), so each attempt has its own token and
 * earlier attempts' copies are found by name instead. 64 characters is EC2's limit for a ClientToken.
 */
export function copyToken(run: Run, sourceImageId: string, region: string): string {
  return createHash('sha256')
    .update([run.repository, run.runId, run.runAttempt, sourceImageId, region].join('\n'))
    .digest('hex')
    .slice(0, 64)
}

async function checkCopies(context: Context, copy: CopyPlan, source: ReleaseImage, destinations: readonly string[]): Promise<void> {
  // The AWS layer sends CopyImage as a DryRun check in a dry run. The name a replace would free is
  // still taken in a dry run: a name refusal there is expected.
  await Promise.all(
    destinations.map((region) =>
      copyImage(context.aws, region, copyRequest(context, copy, source, region, copy.encryption.get(region) ?? { encrypted: false })).catch(
        (error: unknown) => {
          if (!(context.journal.replaced.has(region) && hasCode(error, 'InvalidAMIName.Duplicate'))) throw error
          return ''
        }
      )
    )
  )
  context.log.info(`Dry run: CopyImage of ${source.imageId} to ${destinations.join(', ')} would be allowed; nothing was copied.`)
}
