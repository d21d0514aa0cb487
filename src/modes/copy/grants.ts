// What a target account needs before it can copy the source image — launch permission on the image
// and createVolumePermission on its snapshots (EC2 User Guide, "Copy an Amazon EC2 AMI",
// cross-account copying) — given by the source account, and taken back once the copies exist.
// Only what the step gave is taken back: an account that could already launch the image, or that
// share-accounts names, keeps what it has. Each grant is marked on the resource it is on (the
// image for launch permission, each snapshot for its volume permission: GRANTED_TO) before it is
// made and unmarked once taken back, so a later attempt or run recognises it as the step's and
// takes it back too, whether or not it still lists that account.
import { tagResources, untagResources } from '../../aws/new-images.ts'
import { shareImage, shareSnapshot, sharedWith, unshareImage, unshareSnapshot, volumePermissions } from '../../aws/sharing.ts'
import type { SnapshotFacts } from '../../aws/snapshots.ts'
import type { Context } from '../../context.ts'
import type { SharePlan } from '../../inputs/index.ts'
import type { Grant } from '../../journal.ts'
import type { ReleaseImage } from '../../release.ts'
import { GRANTED_TO } from '../../tags.ts'

/** Tag values hold 256 characters: 19 account ids of 12 digits with spaces between. */
const ACCOUNTS_PER_TAG = 19

/** The accounts a resource's marker names (GRANTED_TO, and GRANTED_TO-2, … for long lists). */
export function markedAccounts(tags: ReadonlyMap<string, string> | undefined): Set<string> {
  const marked = new Set<string>()
  for (const [key, value] of tags ?? [])
    if (key === GRANTED_TO || key.startsWith(`${GRANTED_TO}-`)) for (const account of value.split(' ')) if (account) marked.add(account)
  return marked
}

/** One resource the step may grant on, as the marker and EC2 describe it now. */
interface Resource {
  id: string
  tags: Map<string, string>
  /** Who may use it now (launch or volume permission). */
  allowed: string[]
}

/**
 * Plans what each account lacks to copy the source, plus what earlier attempts or runs marked (for
 * accounts this step may no longer list), marks it, then gives it. A failure part way leaves the
 * marks naming at least what was given; the caller takes everything back (takeBackGrants).
 */
export async function grantCopy(
  context: Context,
  source: ReleaseImage,
  accounts: readonly string[],
  snapshots: ReadonlyMap<string, SnapshotFacts>
): Promise<Grant[]> {
  const { aws } = context
  const { region, imageId, snapshotIds } = source
  const image: Resource = { id: imageId, tags: source.tags ?? new Map(), allowed: await sharedWith(aws, region, imageId) }
  const volumes: Resource[] = await Promise.all(
    snapshotIds.map(async (id) => ({ id, tags: snapshots.get(id)?.tags ?? new Map(), allowed: await volumePermissions(aws, region, id) }))
  )
  const everyone = [
    ...new Set([...accounts, ...markedAccounts(image.tags), ...volumes.flatMap((volume) => [...markedAccounts(volume.tags)])])
  ]
  const lacks = (resource: Resource, account: string): boolean =>
    markedAccounts(resource.tags).has(account) ||
    (accounts.includes(account) && !resource.allowed.includes(account) && !resource.allowed.includes('all'))
  const grants: Grant[] = everyone.flatMap((account) => {
    const grant: Grant = {
      region,
      imageId,
      account,
      launchPermission: lacks(image, account),
      snapshotIds: volumes.filter((volume) => lacks(volume, account)).map((volume) => volume.id),
      outcome: accounts.includes(account) ? 'granted' : 'taken back'
    }
    return grant.launchPermission || grant.snapshotIds.length > 0 ? [grant] : []
  })
  context.journal.grants.push(...grants)
  // Marks first, on every resource: a mark never names less than is given.
  await mark(
    context,
    region,
    image,
    grants.filter((grant) => grant.launchPermission).map((grant) => grant.account)
  )
  for (const volume of volumes)
    await mark(
      context,
      region,
      volume,
      grants.filter((grant) => grant.snapshotIds.includes(volume.id)).map((grant) => grant.account)
    )
  source.tags = image.tags
  const give = (resource: Resource, list: (grant: Grant) => boolean): string[] =>
    grants
      .filter((grant) => accounts.includes(grant.account) && list(grant) && !resource.allowed.includes(grant.account))
      .map((grant) => grant.account)
  const launchFor = give(image, (grant) => grant.launchPermission)
  if (launchFor.length > 0) await shareImage(aws, region, imageId, { accounts: launchFor, organizations: [], organizationalUnits: [] })
  for (const volume of volumes) {
    const lacking = give(volume, (grant) => grant.snapshotIds.includes(volume.id))
    if (lacking.length > 0) await shareSnapshot(aws, region, volume.id, lacking)
  }
  const given = grants.filter((grant) => accounts.includes(grant.account))
  if (given.length > 0)
    context.log.info(
      `Gave ${given.map((grant) => grant.account).join(', ')} what copying ${imageId} needs (launch permission, createVolumePermission on ${snapshotIds.join(', ')}), until the copies exist.`
    )
  return grants
}

/**
 * Takes back every grant but those of `left` (accounts whose copies are still pending: taking the
 * grant back could fail them), and keeps what share-accounts (and share-snapshots) asks to share
 * anyway. Taking back a permission that was never given changes nothing, so this is also how a
 * failed grantCopy is undone.
 */
export async function takeBackGrants(
  context: Context,
  source: ReleaseImage,
  grants: readonly Grant[],
  snapshots: ReadonlyMap<string, SnapshotFacts>,
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
  await unshareImage(
    aws,
    region,
    imageId,
    settling.filter((grant) => grant.launchPermission && !keeps(grant.account)).map((grant) => grant.account)
  )
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
  const stays = (grant: Grant): boolean => left.has(grant.account)
  const image: Resource = { id: imageId, tags: source.tags ?? new Map(), allowed: [] }
  await mark(
    context,
    region,
    image,
    grants.filter((grant) => stays(grant) && grant.launchPermission).map((grant) => grant.account)
  )
  source.tags = image.tags
  for (const snapshotId of source.snapshotIds) {
    const volume: Resource = { id: snapshotId, tags: snapshots.get(snapshotId)?.tags ?? new Map(), allowed: [] }
    await mark(
      context,
      region,
      volume,
      grants.filter((grant) => stays(grant) && grant.snapshotIds.includes(snapshotId)).map((grant) => grant.account)
    )
  }
  const taken = settling.filter((grant) => grant.outcome === 'taken back').map((grant) => grant.account)
  if (taken.length > 0) context.log.info(`Took back from ${taken.join(', ')} the permissions given on ${imageId} for copying.`)
  const stay = grants.filter(stays)
  if (stay.length > 0)
    context.log.warning(
      `${imageId} in ${region} still gives ${stay.map((grant) => `${grant.account} (${grant.reason ?? ''})`).join(', ')} what copying needs: ` +
        `re-run this step once the copies are available and it takes the permissions back (the ${GRANTED_TO} tags on the image and its snapshots name them).`
    )
}

/** Writes the resource's marker to name exactly these accounts, removing what no longer holds. */
async function mark(context: Context, region: string, resource: Resource, accounts: readonly string[]): Promise<void> {
  const wanted = new Map<string, string>()
  for (let at = 0, n = 1; at < accounts.length; at += ACCOUNTS_PER_TAG, n++)
    wanted.set(n === 1 ? GRANTED_TO : `${GRANTED_TO}-${n}`, accounts.slice(at, at + ACCOUNTS_PER_TAG).join(' '))
  const { tags } = resource
  const fresh = new Map([...wanted].filter(([key, value]) => tags.get(key) !== value))
  const gone = new Map([...tags].filter(([key]) => (key === GRANTED_TO || key.startsWith(`${GRANTED_TO}-`)) && !wanted.has(key)))
  // New values first: the marker never names fewer grants than exist.
  await tagResources(context.aws, region, [resource.id], fresh)
  await untagResources(context.aws, region, [resource.id], gone)
  if (context.plan.dryRun) return
  for (const key of gone.keys()) tags.delete(key)
  for (const [key, value] of fresh) tags.set(key, value)
}
