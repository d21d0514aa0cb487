// The distribution half of tag: sharing, deprecation and deregistration protection on every image
// of the step, in every region. Applied once each image is available — EC2 refuses some of these
// attributes on a pending image.
import { deprecateImage, protectImage, shareImage, type Shares } from './aws/distribution.ts'
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
        if (sharing) await shareImage(step.aws, image.region, image.imageId, shares, dryRun)
        if (deprecateAt) await deprecateImage(step.aws, image.region, image.imageId, deprecateAt, dryRun)
        if (plan.deregistrationProtection) await protectImage(step.aws, image.region, image.imageId, dryRun)
        if (dryRun) continue
        image.distribution = {
          sharedWith: [...shares.accounts, ...shares.organizations, ...shares.organizationalUnits],
          protected: plan.deregistrationProtection,
          ...(deprecateAt && { deprecateAt: deprecateAt.toISOString() })
        }
      }
    })
  )
  report(step, images, plan, sharing, deprecateAt)
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
