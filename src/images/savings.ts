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
    for (const image of retiring) frees.set(image.imageId, { snapshotIds: [], bytes: 0, unknown: [], usdPerMonth: 0, none: why })
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
  for (const image of retiring) {
    const going = rules.deleteSnapshots ? image.snapshotIds.filter((id) => !kept.has(id) && !counted.has(id)) : []
    for (const id of going) counted.add(id)
    let bytes = 0
    let usd = 0
    const unknown: string[] = []
    for (const id of going) {
      const size = facts.get(id)?.fullSizeBytes
      if (size === undefined) {
        unknown.push(id)
        continue
      }
      bytes += size
      usd += (size / GIB) * price * (facts.get(id)?.storageTier === 'archive' ? ARCHIVE_PRICE_SHARE : 1)
    }
    const entry: Frees = { snapshotIds: going, bytes, unknown, usdPerMonth: usd }
    const stays = image.snapshotIds.flatMap((id) => (kept.has(id) ? [{ snapshotId: id, usedBy: kept.get(id)! }] : []))
    if (stays.length > 0) entry.kept = stays
    if (!rules.deleteSnapshots) entry.none = 'delete-snapshots: false keeps the snapshots'
    const imageRule = undo && longest(undo.images, image.tags)
    const snapshotRules = undo ? going.map((id) => longest(undo.snapshots, facts.get(id)?.tags ?? new Map())) : []
    const retained = snapshotRules.filter((rule): rule is RetentionRule => rule !== undefined)
    // Billed while the longest snapshot rule keeps any of them (Recycle Bin: resources in the bin are
    // billed at their usual rates), so the savings start then.
    const billedBy = [...retained].sort((a, b) => b.retentionDays - a.retentionDays)[0]
    if (billedBy) entry.billed = { until: new Date(now + billedBy.retentionDays * DAY).toISOString(), rule: billedBy.id }
    if (imageRule) {
      // An image in the bin is restorable only while every snapshot it needs still exists: those it
      // keeps (delete-snapshots: false, or used by another image) do; those deleted only while a
      // snapshot rule keeps them (Recycle Bin User Guide: otherwise "the AMI is no longer recoverable").
      const shortest =
        going.length === 0 ? undefined : snapshotRules.some((rule) => !rule) ? 0 : Math.min(...retained.map((rule) => rule.retentionDays))
      const days = shortest === undefined ? imageRule.retentionDays : Math.min(imageRule.retentionDays, shortest)
      if (days > 0) entry.recoverable = { until: new Date(now + days * DAY).toISOString(), rule: imageRule.id }
      if (shortest !== undefined && shortest < imageRule.retentionDays)
        log.warning(
          `${image.imageId} in ${region} stays in the Recycle Bin for ${imageRule.retentionDays} days (rule ${imageRule.id}) but its snapshots ` +
            (shortest === 0
              ? 'are deleted for good (no snapshot rule keeps them all)'
              : `for only ${shortest} (snapshot rule ${retained.sort((a, b) => a.retentionDays - b.retentionDays)[0]!.id})`) +
            ': an image restored after they are gone cannot be used (Recycle Bin User Guide). Give a snapshot rule at least as long a retention, or set delete-snapshots: false.'
        )
    }
    frees.set(image.imageId, entry)
  }
  return frees
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
 * The rule that keeps a resource longest, of those that apply to it (Recycle Bin User Guide): a
 * tag-level rule applies to a resource with any of its tags; a region-level rule to every resource
 * but one with any of its exclusion tags. Where several apply, the longest retention wins. AWS does
 * not say how a rule's tag without a value matches, so it is read the cautious way each time —
 * "recoverable" is never claimed where it may not hold: a rule's tag without a value retains only
 * resources whose tag value is empty, and an exclusion tag without a value excludes any value.
 */
function longest(rules: readonly RetentionRule[], tags: ReadonlyMap<string, string>): RetentionRule | undefined {
  const retains = (tag: ResourceTagRule): boolean => tags.has(tag.key) && tags.get(tag.key) === (tag.value ?? '')
  const excludes = (tag: ResourceTagRule): boolean => tags.has(tag.key) && (tag.value === undefined || tags.get(tag.key) === tag.value)
  const applying = rules.filter((rule) => (rule.tags.length > 0 ? rule.tags.some(retains) : !rule.excludeTags.some(excludes)))
  return applying.sort((a, b) => b.retentionDays - a.retentionDays)[0]
}
