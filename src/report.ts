// The step's outputs and job summary, both drawn from the release state, in one place. They are
// written whether the step succeeded or not, so a later job can resume or clean up.
import type { Plan } from './inputs.ts'
import type { Release, ReleaseImage, Retired } from './release.ts'

export type Outputs = Record<
  'image-id' | 'image-name' | 'image-ids' | 'snapshot-ids' | 'pruned-image-ids' | 'pruned-snapshot-ids' | 'launch-template-versions',
  string
>

/**
 * Everything the step made, kept, shared or retired, per region: the `manifest` output's file,
 * for artifacts and audits.
 */
export function manifestOf(release: Release, plan: Plan | undefined, failure: string | undefined) {
  const regions = new Set([
    ...release.regions(),
    ...release.pruned.keys(),
    ...release.unsettled.keys(),
    ...release.removedFailed.keys(),
    ...release.replaced.keys(),
    ...release.published.keys(),
    ...release.prunePlan.map((d) => d.region)
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
                ...(image.distribution && { distribution: image.distribution })
              }
            }),
            removedFailed: release.removedFailed.get(region) ?? { imageIds: [], snapshotIds: [] },
            ...(release.replaced.has(region) && { replaced: release.replaced.get(region) }),
            ...(release.published.has(region) && { published: release.published.get(region) }),
            ...(release.unsettled.has(region) && { unsettled: release.unsettled.get(region) }),
            prune: {
              kept: release.prunePlan
                .filter((d) => d.region === region && d.action === 'keep')
                .map(({ imageId, name, reason }) => ({ imageId, name, reason })),
              ...(plan?.prune && { retire: plan.prune.retire }),
              retired: release.pruned.get(region) ?? { imageIds: [], snapshotIds: [] }
            }
          }
        ]
      })
    )
  }
}

export function outputsOf(release: Release): Outputs {
  const regions = release.regions()
  const source = release.source
  return {
    'image-id': source?.imageId ?? '',
    'image-name': source?.name ?? '',
    'image-ids': JSON.stringify(Object.fromEntries(regions.map((region) => [region, release.get(region)!.imageId]))),
    'snapshot-ids': JSON.stringify(Object.fromEntries(regions.map((region) => [region, release.get(region)!.snapshotIds]))),
    'pruned-image-ids': JSON.stringify(Object.fromEntries([...release.pruned].map(([region, retired]) => [region, retired.imageIds]))),
    'pruned-snapshot-ids': JSON.stringify(
      Object.fromEntries([...release.pruned].map(([region, retired]) => [region, retired.snapshotIds]))
    ),
    'launch-template-versions': JSON.stringify(
      Object.fromEntries(
        [...release.published].flatMap(([region, published]) =>
          published.launchTemplate && published.launchTemplate.version > 0 && !published.launchTemplate.invalid
            ? [[region, published.launchTemplate.version]]
            : []
        )
      )
    )
  }
}

/** The job summary as Markdown: the images per region, what was removed, and the prune plan. */
export function summaryOf(release: Release, plan: Plan | undefined, failure: string | undefined): string {
  const lines: string[] = [`## AMI Pipeline${plan ? `: ${[...plan.modes].join(', ')}` : ''}${plan?.dryRun ? ' (dry run)' : ''}`, '']
  if (failure !== undefined) lines.push(`> [!CAUTION]`, `> ${failure.replace(/\n/g, '\n> ')}`, '')
  const images = release.regions().map((region) => release.get(region)!)
  if (images.length > 0) {
    const distributed = images.some((image) => image.distribution)
    lines.push(
      `| Region | Image | Name | State | Origin | Snapshots |${distributed ? ' Shared with | Deprecation | Protected |' : ''}`,
      `|---|---|---|---|---|---|${distributed ? '---|---|---|' : ''}`
    )
    for (const image of images) {
      const state = image.stateReason && image.state !== 'available' ? `${image.state}: ${image.stateReason}` : image.state
      const d = image.distribution
      const distribution = distributed
        ? ` ${d?.sharedWith.join(', ') || '—'}${snapshotsShared(image)} | ${d?.deprecateAt ?? '—'} | ${d?.protected ? 'yes' : 'no'} |`
        : ''
      lines.push(
        `| ${image.region} | ${linked(image.region, image.imageId)} | ${cell(image.name)} | ${cell(state)} | ${image.origin} | ${image.snapshotIds.join(', ') || '—'} |${distribution}`
      )
    }
    lines.push('')
  }
  lines.push(...removedSection('Failed images removed (they could never be launched)', release.removedFailed))
  lines.push(...removedSection(`${plan?.dryRun ? 'Would be replaced' : 'Replaced'} (same name, if-exists: replace)`, release.replaced))
  lines.push(...publishedSection(release, plan?.dryRun ?? false))
  if (release.prunePlan.length > 0) {
    const retiring = release.prunePlan.filter((decision) => decision.action === 'retire').length
    lines.push(`### Prune plan: ${retiring} to retire, ${release.prunePlan.length - retiring} kept`, '')
    lines.push('| Region | Image | Name | Created | Group | Decision | Why |', '|---|---|---|---|---|---|---|')
    for (const d of release.prunePlan) {
      lines.push(
        `| ${d.region} | ${d.imageId} | ${cell(d.name)} | ${d.creationDate} | ${cell(d.group) || '—'} | ${d.action === 'retire' ? '**retire**' : 'keep'} | ${cell(d.reason)} |`
      )
    }
    lines.push('')
  }
  const how = plan?.prune?.retire ?? 'deregister'
  const retiredTitle = how === 'deregister' ? 'Retired' : how === 'disable' ? 'Retired (disabled)' : 'Retired (deprecated)'
  lines.push(...removedSection(plan?.dryRun ? `Would be ${retiredTitle.toLowerCase()}` : retiredTitle, release.pruned))
  lines.push(
    ...removedSection(
      'Left unsettled by the cancel (images whose deregistration EC2 had not answered; snapshots to delete if no image uses them)',
      release.unsettled
    )
  )
  return lines.join('\n')
}

/** Whether share-snapshots shared the image's snapshots: all of them, or which so far. */
function snapshotsShared(image: ReleaseImage): string {
  const shared = image.distribution?.sharedSnapshotIds ?? []
  if (shared.length === 0) return ''
  const all = image.snapshotIds.every((id) => shared.includes(id))
  return all ? ' (snapshots too)' : ` (snapshots ${shared.join(', ')} only)`
}

/** Where publish pointed consumers, and what they pointed at before. */
function publishedSection(release: Release, dryRun: boolean): string[] {
  if (release.published.size === 0) return []
  const lines = [`### ${dryRun ? 'Would be published' : 'Published'}`, '', '| Region | Where | Now | Before |', '|---|---|---|---|']
  for (const [region, { parameter, launchTemplate }] of release.published) {
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
