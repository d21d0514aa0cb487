// What a prune plan frees: the snapshots that go with the images it retires (never one another
// image keeps using), their full size and what storing them costs, and how long a Recycle Bin rule
// keeps an image recoverable (and its snapshots billed) first. Read once per region, in batches:
// no call per image.
import type { ImageInfo } from '../aws/images.ts'
import { AwsError } from '../aws/errors.ts'
import { retentionRules, type ResourceTagRule, type RetentionRule } from '../aws/recycle-bin.ts'
import { describeSnapshots, snapshotUsers, type SnapshotFacts } from '../aws/snapshots.ts'
import type { Context } from '../context.ts'
import type { PrunePlan } from '../inputs/index.ts'
import type { Frees } from '../journal.ts'

const GIB = 2 ** 30
const DAY = 86_400_000

/**
 * Amazon EBS pricing: the archive tier costs a quarter of the standard tier per GB-month ($0.0125
 * against $0.05 in the pricing examples), so an archived snapshot is priced at a quarter of
 * snapshot-price.
 */
export const ARCHIVE_PRICE_SHARE = 0.25

/** The GiB and dollars a plan frees, rounded as the outputs and the summary give them. */
export function gibOf(bytes: number): number {
  return Math.round((bytes / GIB) * 1000) / 1000
}

export function dollars(usd: number): number {
  return Math.round(usd * 100) / 100
}

/**
 * For each image the plan retires in the region, what retiring it frees. Only `retire: deregister`
 * with delete-snapshots frees anything: a disabled or deprecated image keeps its snapshots. A
 * snapshot that an image outside the plan uses stays (and adds nothing); one that two retired
 * images share counts once, for the first.
 */
export async function planSavings(
  context: Context,
  region: string,
  retiring: readonly ImageInfo[],
  rules: PrunePlan
): Promise<Map<string, Frees>> {
  const frees = new Map<string, Frees>()
  if (retiring.length === 0) return frees
  if (rules.retire !== 'deregister') {
    const why = rules.retire === 'disable' ? 'a disabled image keeps its snapshots' : 'a deprecated image keeps its snapshots'
    for (const image of retiring) frees.set(image.imageId, { snapshotIds: [], bytes: 0, unknown: [], usdPerMonth: 0, sizes: [], none: why })
    return frees
  }
  const { aws, log } = context
  const price = rules.snapshotPrice.get(region) ?? 0
  // delete-snapshots: false deregisters the images and keeps every snapshot: nothing is freed.
  const all = rules.deleteSnapshots ? [...new Set(retiring.flatMap((image) => image.snapshotIds))] : []
  // Which snapshots go is the plan's to know (the dry run reports it): a failure here fails the plan.
  const kept =
    all.length > 0 ? await snapshotUsers(aws, region, all, new Set(retiring.map((image) => image.imageId))) : new Map<string, string[]>()
  let facts = new Map<string, SnapshotFacts>()
  try {
    const going = all.filter((id) => !kept.has(id))
    if (going.length > 0) facts = await describeSnapshots(aws, region, going)
  } catch (error) {
    if (!(error instanceof AwsError)) throw error
    log.warning(
      `The sizes of the snapshots prune frees in ${region} could not be read (${error.message}): the plan says "size unknown" for them.`
    )
  }
  const undo = await recycleBin(context, region)
  const counted = new Set<string>()
  const now = context.clock.now()
  const at = (days: number): string => new Date(now + days * DAY).toISOString()
  for (const image of retiring) {
    // Every snapshot deleted with it, and of those the ones not already counted for an earlier image.
    const deleted = rules.deleteSnapshots ? image.snapshotIds.filter((id) => !kept.has(id)) : []
    const going = deleted.filter((id) => !counted.has(id))
    for (const id of going) counted.add(id)
    const sizes: SnapshotCost[] = []
    const unknown: string[] = []
    for (const id of going) {
      const fact = facts.get(id)
      if (fact?.fullSizeBytes === undefined) {
        unknown.push(id)
        continue
      }
      const archived = fact.storageTier === 'archive'
      sizes.push({
        snapshotId: id,
        bytes: fact.fullSizeBytes,
        usd: (fact.fullSizeBytes / GIB) * price * (archived ? ARCHIVE_PRICE_SHARE : 1),
        archived
      })
    }
    const entry: Frees = {
      snapshotIds: going,
      bytes: sizes.reduce((sum, size) => sum + size.bytes, 0),
      unknown,
      usdPerMonth: sizes.reduce((sum, size) => sum + size.usd, 0),
      sizes
    }
    if (going.length < deleted.length) entry.countedWith = deleted.filter((id) => !going.includes(id))
    if (sizes.some((size) => size.archived)) entry.archived = true
    const stays = image.snapshotIds.flatMap((id) => (kept.has(id) ? [{ snapshotId: id, usedBy: kept.get(id)! }] : []))
    if (stays.length > 0) entry.kept = stays
    if (!rules.deleteSnapshots) entry.none = 'delete-snapshots: false keeps the snapshots'
    if (!undo) {
      entry.rulesUnknown = true
      frees.set(image.imageId, entry)
      continue
    }
    // What a snapshot's tags are is known only where DescribeSnapshots answered.
    const tagsOf = (id: string): ReadonlyMap<string, string> | undefined => facts.get(id)?.tags
    // Billing: the wide reading (a rule may keep them), so savings are never said to start too soon.
    const billing = deleted.flatMap((id) => rulesFor(undo.snapshots, tagsOf(id), 'wide').slice(0, 1))
    const billedBy = billing.sort((a, b) => b.retentionDays - a.retentionDays)[0]
    if (billedBy) entry.billed = { until: at(billedBy.retentionDays), rule: billedBy.id }
    // Recovery: the narrow reading (a rule surely keeps it), over every snapshot the image needs.
    const imageRule = rulesFor(undo.images, image.tags, 'narrow')[0]
    if (imageRule) {
      // An image in the bin can be restored only while every snapshot it needs exists (Recycle Bin
      // User Guide: restore "all of its associated snapshots" first; once they are deleted "the AMI
      // is no longer recoverable"): those that stay do, those deleted only while a rule surely keeps them.
      const keptFor = deleted.map((id) => rulesFor(undo.snapshots, tagsOf(id), 'narrow')[0]?.retentionDays ?? 0)
      const shortest = keptFor.length === 0 ? undefined : Math.min(...keptFor)
      const days = shortest === undefined ? imageRule.retentionDays : Math.min(imageRule.retentionDays, shortest)
      if (days > 0) entry.recoverable = { until: at(days), rule: imageRule.id }
      if (shortest !== undefined && shortest < imageRule.retentionDays)
        log.warning(
          `${image.imageId} in ${region} stays in the Recycle Bin for ${imageRule.retentionDays} days (rule ${imageRule.id}) but ` +
            (shortest === 0
              ? 'no snapshot rule is known to keep all of its snapshots'
              : `its snapshots for only ${shortest} (snapshot rule ${shortestRule(undo.snapshots, deleted, tagsOf)})`) +
            ': an image restored after they are gone cannot be used (Recycle Bin User Guide). Give a snapshot rule at least as long a retention, or set delete-snapshots: false.'
        )
    }
    frees.set(image.imageId, entry)
  }
  return frees
}

/** One snapshot's share of what an image frees. */
interface SnapshotCost {
  snapshotId: string
  bytes: number
  usd: number
  archived: boolean
}

/** The rule whose retention is the shortest of those that surely keep these snapshots. */
function shortestRule(
  rules: readonly RetentionRule[],
  snapshotIds: readonly string[],
  tagsOf: (id: string) => ReadonlyMap<string, string> | undefined
): string {
  const found = snapshotIds.flatMap((id) => rulesFor(rules, tagsOf(id), 'narrow').slice(0, 1))
  return found.sort((a, b) => a.retentionDays - b.retentionDays)[0]?.id ?? ''
}

/** The region's available retention rules for images and snapshots; unreadable rules are a line in the log. */
async function recycleBin(context: Context, region: string): Promise<{ images: RetentionRule[]; snapshots: RetentionRule[] } | undefined> {
  try {
    const [images, snapshots] = await Promise.all([
      retentionRules(context.aws, region, 'EC2_IMAGE'),
      retentionRules(context.aws, region, 'EBS_SNAPSHOT')
    ])
    const available = (rule: RetentionRule): boolean => rule.status === 'available'
    return { images: images.filter(available), snapshots: snapshots.filter(available) }
  } catch (error) {
    if (!(error instanceof AwsError)) throw error
    context.log.info(
      `The Recycle Bin rules of ${region} could not be read (${error.message}): the plan cannot say whether retired images stay recoverable. Allow rbin:ListRules and rbin:GetRule.`
    )
    return undefined
  }
}

/**
 * The rules that apply to a resource with these tags, longest retention first (Recycle Bin User
 * Guide: a tag-level rule applies to a resource with any of its tags, a region-level rule to every
 * resource but one with any of its exclusion tags; where several apply, the longest retention wins).
 * AWS does not say how a rule's tag without a value matches, and a resource's tags may be unknown,
 * as may a rule's exclusion tags: `narrow` counts only rules that surely apply (for "recoverable"),
 * `wide` every rule that may (for what is still billed), so neither claim is ever too hopeful.
 */
function rulesFor(
  rules: readonly RetentionRule[],
  tags: ReadonlyMap<string, string> | undefined,
  reading: 'narrow' | 'wide'
): RetentionRule[] {
  const narrow = reading === 'narrow'
  const matches = (tag: ResourceTagRule, loose: boolean): boolean =>
    tags !== undefined &&
    tags.has(tag.key) &&
    (tag.value === undefined ? loose || tags.get(tag.key) === '' : tags.get(tag.key) === tag.value)
  const applies = (rule: RetentionRule): boolean => {
    if (rule.tags.length > 0) return tags === undefined ? !narrow : rule.tags.some((tag) => matches(tag, !narrow))
    if (rule.excludeTags === undefined || tags === undefined) return !narrow
    return !rule.excludeTags.some((tag) => matches(tag, narrow))
  }
  return rules.filter(applies).sort((a, b) => b.retentionDays - a.retentionDays)
}
