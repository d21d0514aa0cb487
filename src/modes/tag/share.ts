// The sharing half of tag: launch permissions, snapshot permissions, deprecation and deregistration
// protection on every image of the step, in every region. Applied once each image is available —
// EC2 refuses some of these attributes on a pending image. In a dry run the AWS layer sends each
// call as a DryRun check.
import { deprecateImage, deprecationTime } from '../../aws/retiring.ts'
import { protectImage, shareImage, shareSnapshot, type Shares } from '../../aws/sharing.ts'
import type { Context } from '../../context.ts'
import { errorMessage, StepError } from '../../errors.ts'
import type { SharePlan } from '../../inputs/index.ts'
import type { ReleaseImage, Sharing } from '../../release.ts'

export async function share(context: Context, plan: SharePlan, images: readonly ReleaseImage[]): Promise<void> {
  if (images.length === 0) return
  const shares: Shares = {
    accounts: plan.shareAccounts,
    organizations: plan.shareOrganizations,
    organizationalUnits: plan.shareOrganizationalUnits
  }
  const sharing = shares.accounts.length + shares.organizations.length + shares.organizationalUnits.length > 0
  const deprecateAt = plan.deprecateAfterMs !== undefined ? deprecationTime(context.clock.now(), plan.deprecateAfterMs) : undefined
  const { aws } = context

  // Per region, one image after another: these are changing calls, paced by the AWS layer.
  await Promise.all(
    [...Map.groupBy(images, (image) => image.region)].map(async ([, regionImages]) => {
      for (const image of regionImages) {
        // Recorded call by call: if a later one fails, the summary still shows what was done.
        const done: Sharing = { sharedWith: [], protected: false }
        if (!context.plan.dryRun) image.sharing = done
        // The image first: EC2 refuses to share an image whose snapshots it could not share (the
        // AWS managed key), so no snapshot is given to an account that cannot have the image.
        if (sharing) {
          await shareImage(aws, image.region, image.imageId, shares)
          done.sharedWith = [...shares.accounts, ...shares.organizations, ...shares.organizationalUnits]
        }
        if (plan.shareSnapshots) await shareSnapshots(context, plan, image, done)
        if (deprecateAt) {
          await deprecateImage(aws, image.region, image.imageId, deprecateAt)
          done.deprecateAt = deprecateAt.toISOString()
        }
        if (plan.deregistrationProtection) {
          await protectImage(aws, image.region, image.imageId)
          done.protected = true
        }
      }
    })
  )
  report(context, images, plan, sharing, deprecateAt)
}

/**
 * Every snapshot of the image (in a dry run, the first: one check per image is enough), each
 * recorded as it is shared, so a failure part way still reports the ones that were.
 */
async function shareSnapshots(context: Context, plan: SharePlan, image: ReleaseImage, done: Sharing): Promise<void> {
  const accounts = plan.shareAccounts
  const snapshots = context.plan.dryRun ? image.snapshotIds.slice(0, 1) : image.snapshotIds
  for (const snapshotId of snapshots) {
    try {
      await shareSnapshot(context.aws, image.region, snapshotId, accounts)
      done.snapshotsSharedWith = [...accounts]
      done.sharedSnapshotIds = [...(done.sharedSnapshotIds ?? []), snapshotId]
    } catch (error) {
      // EC2 User Guide, "Share an Amazon EBS snapshot": a snapshot encrypted with the AWS managed key cannot be shared.
      const hint = image.encrypted
        ? ' The image is encrypted: a snapshot encrypted with the AWS managed key (aws/ebs) cannot be shared; copy it with a customer managed key (kms-key-id) and share that key with the accounts.'
        : ''
      throw new StepError(
        `Could not share snapshot ${snapshotId} of ${image.imageId} in ${image.region} (share-snapshots): ${errorMessage(error)}${hint}`
      )
    }
  }
}

function report(context: Context, images: readonly ReleaseImage[], plan: SharePlan, sharing: boolean, deprecateAt: Date | undefined): void {
  const { log } = context
  const where = images.map((image) => `${image.imageId} in ${image.region}`).join(', ')
  const prefix = context.plan.dryRun ? 'Dry run: would be allowed — ' : ''
  if (sharing) {
    const who = [...plan.shareAccounts, ...plan.shareOrganizations, ...plan.shareOrganizationalUnits].join(', ')
    log.info(`${prefix}Shared ${where} with ${who}.`)
    if (plan.shareSnapshots) log.info(`${prefix}Their snapshots give ${plan.shareAccounts.join(', ')} permission to create volumes.`)
    const encrypted = images.filter((image) => image.encrypted)
    if (encrypted.length > 0) {
      // Launch permission alone is not enough for encrypted snapshots: the other side must be able
      // to use the KMS key, or its launches fail later with a KMS error.
      log.notice(
        `${encrypted.map((image) => `${image.imageId} in ${image.region}`).join(', ')} ${encrypted.length === 1 ? 'is' : 'are'} encrypted: ` +
          `the accounts it is shared with also need the KMS key — its key policy (or a grant) must allow them kms:Decrypt, kms:DescribeKey, kms:CreateGrant, kms:GenerateDataKeyWithoutPlaintext and kms:ReEncrypt*. ` +
          'The default EBS key (aws/ebs) cannot be shared: copy with a customer managed key to share encrypted images.'
      )
    }
  }
  if (deprecateAt) log.info(`${prefix}Deprecation of ${where} set for ${deprecateAt.toISOString()}.`)
  if (plan.deregistrationProtection) log.info(`${prefix}Deregistration protection on for ${where}.`)
}
