// prune: retires old images this account owns that match the selectors, in every prune region at
// once. The whole plan is made first — every matching image kept (and why) or retired — and is
// refused whole past max-deletions; only then is anything retired.
import { describeSelectors, listOwnImages } from '../../aws/images.ts'
import type { Context } from '../../context.ts'
import { errorMessage, StepError } from '../../errors.ts'
import { findUsers } from '../../images/in-use.ts'
import { planSavings } from '../../images/savings.ts'
import { retireImages, type Retirements } from '../../images/retire.ts'
import type { PrunePlan } from '../../inputs/index.ts'
import { checkRetiring, PAST } from './dry-run.ts'
import { planRegion, type RegionPlan } from './plan.ts'

export async function prune(context: Context, rules: PrunePlan): Promise<void> {
  const { log } = context
  const plans = await log.group(
    `prune: listing ${describeSelectors({ name: rules.name, tags: rules.tags })} and checking use in ${rules.regions.join(', ')}`,
    () => Promise.all(rules.regions.map((region) => planFor(context, rules, region)))
  )
  const decisions = plans.flatMap((plan) => plan.decisions)
  context.journal.prunePlan = decisions
  await logPlan(context, rules, plans)
  noticeKept(context, rules, plans)

  const retiring = decisions.filter((decision) => decision.action === 'retire')
  if (retiring.length > rules.maxDeletions) {
    throw new StepError(
      `The prune plan would retire ${retiring.length} images, more than max-deletions (${rules.maxDeletions}): nothing was ${PAST[rules.retire]}. ` +
        'Check the selectors (prune-name, prune-tags) and the plan in the job summary, then raise max-deletions if the plan is right.'
    )
  }
  if (retiring.length === 0) {
    context.log.info('Nothing to retire.')
    return
  }
  if (context.plan.dryRun) return checkRetiring(context, rules, plans)

  // Every region finishes before anything is recorded or reported, whatever one of them met; then
  // each region is recorded once, in plan order, as a dry run lists them.
  const outcomes = await log.group(`prune: retiring ${retiring.length} images (retire: ${rules.retire})`, () =>
    Promise.allSettled(plans.map((plan) => retire(context, rules, plan)))
  )
  const failures = outcomes.flatMap((outcome, i) => {
    if (outcome.status === 'rejected') return [`${plans[i]?.region}: ${errorMessage(outcome.reason)}`]
    const region = plans[i]?.region ?? ''
    context.journal.record('retired', region, outcome.value.retired)
    context.journal.record('unsettled', region, outcome.value.unsettled)
    return outcome.value.failures
  })
  // Cancelled: what was retired is recorded, and what was left unsettled is named.
  context.signal.throwIfAborted()
  if (failures.length > 0) {
    for (const failure of failures) context.log.info(`Could not retire ${failure}`)
    throw new StepError(`${failures.length} of ${retiring.length} images could not be retired (the rest were): ${summarise(failures)}`)
  }
}

function retire(context: Context, rules: PrunePlan, plan: RegionPlan): Promise<Retirements> {
  const images = plan.decisions.flatMap((decision) => (decision.action === 'retire' ? (plan.images.get(decision.imageId) ?? []) : []))
  return retireImages(context, plan.region, images, rules.retire, rules.deleteSnapshots)
}

// One missing permission fails every image the same way: the message names a few, the log all.
const LISTED_FAILURES = 10

function summarise(failures: readonly string[]): string {
  const listed = failures.slice(0, LISTED_FAILURES).join('; ')
  return failures.length > LISTED_FAILURES ? `${listed}; and ${failures.length - LISTED_FAILURES} more (see the log)` : listed
}

/**
 * Lists and plans one region. Only images that would otherwise retire are checked for use (fewer
 * calls, same plan); the plan is made again with what the checks found, and is then final.
 */
async function planFor(context: Context, rules: PrunePlan, region: string): Promise<RegionPlan> {
  const { aws, log } = context
  const found = await listOwnImages(aws, region, { name: rules.name, tags: rules.tags })
  const images = new Map(found.map((image) => [image.imageId, image]))
  const facts = { rules, now: context.clock.now(), thisStep: context.release.imageIds() }
  const candidates = planRegion(region, found, facts)
    .filter((decision) => decision.action === 'retire')
    .flatMap((decision) => images.get(decision.imageId) ?? [])
  // A disable stage keeps every shared image (plan.ts), so it asks no other account.
  const use = await findUsers(context, region, candidates, { otherAccounts: rules.retire !== 'disable' })
  if (candidates.length > 0)
    log.info(`In-use check in ${region} for ${candidates.length} candidate${candidates.length === 1 ? '' : 's'}: ${use.method}.`)
  for (const warning of use.warnings) log.warning(warning)
  const decisions = planRegion(region, found, { ...facts, inUse: use.users, sharedWith: use.sharedWith, kept: use.kept })
  const retiring = decisions.flatMap((decision) => (decision.action === 'retire' ? (images.get(decision.imageId) ?? []) : []))
  const frees = await planSavings(context, region, retiring, rules)
  for (const decision of decisions) {
    const freed = frees.get(decision.imageId)
    if (freed) decision.frees = freed
  }
  return { region, decisions, images }
}

/** The plan, a group per region: every matching image, kept (and why) or retired. */
async function logPlan(context: Context, rules: PrunePlan, plans: readonly RegionPlan[]): Promise<void> {
  const selectors = describeSelectors({ name: rules.name, tags: rules.tags })
  for (const { region, decisions } of plans) {
    const retiring = decisions.filter((decision) => decision.action === 'retire').length
    await context.log.group(
      `Prune plan in ${region} for ${selectors}: ${retiring} to retire, ${decisions.length - retiring} kept`,
      async () => {
        for (const d of decisions)
          context.log.info(`${d.action === 'retire' ? 'retire' : 'keep  '} ${d.imageId} '${d.name}' (${d.creationDate}): ${d.reason}`)
      }
    )
  }
}

/**
 * One notice, not one per image (the runner shows ten a step), for the images kept because
 * something uses them or they are shared: how many, where, and the first few.
 */
function noticeKept(context: Context, rules: PrunePlan, plans: readonly RegionPlan[]): void {
  const kept = plans.flatMap(({ decisions }) =>
    decisions.filter((d) => d.action === 'keep' && (d.reason.startsWith('in use by ') || d.reason.startsWith('shared with ')))
  )
  if (kept.length === 0) return
  const perRegion = Map.groupBy(kept, (d) => d.region)
  const where = [...perRegion].map(([region, list]) => `${list.length} in ${region}`).join(', ')
  const first = kept
    .slice(0, 3)
    .map((d) => `${d.imageId} '${d.name}' in ${d.region}: ${d.reason}`)
    .join('; ')
  const shared = rules.retire === 'disable' && kept.some((d) => d.reason.startsWith('shared with '))
  context.log.notice(
    `Keeping ${kept.length} image${kept.length === 1 ? '' : 's'} that ${kept.length === 1 ? 'is' : 'are'} in use or shared (${where}): ${first}${kept.length > 3 ? '; …' : ''}. The plan in the job summary names each.` +
      (shared
        ? ' A shared image is never disabled (that would take its launch permissions for good): stop sharing it first, or retire it with retire: deregister.'
        : '')
  )
}
