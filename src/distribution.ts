// The distribution half of tag: sharing, deprecation and deregistration protection on every image
// of the step, in every region. Applied once each image is available — EC2 refuses some of these
// attributes on a pending image.
import { deprecateImage, protectImage, shareImage, shareSnapshot, type Shares } from './aws/distribution.ts'
import { errorMessage, StepError } from './errors.ts'
import type { DistributionPlan } from './inputs.ts'
import type { ReleaseImage } from './release.ts'
import type { Step } from './step.ts'

export async function distribute(step: Step, images: readonly ReleaseImage[]): Promise<void> {
  const plan = step.plan.distribution
  if (!plan || images.length === 0) return
  const shares: Shares = {
    accounts: plan.shareAccounts,
    organizations: plan.shareOrganizations,
    organizationalUnits: plan.shareOrganizationalUnits
  }
  const sharing = shares.accounts.length + shares.organizations.length + shares.organizationalUnits.length > 0
  const deprecateAt = plan.deprecateAfterMs !== undefined ? deprecationTime(step.now(), plan.deprecateAfterMs) : undefined
  const { dryRun } = step.plan

  // Per region, one image after another: these are changing calls, paced by the EC2 layer.
  await Promise.all(
    [...Map.groupBy(images, (image) => image.region)].map(async ([, regionImages]) => {
      for (const image of regionImages) {
        // Recorded call by call: if a later one fails, the summary still shows what was done.
        const done: NonNullable<ReleaseImage['distribution']> = { sharedWith: [], protected: false }
        if (!dryRun) image.distribution = done
        // The image first: EC2 refuses to share an image whose snapshots it could not share (the
        // AWS managed key), so no snapshot is given to an account that cannot have the image.
        if (sharing) {
          await shareImage(step.aws, image.region, image.imageId, shares, dryRun)
          done.sharedWith = [...shares.accounts, ...shares.organizations, ...shares.organizationalUnits]
        }
        if (plan.shareSnapshots) await shareSnapshots(step, image, done, dryRun)
        if (deprecateAt) {
          await deprecateImage(step.aws, image.region, image.imageId, deprecateAt, dryRun)
          done.deprecateAt = deprecateAt.toISOString()
        }
        if (plan.deregistrationProtection) {
          await protectImage(step.aws, image.region, image.imageId, dryRun)
          done.protected = true
        }
      }
    })
  )
  report(step, images, plan, sharing, deprecateAt)
}

/**
 * Every snapshot of the image (in a dry run, the first: one check per image is enough), each
 * recorded as it is shared, so a failure part way still reports the ones that were.
 */
async function shareSnapshots(
  step: Step,
  image: ReleaseImage,
  done: NonNullable<ReleaseImage['distribution']>,
  dryRun: boolean
): Promise<void> {
  const accounts = step.plan.distribution!.shareAccounts
  const snapshots = dryRun ? image.snapshotIds.slice(0, 1) : image.snapshotIds
  for (const snapshotId of snapshots) {
    try {
      await shareSnapshot(step.aws, image.region, snapshotId, accounts, dryRun)
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

/** EC2 keeps deprecation times to the minute; rounding up keeps the promised "at least this long". */
export function deprecationTime(now: number, afterMs: number): Date {
  return new Date(Math.ceil((now + afterMs) / 60_000) * 60_000)
}

function report(
  step: Step,
  images: readonly ReleaseImage[],
  plan: DistributionPlan,
  sharing: boolean,
  deprecateAt: Date | undefined
): void {
  const { log } = step
  const where = images.map((image) => `${image.imageId} in ${image.region}`).join(', ')
  const prefix = step.plan.dryRun ? 'Dry run: would be allowed — ' : ''
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
