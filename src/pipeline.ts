// Runs the modes the step asked for in the one order that is correct whatever order they were
// written in: an image must exist before it is copied, be available before it is tagged, and the
// new release must be available everywhere before prune retires an old one. Each mode gets its own
// plan, which exists exactly when the step runs that mode.
import { assumeTargetRoles, inAccount, inEveryAccount, type TargetAccount } from './accounts.ts'
import { describeImages, type ImageInfo } from './aws/images.ts'
import { lookAgain, type Context } from './context.ts'
import { errorMessage, StepError } from './errors.ts'
import { measureStorage } from './images/storage.ts'
import { waitForImages } from './images/waiter.ts'
import type { Plan, TagPlan } from './inputs/index.ts'
import { build } from './modes/build/build.ts'
import { copy } from './modes/copy/copy.ts'
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
  const targets = plan.targets
  const accounts = targets
    ? await log.group(`accounts: assuming ${targets.role} in ${targets.accounts.join(', ')}`, async () => {
        const assumed = await assumeTargetRoles(context, targets)
        // Known from here on, so the summary reports whatever the step then does in them.
        context.journal.accounts = assumed
        await inEveryAccount(context, assumed, 'Checking the regions', (inside) => checkRegions(inside, plan))
        return assumed
      })
    : []
  await loadGivenImages(context, plan.givenImages)
  await inEveryAccount(context, accounts, 'Finding account-image-ids', (inside, account) =>
    loadGivenImages(inside, targets?.givenImages.get(account.id) ?? new Map())
  )
  const { build: building, copy: copying, tag: tagging, publish: publishing, prune: pruning } = plan
  if (building) await log.group(`build: ${building.name} in ${plan.region}`, () => build(context, building, copying))
  if (copying) {
    const where = [copying.regions.join(', '), accounts.length > 0 ? `accounts ${accounts.map((a) => a.id).join(', ')}` : ''].filter(
      Boolean
    )
    await log.group(`copy: to ${where.join('; ')}`, () => copy(context, copying, accounts, tagging?.share))
  }
  if (plan.modes.has('wait'))
    await log.group('wait: until every image is available', () => everywhere(context, accounts, 'wait', (inside) => wait(inside)))
  if (tagging)
    await log.group('tag', () =>
      everywhere(context, accounts, 'tag', (inside, account) => tag(inside, account ? accountTagging(tagging) : tagging))
    )
  if (publishing) await log.group('publish', () => everywhere(context, accounts, 'publish', (inside) => publish(inside, publishing)))
  // What the new release stores, for the summary, once its images exist (a dry run makes none).
  if (!plan.dryRun && (building || copying)) await everywhere(context, accounts, 'measure', (inside) => measureStorage(inside))
  if (pruning) {
    // Never retire the old release before the new one exists, in any account.
    if (!plan.dryRun && [context.release, ...accounts.map((a) => a.release)].some((release) => release.all().length > 0))
      await log.group('prune: waiting for this release first', () =>
        everywhere(context, accounts, 'wait', (inside) => waitForImages(inside, inside.release.all()))
      )
    // prune makes its own groups (one per region for its plan), so accounts take their turn.
    await prune(context, pruning)
    const failures: string[] = []
    for (const account of accounts) {
      try {
        await prune(inAccount(context, account), pruning)
      } catch (error) {
        context.signal.throwIfAborted()
        failures.push(`account ${account.id}: ${errorMessage(error)}`)
      }
    }
    if (failures.length > 0)
      throw new StepError(`prune failed in ${failures.length} of ${accounts.length} target accounts: ${failures.join('; ')}`)
  }
}

/**
 * Runs a mode in the step's own account and in every target account at once; all finish whatever
 * one met, and the failures are reported together.
 */
async function everywhere(
  context: Context,
  accounts: readonly TargetAccount[],
  what: string,
  work: (context: Context, account?: TargetAccount) => Promise<void>
): Promise<void> {
  const [own, others] = await Promise.allSettled([work(context), inEveryAccount(context, accounts, what, work)])
  const failures = [own, others].flatMap((outcome) => (outcome.status === 'rejected' ? [errorMessage(outcome.reason)] : []))
  if (failures.length === 1 && own.status === 'rejected') throw own.reason
  if (failures.length > 0) throw new StepError(failures.join(' '))
}

/**
 * In a target account tag labels the account's own copies and sets their deprecation and
 * protection; sharing is the step's own account's to give, so none is given from there.
 */
function accountTagging(tagging: TagPlan): TagPlan {
  if (!tagging.share) return tagging
  return { share: { ...tagging.share, shareAccounts: [], shareOrganizations: [], shareOrganizationalUnits: [], shareSnapshots: false } }
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
