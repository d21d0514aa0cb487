// prune's dry run: the plan stands as what would be retired, with the snapshots that would go with
// the images (not one another image still uses); EC2 checks the permissions once per region, the
// AWS layer sending each changing call as a DryRun check.
import { checkRemoval, deprecateImage, disableImage } from '../../aws/retiring.ts'
import { tagResources } from '../../aws/new-images.ts'
import type { Context } from '../../context.ts'
import { errorMessage, StepError } from '../../errors.ts'
import type { PrunePlan } from '../../inputs/index.ts'
import { DISABLED_AT } from '../../tags.ts'
import type { RegionPlan } from './plan.ts'

export const PAST = { deregister: 'deregistered', disable: 'disabled', deprecate: 'deprecated' } as const

export async function checkRetiring(context: Context, rules: PrunePlan, plans: readonly RegionPlan[]): Promise<void> {
  const how = rules.retire
  for (const plan of plans) {
    const retiring = plan.decisions.filter((decision) => decision.action === 'retire').map((decision) => decision.imageId)
    const first = retiring[0]
    if (first === undefined) continue
    const snapshots = how === 'deregister' ? snapshotsThatWouldGo(context, plan) : new Set<string>()
    context.journal.record('retired', plan.region, {
      imageIds: retiring,
      snapshotIds: retiring.flatMap((imageId) => (plan.images.get(imageId)?.snapshotIds ?? []).filter((id) => snapshots.has(id)))
    })
    try {
      await checkRegion(context, rules, plan.region, first, [...snapshots][0])
    } catch (error) {
      throw new StepError(`Dry run: the plan stands, but retiring in ${plan.region} would fail: ${errorMessage(error)}`)
    }
  }
  const allowed =
    how === 'disable'
      ? 'DisableImage'
      : how === 'deprecate'
        ? 'EnableImageDeprecation'
        : `DeregisterImage${rules.deleteSnapshots ? ' and DeleteSnapshot' : ''}`
  context.log.info(`Dry run: nothing was ${how === 'deregister' ? 'deregistered or deleted' : PAST[how]}; ${allowed} would be allowed.`)
}

/** The calls retiring would send in the region, once, for its first image (and snapshot). */
async function checkRegion(
  context: Context,
  rules: PrunePlan,
  region: string,
  imageId: string,
  snapshotId: string | undefined
): Promise<void> {
  const { aws } = context
  if (rules.retire === 'disable') {
    // The disabled-at tag goes on first, then DisableImage: both are checked.
    await tagResources(aws, region, [imageId], new Map([[DISABLED_AT, 'dry-run']]))
    await disableImage(aws, region, imageId)
  } else if (rules.retire === 'deprecate') await deprecateImage(aws, region, imageId, new Date(context.clock.now() + 120_000))
  else await checkRemoval(aws, region, imageId, snapshotId, rules.deleteSnapshots)
}

/** The plan's own reckoning (images/savings.ts): the snapshots no image outside the plan uses. */
function snapshotsThatWouldGo(context: Context, plan: RegionPlan): Set<string> {
  const going = new Set<string>()
  const kept = new Map<string, string[]>()
  for (const decision of plan.decisions) {
    if (decision.action !== 'retire' || !decision.frees) continue
    for (const id of decision.frees.snapshotIds) going.add(id)
    for (const { snapshotId, usedBy } of decision.frees.kept ?? []) kept.set(snapshotId, usedBy)
  }
  for (const [snapshotId, usedBy] of kept)
    context.log.info(`Would keep snapshot ${snapshotId} in ${plan.region}: ${usedBy.join(', ')} uses it.`)
  return going
}
