// copy into target accounts: each account copies the source image as its own, in the source region
// and every region of `regions`, with its own key where kms-key-ids names one by ARN. The source
// account first gives the accounts what a cross-account copy needs (grants.ts), and takes it back
// once every copy is available: a grant taken back while a copy is still pending could fail it.
import { inEveryAccount, type TargetAccount } from '../../accounts.ts'
import { AwsError } from '../../aws/errors.ts'
import { CROSS_ACCOUNT_KEY_ACTIONS, keyManager } from '../../aws/keys.ts'
import { shareImage, shareSnapshot } from '../../aws/sharing.ts'
import { describeSnapshots, type SnapshotFacts } from '../../aws/snapshots.ts'
import type { Context } from '../../context.ts'
import { errorMessage, StepError } from '../../errors.ts'
import { waitForImages } from '../../images/waiter.ts'
import type { CopyPlan, Encryption, SharePlan } from '../../inputs/index.ts'
import type { Grant } from '../../journal.ts'
import type { ReleaseImage } from '../../release.ts'
import { copyTo } from './copy.ts'
import { grantCopy, takeBackGrants } from './grants.ts'

export async function copyToAccounts(
  context: Context,
  copy: CopyPlan,
  source: ReleaseImage,
  accounts: readonly TargetAccount[],
  snapshots: ReadonlyMap<string, SnapshotFacts>,
  sharing: SharePlan | undefined
): Promise<void> {
  if (accounts.length === 0) return
  const regions = [...new Set([source.region, ...copy.regions])]
  // Accounts whose copies are still pending keep their grants (and the summary says why).
  const unfinished = new Map<string, string>()
  let grants: Grant[] = []
  let failure: unknown
  try {
    grants = await grantCopy(
      context,
      source,
      accounts.map((account) => account.id),
      snapshots
    )
    await inEveryAccount(context, accounts, `Copying ${source.imageId}`, async (inside, account) => {
      try {
        await copyInto(inside, copy, source, regions, account)
      } finally {
        // A failed copy is gone (the waiter removes it); only a pending one still needs the grants.
        const pending = account.release.all().filter((image) => image.state === 'pending' || image.state === 'unknown')
        if (pending.length > 0)
          unfinished.set(
            account.id,
            `its copies ${pending.map((image) => `${image.imageId} in ${image.region}`).join(', ')} are still pending`
          )
      }
    })
  } catch (error) {
    failure = error
  }
  // What the journal holds is every grant planned, given or not: taking back what was never given
  // changes nothing, so a grant that failed part way is undone the same way.
  const planned = context.journal.grants.filter((grant) => grant.imageId === source.imageId && grant.region === source.region)
  try {
    if (!context.signal.aborted)
      await takeBackGrants(context, source, planned.length > 0 ? planned : grants, snapshots, unfinished, sharing)
    else for (const grant of planned) Object.assign(grant, { outcome: 'left', reason: 'the job was cancelled' })
  } catch (error) {
    const message = `Taking back the permissions given on ${source.imageId} failed: ${errorMessage(error)}`
    if (failure === undefined) throw new StepError(message)
    context.log.warning(message)
  }
  if (failure !== undefined) throw failure
}

/** One account's copies, every region at once, then waited for: the grants can go only then. */
async function copyInto(
  context: Context,
  copy: CopyPlan,
  source: ReleaseImage,
  regions: readonly string[],
  account: TargetAccount
): Promise<void> {
  const results = await Promise.allSettled(
    regions.map((region) => copyTo(context, copy, source, region, accountEncryption(copy, account.id, region, source)))
  )
  const failures = results.flatMap((result, i) => (result.status === 'rejected' ? [`${regions[i]}: ${errorMessage(result.reason)}`] : []))
  const started = context.release.all()
  if (started.length > 0) {
    try {
      await waitForImages(context, started)
    } catch (error) {
      failures.push(errorMessage(error))
    }
  }
  if (failures.length > 0) {
    const made = context.release.all()
    throw new StepError(
      `${failures.join('; ')}${made.length > 0 ? `. Copies made: ${made.map((image) => `${image.imageId} in ${image.region}`).join(', ')}` : ''}`
    )
  }
}

/**
 * A target account's copy in a region: the key kms-key-ids names for it there (by ARN), else its
 * own default EBS key when the copies are to be encrypted or the source is (another account's key
 * is never used for its copy), else unencrypted.
 */
function accountEncryption(copy: CopyPlan, account: string, region: string, source: ReleaseImage): Encryption {
  const key = copy.accountKeys.get(account)?.get(region)
  if (key !== undefined) return { encrypted: true, kmsKeyId: key }
  return { encrypted: copy.encryptAccountCopies || source.encrypted === true }
}

/**
 * What makes a cross-account copy impossible, found before anything is granted or copied:
 * - an AWS Marketplace image shared from another account (EC2 User Guide, "Copy an AMI": CopyImage
 *   does not support it, nor images derived from one);
 * - a snapshot encrypted with the AWS managed key aws/ebs (EC2 User Guide, "Share an AMI with
 *   specific AWS accounts": such an AMI cannot be shared), on any of its volumes;
 * - a customer managed key a target account may not use: each target's role asks KMS about it
 *   (DescribeKey), which its key policy must allow along with what EC2 uses it for. EC2 would
 *   otherwise accept the CopyImage and fail the copy later (API Reference, CopyImage: KmsKeyId is
 *   checked asynchronously).
 * Returns the source's snapshots as described (their keys and tags), for the grants.
 */
export async function checkSource(
  context: Context,
  source: ReleaseImage,
  accounts: readonly TargetAccount[]
): Promise<Map<string, SnapshotFacts>> {
  if (source.productCodes && source.productCodes.length > 0)
    throw new StepError(
      `${source.imageId} carries AWS Marketplace product codes (${source.productCodes.join(', ')}): EC2 cannot copy such an image into another account. Nothing was granted or copied.`
    )
  const snapshots = await describeSnapshots(context.aws, source.region, source.snapshotIds)
  const keys = [...new Set([...snapshots.values()].flatMap((facts) => (facts.kmsKeyId ? [facts.kmsKeyId] : [])))]
  for (const key of keys) {
    let manager: string | undefined
    try {
      manager = await keyManager(context.aws, source.region, key)
    } catch (error) {
      if (!(error instanceof AwsError)) throw error
      context.log.warning(
        `Could not read the KMS key ${key} of ${source.imageId} (${error.message}): if it is the AWS managed key aws/ebs, the target accounts cannot copy the image. Allow kms:DescribeKey on it.`
      )
      continue
    }
    if (manager === 'AWS')
      throw new StepError(
        `${source.imageId} in ${source.region} is encrypted with the AWS managed key aws/ebs (${key}), which no other account can use, so the target accounts cannot copy it. ` +
          'Build or copy it with a customer managed key (kms-key-id) whose key policy lets the target accounts use it, and copy that image. Nothing was granted or copied.'
      )
  }
  if (keys.length === 0) return snapshots
  const refused: string[] = []
  await Promise.all(
    accounts.flatMap((account) =>
      keys.map(async (key) => {
        try {
          await keyManager(account.aws, source.region, key)
        } catch (error) {
          if (!(error instanceof AwsError)) throw error
          refused.push(`${account.id} may not use ${key} (${error.code})`)
        }
      })
    )
  )
  if (refused.length > 0)
    throw new StepError(
      `${refused.join('; ')}: the key policy of the source's key, and each target role's policy, must allow ${CROSS_ACCOUNT_KEY_ACTIONS}, or EC2 fails their copies. Nothing was granted or copied.`
    )
  context.log.info(`${source.imageId} is encrypted with ${keys.join(', ')}; every target account may use it.`)
  return snapshots
}

/**
 * A dry run checks what the source account would send (the grants, as DryRun); a target account's
 * CopyImage cannot be checked before the grants exist, so only its role is (it was assumed).
 */
export async function checkAccountCopies(context: Context, source: ReleaseImage, accounts: readonly TargetAccount[]): Promise<void> {
  const ids = accounts.map((account) => account.id)
  await shareImage(context.aws, source.region, source.imageId, { accounts: ids, organizations: [], organizationalUnits: [] })
  const [first] = source.snapshotIds
  if (first !== undefined) await shareSnapshot(context.aws, source.region, first, ids)
  context.log.info(
    `Dry run: giving ${ids.join(', ')} launch permission on ${source.imageId} and createVolumePermission on its snapshots would be allowed, and each role was assumed. ` +
      'Their CopyImage cannot be checked before those grants exist; nothing was granted or copied.'
  )
}
