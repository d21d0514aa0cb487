// Which matching images prune keeps, and why, before anything is asked about their use. Pure: the
// same images, rules and clock always give the same plan.
import type { ImageInfo } from '../ec2/images.ts'
import type { PrunePlan } from '../inputs.ts'
import type { PruneDecision } from '../release.ts'
import { formatDuration } from '../step.ts'

export interface PlanContext {
  rules: PrunePlan
  now: number
  /** Images made or given in this step: never retired. */
  thisStep: ReadonlySet<string>
}

/**
 * Decides every image of one region. Groups are the `group-by` tag's values (one group without it;
 * images without the tag form the group ''). Each group keeps its newest `keep` launchable
 * (available) images whatever their age: a protected, in-use or this step's image among them takes
 * its place there, and one beyond them is kept as well, as an extra. So `keep: 3` always keeps the
 * three newest images that can launch an instance (typically this release and the two before it),
 * and an old image kept for safety never costs one of them its place. A disabled, failed or pending
 * image takes no place: a pending one is kept (it is still being made), the others are judged like
 * any image beyond the newest. Of those, only images older than `older-than`, unprotected and not
 * this step's, are candidates to retire; in-use checks come after.
 */
export function planRegion(region: string, images: readonly ImageInfo[], context: PlanContext): PruneDecision[] {
  const { rules } = context
  const groups = Map.groupBy(images, (image) => (rules.groupBy ? (image.tags.get(rules.groupBy) ?? '') : ''))
  const decisions: PruneDecision[] = []
  for (const [group, members] of groups) {
    const newestFirst = [...members].sort(byNewest)
    let launchable = 0
    newestFirst.forEach((image) => {
      // Only launchable images are ranked; the others sort after every kept place.
      const rank = image.state === 'available' ? launchable++ : Number.POSITIVE_INFINITY
      const decision = (action: 'keep' | 'retire', reason: string): PruneDecision => ({
        region,
        imageId: image.imageId,
        name: image.name,
        creationDate: image.creationDate,
        group,
        action,
        reason
      })
      decisions.push(decide(image, rank, group, context, decision))
    })
  }
  return decisions
}

function decide(
  image: ImageInfo,
  rank: number,
  group: string,
  { rules, now, thisStep }: PlanContext,
  decision: (action: 'keep' | 'retire', reason: string) => PruneDecision
): PruneDecision {
  if (thisStep.has(image.imageId)) return decision('keep', 'made or given in this step')
  if (image.state === 'pending') return decision('keep', 'pending: still being made')
  if (rank < rules.keep)
    return decision('keep', `newest ${rules.keep}${rules.groupBy ? ` of ${rules.groupBy}=${group || '(no tag)'}` : ''}`)
  if (image.protected) return decision('keep', 'deregistration protection is on')
  const age = now - Date.parse(image.creationDate)
  if (Number.isNaN(age)) return decision('keep', `creation date '${image.creationDate}' unreadable`)
  if (age <= rules.olderThanMs)
    return decision('keep', `younger than ${formatDuration(rules.olderThanMs)} (${formatDuration(Math.max(0, age))} old)`)
  const state = image.state === 'available' ? '' : `${image.state} (takes no place among the newest), `
  return decision('retire', `${state}older than ${formatDuration(rules.olderThanMs)} and beyond the newest ${rules.keep}`)
}

/** Newest first by creation date; image id breaks ties so the plan never depends on listing order. */
function byNewest(a: ImageInfo, b: ImageInfo): number {
  return Date.parse(b.creationDate) - Date.parse(a.creationDate) || a.imageId.localeCompare(b.imageId)
}
