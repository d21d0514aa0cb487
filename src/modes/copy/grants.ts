// What a target account needs before it can copy the source image — launch permission on the image
// and createVolumePermission on its snapshots (EC2 User Guide, "Copy an Amazon EC2 AMI",
// cross-account copying) — given by the source account, and taken back once the copies exist.
// Only what the step gave is taken back: an account that could already launch the image, or that
// share-accounts names, keeps what it has. The grants the step gave are marked on the source image
// (GRANTED_TO) before they are made and unmarked once taken back, so a later attempt of the run
// recognises them as the step's and takes them back too.
import { shareImage, shareSnapshot, sharedWith, unshareImage, unshareSnapshot, volumePermissions } from '../../aws/sharing.ts'
import { tagResources, untagResources } from '../../aws/new-images.ts'
import type { Context } from '../../context.ts'
import type { SharePlan } from '../../inputs/index.ts'
import type { Grant } from '../../journal.ts'
import type { ReleaseImage } from '../../release.ts'
import { GRANTED_TO } from '../../tags.ts'

/** Tag values hold 256 characters: 12 entries of up to 20 (an account id and /volumes) with spaces between. */
const ACCOUNTS_PER_TAG = 12
const VOLUMES_ONLY = '/volumes'

/** The grants an earlier attempt marked on the source: account → whether it gave launch permission. */
export function markedGrants(tags: ReadonlyMap<string, string> | undefined): Map<string, boolean> {
  const marked = new Map<string, boolean>()
  for (const [key, value] of tags ?? []) {
    if (key !== GRANTED_TO && !key.startsWith(`${GRANTED_TO}-`)) continue
    for (const entry of value.split(' ').filter(Boolean)) {
      const account = entry.replace(VOLUMES_ONLY, '')
      marked.set(account, (marked.get(account) ?? false) || !entry.endsWith(VOLUMES_ONLY))
    }
  }
  return marked
}

/** Gives each account what it lacks to copy the source; returns what was given, marked first. */
export async function grantCopy(context: Context, source: ReleaseImage, accounts: readonly string[]): Promise<Grant[]> {
  const { aws } = context
  const { region, imageId, snapshotIds } = source
  const marked = markedGrants(source.tags)
  const launch = await sharedWith(aws, region, imageId)
  const volumes = new Map(await Promise.all(snapshotIds.map(async (id) => [id, await volumePermissions(aws, region, id)] as const)))
  const grants: Grant[] = []
  for (const account of accounts) {
    const earlier = marked.get(account)
    const lacksLaunch = !launch.includes(account) && !launch.includes('all')
    const lacksVolumes = snapshotIds.filter((id) => !(volumes.get(id) ?? []).some((who) => who === account || who === 'all'))
    const grant: Grant = {
      region,
      imageId,
      account,
      launchPermission: lacksLaunch || earlier === true,
      snapshotIds: earlier !== undefined ? [...snapshotIds] : lacksVolumes,
      outcome: 'granted'
    }
    if (grant.launchPermission || grant.snapshotIds.length > 0) grants.push(grant)
  }
  await mark(context, source, grants)
  context.journal.grants.push(...grants)
  const launchFor = grants.filter((grant) => grant.launchPermission && !launch.includes(grant.account)).map((grant) => grant.account)
  if (launchFor.length > 0) await shareImage(aws, region, imageId, { accounts: launchFor, organizations: [], organizationalUnits: [] })
  for (const snapshotId of snapshotIds) {
    const lacking = grants
      .filter((grant) => grant.snapshotIds.includes(snapshotId) && !(volumes.get(snapshotId) ?? []).includes(grant.account))
      .map((grant) => grant.account)
    if (lacking.length > 0) await shareSnapshot(aws, region, snapshotId, lacking)
  }
  if (grants.length > 0)
    context.log.info(
      `Gave ${grants.map((grant) => grant.account).join(', ')} what copying ${imageId} needs (launch permission, createVolumePermission on ${snapshotIds.join(', ')}), until the copies exist.`
    )
  return grants
}

/**
 * Takes back every grant but those of `left` (accounts whose copies are not done: taking the grant
 * back could fail them), and keeps what share-accounts (and share-snapshots) asks to share anyway.
 */
export async function takeBackGrants(
  context: Context,
  source: ReleaseImage,
  grants: readonly Grant[],
  left: ReadonlyMap<string, string>,
  sharing: SharePlan | undefined
): Promise<void> {
  const { aws } = context
  const { region, imageId } = source
  const keeps = (account: string): boolean => sharing?.shareAccounts.includes(account) ?? false
  const settling = grants.filter((grant) => !left.has(grant.account))
  for (const grant of grants) {
    const why = left.get(grant.account)
    if (why !== undefined) Object.assign(grant, { outcome: 'left', reason: why })
  }
  const launchBack = settling.filter((grant) => grant.launchPermission && !keeps(grant.account)).map((grant) => grant.account)
  await unshareImage(aws, region, imageId, launchBack)
  for (const snapshotId of source.snapshotIds) {
    const back = settling
      .filter((grant) => grant.snapshotIds.includes(snapshotId) && !(keeps(grant.account) && sharing?.shareSnapshots))
      .map((grant) => grant.account)
    await unshareSnapshot(aws, region, snapshotId, back)
  }
  for (const grant of settling) {
    grant.outcome = keeps(grant.account) ? 'kept' : 'taken back'
    if (keeps(grant.account)) grant.reason = 'share-accounts names it'
  }
  await mark(
    context,
    source,
    grants.filter((grant) => left.has(grant.account))
  )
  const taken = settling.filter((grant) => grant.outcome === 'taken back').map((grant) => grant.account)
  if (taken.length > 0) context.log.info(`Took back from ${taken.join(', ')} the permissions given on ${imageId} for copying.`)
  const stay = grants.filter((grant) => grant.outcome === 'left')
  if (stay.length > 0)
    context.log.warning(
      `${imageId} in ${region} still gives ${stay.map((grant) => `${grant.account} (${grant.reason ?? ''})`).join(', ')} what copying needs: ` +
        `re-run this step once the copies are available and it takes the permissions back (the ${GRANTED_TO} tag on the image names them).`
    )
}

/** Writes the marker for exactly these grants on the source image, removing what no longer holds. */
async function mark(context: Context, source: ReleaseImage, grants: readonly Grant[]): Promise<void> {
  const wanted = new Map<string, string>()
  const entries = grants.map((grant) => (grant.launchPermission ? grant.account : `${grant.account}${VOLUMES_ONLY}`))
  for (let at = 0, n = 1; at < entries.length; at += ACCOUNTS_PER_TAG, n++)
    wanted.set(n === 1 ? GRANTED_TO : `${GRANTED_TO}-${n}`, entries.slice(at, at + ACCOUNTS_PER_TAG).join(' '))
  const tags = source.tags ?? new Map<string, string>()
  const stale = new Map(
    [...tags].filter(([key, value]) => (key === GRANTED_TO || key.startsWith(`${GRANTED_TO}-`)) && wanted.get(key) !== value)
  )
  const fresh = new Map([...wanted].filter(([key, value]) => tags.get(key) !== value))
  // New values first: the marker never names fewer grants than exist.
  await tagResources(context.aws, source.region, [source.imageId], fresh)
  const gone = new Map([...stale].filter(([key]) => !wanted.has(key)))
  await untagResources(context.aws, source.region, [source.imageId], gone)
  if (context.plan.dryRun) return
  for (const key of gone.keys()) tags.delete(key)
  for (const [key, value] of fresh) tags.set(key, value)
  source.tags = tags
}
