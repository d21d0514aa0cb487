// The step's outputs, manifest and job summary, all drawn from the release and the journal, in one
// place. They are written whether the step succeeded or not, so a later job can resume or clean up.
import type { Plan } from './inputs/index.ts'
import type { PrunePlan } from './inputs/index.ts'
import { dollars, gibOf } from './images/savings.ts'
import type { Frees, Journal, PruneDecision, Retired } from './journal.ts'
import { formatDuration } from './time.ts'
import type { Release, ReleaseImage } from './release.ts'

export type Outputs = Record<
  | 'image-id'
  | 'image-name'
  | 'image-ids'
  | 'snapshot-ids'
  | 'pruned-image-ids'
  | 'pruned-snapshot-ids'
  | 'launch-template-versions'
  | 'account-image-ids'
  | 'savings',
  string
>

/**
 * Everything the step made, kept, shared or retired, per region: the `manifest` output's file,
 * for artifacts and audits.
 */
export function manifestOf(release: Release, journal: Journal, plan: Plan | undefined, failure: string | undefined) {
  return {
    version: 1,
    modes: plan ? [...plan.modes] : [],
    dryRun: plan?.dryRun ?? false,
    sourceRegion: release.sourceRegion,
    succeeded: failure === undefined,
    ...(failure !== undefined && { failure }),
    regions: manifestRegions(release, journal, plan),
    ...(plan?.prune && { savings: savingsOutput(journal) }),
    ...(journal.grants.length > 0 && { grants: journal.grants }),
    ...(journal.accounts.length > 0 && {
      accounts: Object.fromEntries(
        journal.accounts.map((account) => [
          account.id,
          {
            roleArn: account.roleArn,
            regions: manifestRegions(account.release, account.journal, plan),
            ...(plan?.prune && { savings: savingsOutput(account.journal) })
          }
        ])
      )
    })
  }
}

/** One account's images and what the step did to them, per region. */
function manifestRegions(release: Release, journal: Journal, plan: Plan | undefined) {
  const regions = new Set([
    ...release.regions(),
    ...journal.retired.keys(),
    ...journal.unsettled.keys(),
    ...journal.removedFailed.keys(),
    ...journal.replaced.keys(),
    ...journal.published.keys(),
    ...journal.prunePlan.map((d) => d.region)
  ])
  return Object.fromEntries(
    [...regions].map((region) => {
      const image = release.get(region)
      return [
        region,
        {
          ...(image && {
            image: {
              imageId: image.imageId,
              name: image.name,
              origin: image.origin,
              state: image.state,
              snapshotIds: image.snapshotIds,
              ...(image.encrypted !== undefined && { encrypted: image.encrypted }),
              ...(image.sharing && { distribution: image.sharing })
            }
          }),
          removedFailed: journal.removedFailed.get(region) ?? { imageIds: [], snapshotIds: [] },
          ...(journal.replaced.has(region) && { replaced: journal.replaced.get(region) }),
          ...(journal.published.has(region) && { published: journal.published.get(region) }),
          ...(journal.unsettled.has(region) && { unsettled: journal.unsettled.get(region) }),
          prune: {
            kept: journal.prunePlan
              .filter((d) => d.region === region && d.action === 'keep')
              .map(({ imageId, name, reason }) => ({ imageId, name, reason })),
            ...(plan?.prune && { retire: plan.prune.retire }),
            retired: journal.retired.get(region) ?? { imageIds: [], snapshotIds: [] }
          }
        }
      ]
    })
  )
}

export function outputsOf(release: Release, journal: Journal): Outputs {
  const regions = release.regions()
  const source = release.source
  return {
    'image-id': source?.imageId ?? '',
    'image-name': source?.name ?? '',
    'image-ids': JSON.stringify(Object.fromEntries(regions.map((region) => [region, release.get(region)!.imageId]))),
    'snapshot-ids': JSON.stringify(Object.fromEntries(regions.map((region) => [region, release.get(region)!.snapshotIds]))),
    'pruned-image-ids': JSON.stringify(Object.fromEntries([...journal.retired].map(([region, retired]) => [region, retired.imageIds]))),
    'pruned-snapshot-ids': JSON.stringify(
      Object.fromEntries([...journal.retired].map(([region, retired]) => [region, retired.snapshotIds]))
    ),
    'launch-template-versions': JSON.stringify(
      Object.fromEntries(
        [...journal.published].flatMap(([region, published]) =>
          published.launchTemplate && published.launchTemplate.version > 0 && !published.launchTemplate.invalid
            ? [[region, published.launchTemplate.version]]
            : []
        )
      )
    ),
    savings: JSON.stringify(savingsOutput(journal)),
    'account-image-ids': JSON.stringify(
      Object.fromEntries(
        journal.accounts.map((account) => [
          account.id,
          Object.fromEntries(account.release.regions().map((region) => [region, account.release.get(region)!.imageId]))
        ])
      )
    )
  }
}

/**
 * The `savings` output: what the images the step retired (a dry run: would retire) stored and cost,
 * from the plan's figures for exactly those images.
 */
export function savingsOutput(journal: Journal): {
  gib: number
  'usd-per-month': number
  regions: Record<string, { gib: number; 'usd-per-month': number }>
} {
  const retired = journal.prunePlan.filter((d) => d.action === 'retire' && journal.retired.get(d.region)?.imageIds.includes(d.imageId))
  // What was deleted, not what was planned: a snapshot whose deletion failed saves nothing.
  const totals = savingsOf(retired, (region) => new Set(journal.retired.get(region)?.snapshotIds ?? []))
  return {
    gib: gibOf(totals.bytes),
    'usd-per-month': dollars(totals.usd),
    regions: Object.fromEntries(
      Object.entries(totals.regions).map(([region, t]) => [region, { gib: gibOf(t.bytes), 'usd-per-month': dollars(t.usd) }])
    )
  }
}

/**
 * GitHub keeps at most 1 MiB of a step's summary ("Adding a job summary": "the size of the job
 * summary for a step is limited to 1 MiB"). The summary stays under this, with room to spare: past
 * it, the prune plan lists every image it retires and as many kept ones as fit.
 */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024 - 64 * 1024
/** A plan longer than this is folded into <details>, so the summary's other sections stay in view. */
const PLAN_ROWS_SHOWN = 20

/**
 * The job summary as Markdown: what the step did (never nothing), the images per region, what was
 * removed, where consumers were pointed, and the prune plan with the rules that made it. Everything
 * quoted from AWS or the user is escaped, so an error quoting `<html>` shows as text.
 */
export function summaryOf(
  release: Release,
  journal: Journal,
  plan: Plan | undefined,
  failure: string | undefined,
  now: number = Date.now()
): string {
  const head = [`## AMI Pipeline${plan ? `: ${[...plan.modes].join(', ')}` : ''}${plan?.dryRun ? ' (dry run)' : ''}`, '']
  if (failure !== undefined) head.push(`> [!CAUTION]`, `> ${escape(failure).replace(/\n/g, '\n> ')}`, '')
  if (plan?.dryRun) head.push('> [!NOTE]', '> Dry run: EC2 checked each change with `DryRun`; no image was made, changed or retired.', '')
  const accounts = journal.accounts
  // With target accounts, the summary is grouped by account: the step's own first.
  const parts = [
    { title: accounts.length > 0 ? 'This step’s account' : undefined, release, journal },
    ...accounts.map((account) => ({ title: `Account ${account.id}`, release: account.release, journal: account.journal }))
  ]
  const sections = parts.map((part) => accountSections(part.release, part.journal, plan))
  const grants = grantsSection(journal)
  const fixed = [...head, ...grants, ...sections.flatMap((section) => [...section.body, ...section.tail])].join('\n')
  // The prune plans share what is left of the summary's room.
  const budget = (SUMMARY_LIMIT_BYTES - bytes(fixed)) / parts.length
  const out = [...head]
  parts.forEach((part, i) => {
    const { body, tail, order } = sections[i]!
    const prune = plan?.prune ? pruneSection(plan.prune, part.journal.prunePlan, order, now, budget) : []
    const all = [...body, ...prune, ...tail]
    if (part.title !== undefined) out.push(`### ${part.title}`, '')
    if (part.title !== undefined && i === 0) out.push(...grants)
    if (all.length === 0 && (part.title === undefined ? grants.length === 0 : true))
      all.push(
        failure === undefined ? 'Nothing was made, changed or retired: there was nothing to do.' : 'Nothing was made, changed or retired.',
        ''
      )
    out.push(...(part.title === undefined ? all : deeper(all)))
  })
  if (accounts.length === 0) out.splice(head.length, 0, ...grants)
  return out.join('\n')
}

/** One account's part of the summary: its images, removals and publishing; its prune plan goes between body and tail. */
function accountSections(release: Release, journal: Journal, plan: Plan | undefined): { body: string[]; tail: string[]; order: string[] } {
  const order = regionOrder(release, plan)
  const body: string[] = [...imagesSection(release, order)]
  body.push(...removedSection('Failed images removed (they could never be launched)', journal.removedFailed, order))
  body.push(
    ...removedSection(`${plan?.dryRun ? 'Would be replaced' : 'Replaced'} (same name, if-exists: replace)`, journal.replaced, order)
  )
  body.push(...publishedSection(journal, plan?.dryRun ?? false, order))
  const how = plan?.prune?.retire ?? 'deregister'
  const retiredTitle = how === 'deregister' ? 'Retired' : how === 'disable' ? 'Retired (disabled)' : 'Retired (deprecated)'
  const tail = [
    ...removedSection(plan?.dryRun ? `Would be ${retiredTitle.toLowerCase()}` : retiredTitle, journal.retired, order),
    ...removedSection(
      'Left unsettled by the cancel (images whose deregistration EC2 had not answered; snapshots to delete if no image uses them)',
      journal.unsettled,
      order
    )
  ]
  return { body, tail, order }
}

/** An account's sections sit one heading level below its own heading. */
function deeper(lines: readonly string[]): string[] {
  return lines.map((line) => (line.startsWith('### ') ? `#${line}` : line))
}

/** What copy gave the target accounts on the source image so that they could copy it, and what became of it. */
function grantsSection(journal: Journal): string[] {
  if (journal.grants.length === 0) return []
  const lines = [
    '### Permissions given for copying into target accounts',
    '',
    '| Account | Image | Launch permission | Snapshots | Now |',
    '|---|---|---|---|---|'
  ]
  for (const grant of journal.grants)
    lines.push(
      `| ${grant.account} | ${linked(grant.region, grant.imageId)} | ${grant.launchPermission ? 'given' : 'had it already'} | ${grant.snapshotIds.join(', ') || '—'} | ${grant.outcome}${grant.reason ? `: ${cell(grant.reason)}` : ''} |`
    )
  return [...lines, '']
}

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8')

/** One order of regions for every table: the source, then `regions` as written, then the prune regions. */
function regionOrder(release: Release, plan: Plan | undefined): string[] {
  return [...new Set([release.sourceRegion, ...(plan?.copy?.regions ?? []), ...release.regions(), ...(plan?.prune?.regions ?? [])])]
}

function inOrder<T>(order: readonly string[], items: readonly T[], regionOf: (item: T) => string): T[] {
  const rank = (region: string) => (order.includes(region) ? order.indexOf(region) : order.length)
  return [...items].sort((a, b) => rank(regionOf(a)) - rank(regionOf(b)))
}

function imagesSection(release: Release, order: readonly string[]): string[] {
  const images = inOrder(order, release.regions(), (region) => region).map((region) => release.get(region)!)
  if (images.length === 0) return []
  const distributed = images.some((image) => image.sharing)
  const measured = images.some((image) => image.stored)
  const lines = [
    `| Region | Image | Name | State | Origin | Snapshots |${measured ? ' Stores |' : ''}${distributed ? ' Shared with | Deprecation | Protected |' : ''}`,
    `|---|---|---|---|---|---|${measured ? '---|' : ''}${distributed ? '---|---|---|' : ''}`
  ]
  for (const image of images) {
    const state = image.stateReason && image.state !== 'available' ? `${image.state}: ${image.stateReason}` : image.state
    const d = image.sharing
    const distribution = distributed
      ? ` ${cell(d?.sharedWith.join(', ') || '—')}${snapshotsShared(image)} | ${d?.deprecateAt ? timeOf(d.deprecateAt) : '—'} | ${d?.protected ? 'yes' : 'no'} |`
      : ''
    const stores = measured ? ` ${storedText(image)} |` : ''
    lines.push(
      `| ${image.region} | ${linked(image.region, image.imageId)} | ${cell(image.name)} | ${cell(state)} | ${image.origin} | ${image.snapshotIds.join(', ') || '—'} |${stores}${distribution}`
    )
  }
  const stored = images.flatMap((image) => (image.stored ? [image.stored.bytes] : []))
  if (measured)
    lines.push(
      '',
      `The new release stores at most ${gibText(stored.reduce((sum, n) => sum + n, 0))} of snapshots, each image's full written size (\`FullSnapshotSizeInBytes\`): EBS stores a snapshot incrementally where an earlier one of the same lineage still exists, so the bill may be less.`
    )
  return [...lines, '']
}

/** The rules that made the plan, in the inputs' own words. */
function rulesOf(rules: PrunePlan): string {
  const selectors = [
    ...(rules.name !== undefined ? [`\`prune-name: ${escape(rules.name)}\``] : []),
    ...[...rules.tags].map(([key, value]) => `\`prune-tags: ${escape(key)}=${escape(value)}\``)
  ]
  const parts = [
    `images matching ${selectors.join(' and ')} in ${rules.regions.join(', ')}`,
    `keep the newest ${rules.keep} launchable${rules.groupBy ? ` per \`${escape(rules.groupBy)}\` tag value` : ''}`,
    `older than ${formatDuration(rules.olderThanMs)}${rules.onlyDisabled ? ' since prune disabled them' : ''}`,
    ...(rules.unusedForMs !== undefined ? [`unused for ${formatDuration(rules.unusedForMs)}`] : []),
    ...(rules.onlyDisabled ? ['only images prune disabled (`only-disabled`)'] : []),
    `retire: ${rules.retire}${rules.retire === 'deregister' ? (rules.deleteSnapshots ? ' with their snapshots' : ', keeping their snapshots') : ''}`,
    `at most ${rules.maxDeletions} (\`max-deletions\`)`
  ]
  return `Rules: ${parts.join('; ')}. Nothing in use, protected or made by this step is retired.`
}

/**
 * The plan: the rules, then every matching image — the ones to retire first — kept (and why) or
 * retired. A long plan is folded; one too long for the summary keeps every retired row and as many
 * kept ones as fit in `budget` bytes, and says how many it left out.
 */
function pruneSection(
  rules: PrunePlan,
  decisions: readonly PruneDecision[],
  order: readonly string[],
  now: number,
  budget: number
): string[] {
  const retiring = decisions.filter((d) => d.action === 'retire').length
  const lines = [`### Prune plan: ${retiring} to retire, ${decisions.length - retiring} kept`, '', rulesOf(rules), '']
  if (decisions.length === 0) return [...lines, 'No image matched the selectors.', '']
  const grouped = rules.groupBy !== undefined
  const header = [
    `| Region | Image | Name | Created |${grouped ? ` ${escape(rules.groupBy!)} |` : ''} Decision | Frees |`,
    `|---|---|---|---|${grouped ? '---|' : ''}---|---|`
  ]
  const rank = (region: string) => {
    const at = order.indexOf(region)
    return at === -1 ? order.length : at
  }
  const sorted = [...decisions].sort(
    (a, b) => rank(a.region) - rank(b.region) || (a.action === b.action ? 0 : a.action === 'retire' ? -1 : 1)
  )
  const row = (d: PruneDecision) =>
    `| ${d.region} | ${linked(d.region, d.imageId)} | ${cell(d.name)} | ${timeOf(d.creationDate)} (${ago(d.creationDate, now)}) |${grouped ? ` ${cell(d.group) || '—'} |` : ''} ${d.action === 'retire' ? '**retire**' : 'keep'}: ${cell(d.reason)} | ${d.action === 'retire' ? freesCell(d.frees) : '—'} |`
  const rows: string[] = []
  let used = bytes([...lines, ...header, '<details>', '</details>'].join('\n')) + 400
  let left = 0
  for (const d of sorted) {
    const text = row(d)
    if (d.action === 'keep' && used + bytes(text) + 1 > budget) {
      left++
      continue
    }
    used += bytes(text) + 1
    rows.push(text)
  }
  const table = [...header, ...rows, '', ...savingsLines(decisions, order)]
  if (left > 0)
    table.push(
      '',
      `${left} more kept images are not shown (the summary is limited to 1 MiB): the step log and the \`manifest\` output list every one.`
    )
  if (decisions.length <= PLAN_ROWS_SHOWN) return [...lines, ...table, '']
  return [...lines, `<details><summary>Every image of the plan (${decisions.length})</summary>`, '', ...table, '', '</details>', '']
}

/** One plan row's savings: size and price, or why there are none, and how long a Recycle Bin rule delays them. */
function freesCell(frees: Frees | undefined): string {
  if (!frees) return '—'
  if (frees.none) return `nothing: ${cell(frees.none)}${recoverable(frees)}`
  const parts: string[] = []
  if (frees.snapshotIds.length === 0)
    parts.push(
      frees.countedWith
        ? `its snapshots are counted with another image of the plan (${frees.countedWith.join(', ')})`
        : 'no snapshot: other images keep using them'
    )
  if (frees.snapshotIds.length > frees.unknown.length) parts.push(`${gibText(frees.bytes)}, ${usdText(frees.usdPerMonth)}/month`)
  if (frees.unknown.length > 0) parts.push(`size unknown for ${frees.unknown.join(', ')}`)
  if (frees.archived) parts.push('archived: deleting within 90 days of archiving is billed for the rest of them')
  return `${parts.join('; ')}${recoverable(frees)}`
}

function recoverable(frees: Frees): string {
  const parts: string[] = []
  if (frees.recoverable) parts.push(`recoverable until ${timeOf(frees.recoverable.until)} (rule ${cell(frees.recoverable.rule)})`)
  if (frees.billed)
    parts.push(`snapshots may be billed until ${timeOf(frees.billed.until)} (rule ${cell(frees.billed.rule)}): the savings start then`)
  if (frees.rulesUnknown) parts.push('Recycle Bin rules unknown: a rule may keep it, and bill its snapshots, for a while')
  return parts.length > 0 ? `; ${parts.join('; ')}` : ''
}

function storedText(image: ReleaseImage): string {
  if (!image.stored) return '—'
  if (image.stored.unknown === image.snapshotIds.length) return 'size unknown'
  return `${gibText(image.stored.bytes)}${image.stored.unknown > 0 ? ` (+${image.stored.unknown} of unknown size)` : ''}`
}

const gibText = (bytes: number): string => `${gibOf(bytes).toFixed(2)} GiB`
const usdText = (usd: number): string => `$${dollars(usd).toFixed(2)}`

/** What the savings figures are, said once under the plan's table, with the totals. */
const SAVINGS_NOTE =
  'Sizes are each snapshot’s full written size (`FullSnapshotSizeInBytes`), an upper bound of what deleting it frees: EBS stores snapshots incrementally, so blocks that a later snapshot (of any volume, or a copy) still references stay, and are billed to it. An archived snapshot is always full. Priced at `snapshot-price` per GB-month, archived snapshots at the archive tier’s quarter of it.'

/** The plan's savings, per region and overall, from its retire rows. */
function savingsLines(decisions: readonly PruneDecision[], order: readonly string[]): string[] {
  const retiring = decisions.filter((d) => d.action === 'retire' && d.frees)
  if (retiring.length === 0 || retiring.every((d) => d.frees!.none)) return []
  const totals = savingsOf(retiring)
  const regions = inOrder(order, Object.keys(totals.regions), (region) => region)
  const perRegion = regions.map((region) => `${region} ${gibText(totals.regions[region]!.bytes)} (${usdText(totals.regions[region]!.usd)})`)
  const unknown = retiring.reduce((n, d) => n + d.frees!.unknown.length, 0)
  return [
    `Retiring these frees **${gibText(totals.bytes)} of snapshots, ${usdText(totals.usd)} a month**${regions.length > 1 ? `: ${perRegion.join(', ')}` : ''}${unknown > 0 ? `, and ${unknown} snapshot${unknown === 1 ? '' : 's'} of unknown size` : ''}.`,
    '',
    SAVINGS_NOTE
  ]
}

/**
 * Bytes and dollars per region and overall, of the given retire decisions; with `deleted`, only of
 * the snapshots that are (a real run's, or a dry run's would-be) deleted.
 */
export function savingsOf(
  decisions: readonly PruneDecision[],
  deleted?: (region: string) => ReadonlySet<string>
): { bytes: number; usd: number; regions: Record<string, { bytes: number; usd: number }> } {
  const regions: Record<string, { bytes: number; usd: number }> = {}
  let bytes = 0
  let usd = 0
  for (const d of decisions) {
    if (!d.frees) continue
    const region = (regions[d.region] ??= { bytes: 0, usd: 0 })
    const gone = deleted?.(d.region)
    for (const size of d.frees.sizes) {
      if (gone && !gone.has(size.snapshotId)) continue
      region.bytes += size.bytes
      region.usd += size.usd
      bytes += size.bytes
      usd += size.usd
    }
  }
  return { bytes, usd, regions }
}

/** 2026-11-02T10:00:00.000Z → 2026-11-02 10:00 UTC */
function timeOf(iso: string): string {
  const at = Date.parse(iso)
  return Number.isNaN(at) ? cell(iso) : new Date(at).toISOString().replace('T', ' ').slice(0, 16) + ' UTC'
}

/** "25 days ago", "3 hours ago". */
function ago(iso: string, now: number): string {
  const ms = now - Date.parse(iso)
  if (Number.isNaN(ms)) return 'age unknown'
  if (ms < 0) return 'in the future'
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute']
  ]
  for (const [size, unit] of units) {
    const n = Math.floor(ms / size)
    if (n >= 1) return `${n} ${unit}${n === 1 ? '' : 's'} ago`
  }
  return 'just now'
}

/** Whether share-snapshots shared the image's snapshots: all of them, or which so far. */
function snapshotsShared(image: ReleaseImage): string {
  const shared = image.sharing?.sharedSnapshotIds ?? []
  if (shared.length === 0) return ''
  const all = image.snapshotIds.every((id) => shared.includes(id))
  return all ? ' (snapshots too)' : ` (snapshots ${shared.join(', ')} only)`
}

/** Where publish pointed consumers, and what they pointed at before. */
function publishedSection(journal: Journal, dryRun: boolean, order: readonly string[]): string[] {
  if (journal.published.size === 0) return []
  const lines = [`### ${dryRun ? 'Would be published' : 'Published'}`, '', '| Region | Where | Now | Before |', '|---|---|---|---|']
  for (const [region, { parameter, launchTemplate }] of inOrder(order, [...journal.published], ([r]) => r)) {
    if (parameter) {
      const now = !parameter.changed
        ? `${parameter.imageId} (version ${parameter.version}, unchanged)`
        : parameter.version !== undefined
          ? `${parameter.imageId} (version ${parameter.version})`
          : dryRun
            ? `${parameter.imageId}`
            : parameter.unconfirmed
              ? `${parameter.imageId} — not confirmed: SSM had not shown it yet and may still store it`
              : `${parameter.imageId} — not stored`
      lines.push(`| ${region} | SSM parameter ${cell(parameter.name)} | ${now} | ${parameter.before ?? '—'} |`)
    }
    if (launchTemplate) {
      const t = launchTemplate
      const now =
        t.changed && dryRun
          ? `a new version${t.isDefault ? ' (default)' : ''}: ${t.imageId}`
          : t.invalid
            ? `version ${t.version} made, but EC2 reports it not valid: not the default`
            : t.version > 0
              ? `version ${t.version}${t.isDefault ? ' (default)' : ''}: ${t.imageId}${t.changed ? '' : ', unchanged'}`
              : `— (${t.imageId} not published)`
      const unknown = t.unconfirmed ? ` (${cell(t.unconfirmed)})` : ''
      lines.push(
        `| ${region} | launch template ${cell(t.name)} (${t.id}) | ${now}${unknown} | default version ${t.previousDefault}: ${cell(t.previousImage ?? '—')} |`
      )
    }
  }
  return [...lines, '']
}

function removedSection(title: string, removed: ReadonlyMap<string, Retired>, order: readonly string[] = []): string[] {
  if (removed.size === 0) return []
  const rank = (region: string) => (order.includes(region) ? order.indexOf(region) : order.length)
  const lines = [`### ${title}`, '', '| Region | Images | Snapshots |', '|---|---|---|']
  for (const [region, retired] of [...removed].sort(([a], [b]) => rank(a) - rank(b)))
    lines.push(`| ${region} | ${retired.imageIds.map((id) => linked(region, id)).join(', ')} | ${retired.snapshotIds.join(', ') || '—'} |`)
  return [...lines, '']
}

/**
 * The EC2 console page of an image, in the partition the region belongs to; none for the ISO
 * partitions, whose consoles are not on the public internet. The European Sovereign Cloud's console
 * is <region>.console.amazonaws-eusc.eu (its endpoints reference).
 */
export function consoleLink(region: string, imageId: string): string | undefined {
  const host = /^us-iso[a-z]?-|^[a-z]{2}-iso[a-z]?-/.test(region)
    ? undefined
    : region.startsWith('cn-')
      ? 'console.amazonaws.cn'
      : region.startsWith('us-gov-')
        ? 'console.amazonaws-us-gov.com'
        : region.startsWith('eusc-')
          ? `${region}.console.amazonaws-eusc.eu`
          : `${region}.console.aws.amazon.com`
  return host && `https://${host}/ec2/home?region=${region}#ImageDetails:imageId=${imageId}`
}

function linked(region: string, imageId: string): string {
  const link = consoleLink(region, imageId)
  return link ? `[${imageId}](${link})` : imageId
}

/** Text for Markdown: HTML's special characters as entities, so nothing quoted renders as markup. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Text for a table cell: escaped, on one line, its pipes kept from splitting the row. */
function cell(text: string): string {
  return escape(text).replace(/\|/g, '\\|').replace(/\n/g, ' ')
}
