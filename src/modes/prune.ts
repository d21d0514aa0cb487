// prune: retires old images this account owns that match the selectors, in every prune region at
// once. The whole plan is made first — every matching image kept (and why) or retired — and is
// refused whole past max-deletions; only then is anything deregistered.
import { CreateTagsCommand } from '@aws-sdk/client-ec2'
import { deprecateImage, sharedWith } from '../aws/distribution.ts'
import { errorMessage, StepError } from '../errors.ts'
import { describeSelectors, disableImage, listOwnImages, type ImageInfo } from '../aws/images.ts'
import { snapshotUsers } from '../aws/snapshots.ts'
import { findUsage } from '../aws/usage.ts'
import { DISABLED_AT, planRegion } from '../prune/plan.ts'
import { stageImages } from '../prune/stage.ts'
import { checkRemoval, removeImages } from '../removal.ts'
import type { PruneDecision, Retired } from '../release.ts'
import type { Step } from '../step.ts'

interface RegionPlan {
  region: string
  decisions: PruneDecision[]
  images: Map<string, ImageInfo>
}

export async function prune(step: Step): Promise<void> {
  const rules = step.plan.prune!
  const plans = await Promise.all(rules.regions.map((region) => planFor(step, region)))
  const decisions = plans.flatMap((plan) => plan.decisions)
  step.release.prunePlan = decisions
  logPlan(step, decisions)

  const retiring = decisions.filter((decision) => decision.action === 'retire')
  if (retiring.length > rules.maxDeletions) {
    throw new StepError(
      `The prune plan would retire ${retiring.length} images, more than max-deletions (${rules.maxDeletions}): nothing was ${PAST[rules.retire]}. ` +
        'Check the selectors (prune-name, prune-tags) and the plan in the job summary, then raise max-deletions if the plan is right.'
    )
  }
  if (retiring.length === 0) {
    step.log.info('Nothing to retire.')
    return
  }
  if (step.plan.dryRun) return checkRetiring(step, plans)

  // Every region finishes (and is recorded) before anything is reported, whatever one of them met.
  const outcomes = await Promise.allSettled(plans.map((plan) => retire(step, plan)))
  const failures = outcomes.flatMap((outcome, i) =>
    outcome.status === 'fulfilled' ? outcome.value : [`${plans[i]!.region}: ${errorMessage(outcome.reason)}`]
  )
  inPlanOrder(step, plans)
  // Cancelled: what was retired is recorded, and what was left unsettled is named.
  step.signal.throwIfAborted()
  if (failures.length > 0) {
    for (const failure of failures) step.log.info(`Could not retire ${failure}`)
    throw new StepError(`${failures.length} of ${retiring.length} images could not be retired (the rest were): ${summarise(failures)}`)
  }
}

const PAST = { deregister: 'deregistered', disable: 'disabled', deprecate: 'deprecated' } as const

function retire(step: Step, plan: RegionPlan): Promise<string[]> {
  const images = plan.decisions.filter((decision) => decision.action === 'retire').map((decision) => plan.images.get(decision.imageId)!)
  const { retire: how, deleteSnapshots } = step.plan.prune!
  if (how !== 'deregister') return stageImages(step, plan.region, images, how)
  return removeImages(step, plan.region, images, step.release.pruned, deleteSnapshots)
}

// One missing permission fails every image the same way: the message names a few, the log all.
const LISTED_FAILURES = 10

function summarise(failures: readonly string[]): string {
  const listed = failures.slice(0, LISTED_FAILURES).join('; ')
  return failures.length > LISTED_FAILURES ? `${listed}; and ${failures.length - LISTED_FAILURES} more (see the log)` : listed
}

/** Lists, plans and checks usage in one region; the plan is final once usage is known. */
async function planFor(step: Step, region: string): Promise<RegionPlan> {
  const rules = step.plan.prune!
  const found = await listOwnImages(step.aws, region, { name: rules.name, tags: rules.tags })
  const decisions = planRegion(region, found, { rules, now: step.now(), thisStep: step.release.imageIds() })
  const candidates = decisions.filter((decision) => decision.action === 'retire')
  // Only images that would otherwise retire are checked: fewer calls, same plan.
  const usage = await findUsage(
    step.aws,
    region,
    candidates.map((decision) => decision.imageId)
  )
  if (candidates.length > 0) step.log.info(`In-use check in ${region} for ${candidates.length} candidates: ${usage.method}.`)
  if (candidates.length > 0 && usage.warning) step.log.warning(usage.warning)
  for (const decision of candidates) {
    const users = usage.users.get(decision.imageId)
    if (!users) continue
    decision.action = 'keep'
    decision.reason = `in use by ${users.join(', ')}`
    step.log.notice(`Keeping ${decision.imageId} '${decision.name}' in ${region}: it is in use by ${users.join(', ')}.`)
  }
  if (rules.retire === 'disable') await keepShared(step, region, candidates)
  return { region, decisions, images: new Map(found.map((image) => [image.imageId, image])) }
}

/**
 * DisableImage removes every launch permission, and EnableImage does not give them back (EC2 API
 * Reference, DisableImage and EnableImage); what other accounts launch from the image is invisible
 * to this account's in-use checks. So a shared image is never disabled: disabling it would silently
 * break the accounts it is shared with, and "reversible" would not hold for them.
 */
async function keepShared(step: Step, region: string, candidates: readonly PruneDecision[]): Promise<void> {
  for (const decision of candidates.filter((candidate) => candidate.action === 'retire')) {
    const shared = await sharedWith(step.aws, region, decision.imageId)
    if (shared.length === 0) continue
    decision.action = 'keep'
    decision.reason = `shared with ${shared.join(', ')}: DisableImage would remove those launch permissions, and EnableImage does not restore them`
    step.log.notice(
      `Keeping ${decision.imageId} '${decision.name}' in ${region}: it is shared with ${shared.join(', ')}, and disabling it would take that away for good. Stop sharing it first, or retire it with retire: deregister.`
    )
  }
}

/**
 * Regions retire at once and images a few at a time; the report lists regions and images in plan
 * order, as a dry run does, so the two can be compared.
 */
function inPlanOrder(step: Step, plans: readonly RegionPlan[]): void {
  const pruned = step.release.pruned
  const found = plans.map((plan) => [plan, pruned.get(plan.region)] as const)
  pruned.clear()
  for (const [plan, retired] of found) {
    if (!retired) continue
    sortLikePlan(plan, retired)
    pruned.set(plan.region, retired)
  }
}

function sortLikePlan(plan: RegionPlan, retired: Retired): void {
  const order = plan.decisions.map((decision) => decision.imageId)
  const snapshotOrder = order.flatMap((id) => plan.images.get(id)?.snapshotIds ?? [])
  // Anything the plan does not list (it cannot happen, but must not vanish) goes last.
  const byPosition = (list: string[]) => (a: string, b: string) => positionIn(list, a) - positionIn(list, b)
  retired.imageIds.sort(byPosition(order))
  retired.snapshotIds.sort(byPosition(snapshotOrder))
}

function positionIn(list: readonly string[], id: string): number {
  const at = list.indexOf(id)
  return at < 0 ? list.length : at
}

function logPlan(step: Step, decisions: readonly PruneDecision[]): void {
  const rules = step.plan.prune!
  const retiring = decisions.filter((decision) => decision.action === 'retire').length
  step.log.info(
    `Prune plan for ${describeSelectors({ name: rules.name, tags: rules.tags })} in ${rules.regions.join(', ')}: ` +
      `${decisions.length} matching images, ${retiring} to retire, ${decisions.length - retiring} kept.`
  )
  for (const d of decisions) {
    step.log.info(`  ${d.action === 'retire' ? 'retire' : 'keep  '} ${d.region} ${d.imageId} '${d.name}' (${d.creationDate}): ${d.reason}`)
  }
}

/**
 * Dry run: the plan stands as what would be retired, with the snapshots that would go with the
 * images (not one another image still uses); permissions are checked once per region.
 */
async function checkRetiring(step: Step, plans: readonly RegionPlan[]): Promise<void> {
  const how = step.plan.prune!.retire
  for (const plan of plans) {
    const retiring = plan.decisions.filter((decision) => decision.action === 'retire').map((decision) => decision.imageId)
    if (retiring.length === 0) continue
    if (how !== 'deregister') {
      for (const imageId of retiring) step.release.recordRemoved(step.release.pruned, plan.region, imageId, [])
      try {
        if (how === 'disable') {
          // The disabled-at tag goes on first, then DisableImage: both are checked.
          await step.aws.check(plan.region, 'CreateTags', `image ${retiring[0]!}`, (client) =>
            client.send(new CreateTagsCommand({ Resources: [retiring[0]!], Tags: [{ Key: DISABLED_AT, Value: 'dry-run' }], DryRun: true }))
          )
          await disableImage(step.aws, plan.region, retiring[0]!, true)
        } else await deprecateImage(step.aws, plan.region, retiring[0]!, new Date(step.now() + 120_000), true)
      } catch (error) {
        throw new StepError(`Dry run: the plan stands, but retiring in ${plan.region} would fail: ${errorMessage(error)}`)
      }
      continue
    }
    const snapshots = await snapshotsThatWouldGo(step, plan, retiring)
    for (const imageId of retiring) {
      const own = (plan.images.get(imageId)?.snapshotIds ?? []).filter((id) => snapshots.has(id))
      step.release.recordRemoved(step.release.pruned, plan.region, imageId, own)
    }
    try {
      await checkRemoval(step, plan.region, retiring[0]!, [...snapshots][0], step.plan.prune!.deleteSnapshots)
    } catch (error) {
      throw new StepError(`Dry run: the plan stands, but retiring in ${plan.region} would fail: ${errorMessage(error)}`)
    }
  }
  const allowed =
    how === 'disable'
      ? 'DisableImage'
      : how === 'deprecate'
        ? 'EnableImageDeprecation'
        : `DeregisterImage${step.plan.prune!.deleteSnapshots ? ' and DeleteSnapshot' : ''}`
  step.log.info(`Dry run: nothing was ${how === 'deregister' ? 'deregistered or deleted' : PAST[how]}; ${allowed} would be allowed.`)
}

async function snapshotsThatWouldGo(step: Step, plan: RegionPlan, retiring: readonly string[]): Promise<Set<string>> {
  if (!step.plan.prune!.deleteSnapshots) return new Set()
  const all = [...new Set(retiring.flatMap((imageId) => plan.images.get(imageId)?.snapshotIds ?? []))]
  const users = all.length > 0 ? await snapshotUsers(step.aws, plan.region, all, new Set(retiring)) : new Map<string, string[]>()
  for (const [snapshotId, usedBy] of users)
    step.log.info(`Would keep snapshot ${snapshotId} in ${plan.region}: ${usedBy.join(', ')} uses it.`)
  return new Set(all.filter((id) => !users.has(id)))
}
