// The step's outputs, manifest and job summary, all drawn from the release and the journal, in one
// place. They are written whether the step succeeded or not, so a later job can resume or clean up.
import type { Plan } from './inputs/index.ts'
import type { Journal, Retired } from './journal.ts'
import type { Release, ReleaseImage } from './release.ts'

export type Outputs = Record<
  'image-id' | 'image-name' | 'image-ids' | 'snapshot-ids' | 'pruned-image-ids' | 'pruned-snapshot-ids' | 'launch-template-versions',
  string
>

/**
 * Everything the step made, kept, shared or retired, per region: the `manifest` output's file,
 * for artifacts and audits.
 */
export function manifestOf(release: Release, journal: Journal, plan: Plan | undefined, failure: string | undefined) {
  const regions = new Set([
    ...release.regions(),
    ...journal.retired.keys(),
    ...journal.unsettled.keys(),
    ...journal.removedFailed.keys(),
    ...journal.replaced.keys(),
    ...journal.published.keys(),
    ...journal.prunePlan.map((d) => d.region)
  ])
  return {
    version: 1,
    modes: plan ? [...plan.modes] : [],
    dryRun: plan?.dryRun ?? false,
    sourceRegion: release.sourceRegion,
    succeeded: failure === undefined,
    ...(failure !== undefined && { failure }),
    regions: Object.fromEntries(
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
    )
  }
}

/** The job summary as Markdown: the images per region, what was removed, and the prune plan. */
export function summaryOf(release: Release, journal: Journal, plan: Plan | undefined, failure: string | undefined): string {
  const lines: string[] = [`## AMI Pipeline${plan ? `: ${[...plan.modes].join(', ')}` : ''}${plan?.dryRun ? ' (dry run)' : ''}`, '']
  if (failure !== undefined) lines.push(`> [!CAUTION]`, `> ${failure.replace(/\n/g, '\n> ')}`, '')
  const images = release.regions().map((region) => release.get(region)!)
  if (images.length > 0) {
    const distributed = images.some((image) => image.sharing)
    lines.push(
      `| Region | Image | Name | State | Origin | Snapshots |${distributed ? ' Shared with | Deprecation | Protected |' : ''}`,
      `|---|---|---|---|---|---|${distributed ? '---|---|---|' : ''}`
    )
    for (const image of images) {
      const state = image.stateReason && image.state !== 'available' ? `${image.state}: ${image.stateReason}` : image.state
      const d = image.sharing
      const distribution = distributed
        ? ` ${d?.sharedWith.join(', ') || '—'}${snapshotsShared(image)} | ${d?.deprecateAt ?? '—'} | ${d?.protected ? 'yes' : 'no'} |`
        : ''
      lines.push(
        `| ${image.region} | ${linked(image.region, image.imageId)} | ${cell(image.name)} | ${cell(state)} | ${image.origin} | ${image.snapshotIds.join(', ') || '—'} |${distribution}`
      )
    }
    lines.push('')
  }
  lines.push(...removedSection('Failed images removed (they could never be launched)', journal.removedFailed))
  lines.push(...removedSection(`${plan?.dryRun ? 'Would be replaced' : 'Replaced'} (same name, if-exists: replace)`, journal.replaced))
  lines.push(...publishedSection(journal, plan?.dryRun ?? false))
  if (journal.prunePlan.length > 0) {
    const retiring = journal.prunePlan.filter((decision) => decision.action === 'retire').length
    lines.push(`### Prune plan: ${retiring} to retire, ${journal.prunePlan.length - retiring} kept`, '')
    lines.push('| Region | Image | Name | Created | Group | Decision | Why |', '|---|---|---|---|---|---|---|')
    for (const d of journal.prunePlan) {
      lines.push(
        `| ${d.region} | ${d.imageId} | ${cell(d.name)} | ${d.creationDate} | ${cell(d.group) || '—'} | ${d.action === 'retire' ? '**retire**' : 'keep'} | ${cell(d.reason)} |`
      )
    }
    lines.push('')
  }
  const how = plan?.prune?.retire ?? 'deregister'
  const retiredTitle = how === 'deregister' ? 'Retired' : how === 'disable' ? 'Retired (disabled)' : 'Retired (deprecated)'
  lines.push(...removedSection(plan?.dryRun ? `Would be ${retiredTitle.toLowerCase()}` : retiredTitle, journal.retired))
  lines.push(
    ...removedSection(
      'Left unsettled by the cancel (images whose deregistration EC2 had not answered; snapshots to delete if no image uses them)',
      journal.unsettled
    )
  )
  return lines.join('\n')
}

/** Whether share-snapshots shared the image's snapshots: all of them, or which so far. */
function snapshotsShared(image: ReleaseImage): string {
  const shared = image.sharing?.sharedSnapshotIds ?? []
  if (shared.length === 0) return ''
  const all = image.snapshotIds.every((id) => shared.includes(id))
  return all ? ' (snapshots too)' : ` (snapshots ${shared.join(', ')} only)`
}

/** Where publish pointed consumers, and what they pointed at before. */
function publishedSection(journal: Journal, dryRun: boolean): string[] {
  if (journal.published.size === 0) return []
  const lines = [`### ${dryRun ? 'Would be published' : 'Published'}`, '', '| Region | Where | Now | Before |', '|---|---|---|---|']
  for (const [region, { parameter, launchTemplate }] of journal.published) {
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

function removedSection(title: string, removed: ReadonlyMap<string, Retired>): string[] {
  if (removed.size === 0) return []
  const lines = [`### ${title}`, '', '| Region | Images | Snapshots |', '|---|---|---|']
  for (const [region, retired] of removed)
    lines.push(`| ${region} | ${retired.imageIds.join(', ')} | ${retired.snapshotIds.join(', ') || '—'} |`)
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

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}
