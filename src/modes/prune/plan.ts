// Which matching images prune keeps, and why. Pure: the same images, rules, clock and facts about
// use always give the same plan. Asked first without facts, it names the candidates whose use must
// be checked; asked again with what the checks found, its decisions are final.
import type { ImageInfo } from '../../aws/images.ts'
import type { PrunePlan } from '../../inputs/index.ts'
import type { PruneDecision } from '../../journal.ts'
import { LAUNCH_REPORT_DELAY_MS as REPORTING_DELAY_MS } from '../../limits.ts'
import { DISABLED_AT } from '../../tags.ts'
import { formatDuration } from '../../time.ts'

/** One region's plan: its decisions, and the images they are about. */
export interface RegionPlan {
  region: string
  decisions: PruneDecision[]
  images: Map<string, ImageInfo>
}

export interface PlanContext {
  rules: PrunePlan
  now: number
  /** Images made or given in this step: never retired. */
  thisStep: ReadonlySet<string>
  /** Who uses each candidate (an image absent here is used by nobody that was checked). */
  inUse?: ReadonlyMap<string, readonly string[]>
  /** Whom each candidate is shared with, where that was asked. */
  sharedWith?: ReadonlyMap<string, readonly string[]>
  /** Why a candidate is kept though no user was found (a check that could not be made, say). */
  kept?: ReadonlyMap<string, string>
}

/**
 * Decides every image of one region. Groups are the `group-by` tag's values (one group without it;
 * images without the tag form the group ''). Each group keeps its newest `keep` launchable
 * (available) images whatever their age: a protected, in-use or this step's image among them takes
 * its place there, and one beyond them is kept as well, as an extra. So `keep: 3` always keeps the
 * three newest images that can launch an instance (typically this release and the two before it),
 * and an old image kept for safety never costs one of them its place. A disabled, failed or pending
 * image takes no place: a pending one is kept (it is still being made), the others are judged like
 * any image beyond the newest. Of those, only images older than `older-than`, unused for
 * `unused-for`, unprotected, not this step's and not already retired the way asked are candidates
 * to retire; in-use checks come after. A disabled image's age, for `retire: deregister`, counts from
 * when prune disabled it (its DISABLED_AT tag), so staged retirement gives each stage its own span.
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
      decisions.push(withFacts(decide(image, rank, group, context, decision), context))
    })
  }
  return decisions
}

/**
 * A candidate that something uses is kept, naming the users. DisableImage removes every launch
 * permission, and EnableImage does not give them back (EC2 API Reference, DisableImage and
 * EnableImage): a shared image is never disabled.
 */
function withFacts(decision: PruneDecision, { inUse, sharedWith, rules, kept }: PlanContext): PruneDecision {
  if (decision.action !== 'retire') return decision
  const users = inUse?.get(decision.imageId)
  if (users && users.length > 0) return { ...decision, action: 'keep', reason: `in use by ${users.join(', ')}` }
  // Fail closed: what could not be checked may use it.
  const why = kept?.get(decision.imageId)
  if (why !== undefined) return { ...decision, action: 'keep', reason: why }
  const shared = rules.retire === 'disable' ? sharedWith?.get(decision.imageId) : undefined
  if (shared && shared.length > 0) {
    return {
      ...decision,
      action: 'keep',
      reason: `shared with ${shared.join(', ')}: DisableImage would remove those launch permissions, and EnableImage does not restore them`
    }
  }
  return decision
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
  if (rules.onlyDisabled && image.state !== 'disabled') return decision('keep', `${image.state}, not disabled (only-disabled)`)
  // Someone disabled it by hand (a quarantine, say), or another tool did: no record of when, and
  // not prune's to finish.
  if (rules.onlyDisabled && Number.isNaN(Date.parse(image.tags.get(DISABLED_AT) ?? '')))
    return decision('keep', `disabled, but not by prune (no valid ${DISABLED_AT} tag): only-disabled retires only what prune disabled`)
  if (image.protected) return decision('keep', 'deregistration protection is on')
  const retired = alreadyRetired(image, rules.retire, now)
  if (retired) return decision('keep', retired)
  const since = ageFrom(image, rules.retire)
  const age = now - Date.parse(since.date)
  if (Number.isNaN(age)) return decision('keep', `${since.what} '${since.date}' unreadable`)
  if (age <= rules.olderThanMs) {
    const ago = formatDuration(Math.max(0, age))
    const span = formatDuration(rules.olderThanMs)
    if (since.what === 'last launch') {
      return decision(
        'keep',
        `disabled less than ${span}: it launched an instance ${ago} ago, counting the day EC2 may report a launch late`
      )
    }
    return decision('keep', since.disabled ? `disabled less than ${span} (${ago} since disabled)` : `younger than ${span} (${ago} old)`)
  }
  if (rules.unusedForMs !== undefined) {
    // EC2 reports a launch up to 24 hours late (Image, LastLaunchedTime): a launch it does not show
    // yet may be a day newer than the one it shows, so a day is added to the span asked for. Never
    // launched means unused since creation.
    const lastUse = image.lastLaunchedTime ?? image.creationDate
    const idle = now - Date.parse(lastUse)
    if (Number.isNaN(idle) || idle <= rules.unusedForMs + REPORTING_DELAY_MS) {
      const what = image.lastLaunchedTime ? 'launched an instance' : 'created (never launched an instance)'
      return decision(
        'keep',
        `${what} ${formatDuration(Math.max(0, idle))} ago, within unused-for ${formatDuration(rules.unusedForMs)} and the day EC2 may report a launch late`
      )
    }
  }
  const state = image.state === 'available' ? '' : `${image.state} (takes no place among the newest), `
  const unused = rules.unusedForMs !== undefined ? `, unused for over ${formatDuration(rules.unusedForMs)}` : ''
  const old = since.disabled
    ? `disabled longer than ${formatDuration(rules.olderThanMs)}`
    : `older than ${formatDuration(rules.olderThanMs)}`
  return decision('retire', `${state}${old}${unused} and beyond the newest ${rules.keep}`)
}

/** Why an image needs no retiring the way asked, if it does not. */
function alreadyRetired(image: ImageInfo, retire: PrunePlan['retire'], now: number): string | undefined {
  if (retire === 'deregister') return undefined
  if (image.state === 'disabled') return 'already disabled'
  // EC2 documents DisableImage and deprecation for images that can launch; a failed one launches
  // nothing already. It never makes a disable or deprecate stage fail: it waits for a deregister one.
  if (image.state === 'failed' || image.state === 'invalid' || image.state === 'error')
    return `${image.state}: it launches nothing, so there is nothing to ${retire === 'disable' ? 'disable' : 'deprecate'}; a retire: deregister step without only-disabled removes it`
  if (retire !== 'deprecate') return undefined
  const deprecated = image.deprecationTime !== undefined && Date.parse(image.deprecationTime) <= now
  return deprecated ? `already deprecated (since ${image.deprecationTime})` : undefined
}

/**
 * What `older-than` measures from: creation — or, for a disabled image being deregistered, when it
 * was disabled. EC2 reports no time of disabling: prune's DISABLED_AT tag says when it disabled the
 * image (an image disabled by other means has none, and counts from creation). The image cannot
 * have been disabled before it last launched an instance, so a launch that EC2 reports later than
 * the tag (the image was enabled again, say for a rollback, and disabled anew) moves the start to
 * that launch, plus the day EC2 may report it late.
 */
function ageFrom(image: ImageInfo, retire: PrunePlan['retire']): { date: string; disabled: boolean; what: string } {
  if (retire !== 'deregister' || image.state !== 'disabled') return { date: image.creationDate, disabled: false, what: 'creation date' }
  const tagged = image.tags.get(DISABLED_AT)
  const start = tagged !== undefined && !Number.isNaN(Date.parse(tagged)) ? { date: tagged, what: `${DISABLED_AT} tag` } : undefined
  const launched = image.lastLaunchedTime !== undefined ? Date.parse(image.lastLaunchedTime) + REPORTING_DELAY_MS : Number.NaN
  const from = start ?? { date: image.creationDate, what: 'creation date' }
  if (!Number.isNaN(launched) && !(launched <= Date.parse(from.date))) {
    return { date: new Date(launched).toISOString(), disabled: true, what: 'last launch' }
  }
  return { ...from, disabled: start !== undefined }
}

/** Newest first by creation date; image id breaks ties so the plan never depends on listing order. */
function byNewest(a: ImageInfo, b: ImageInfo): number {
  return Date.parse(b.creationDate) - Date.parse(a.creationDate) || a.imageId.localeCompare(b.imageId)
}
