// The calls that retire an image, gentlest first: deprecation (still launchable by id, hidden from
// listings), DisableImage (launches nothing until EnableImage; keeps its snapshots), and
// DeregisterImage (gone, with its snapshots when asked). Each goes through Aws.change, so a dry run
// sends it as a DryRun check.
import { DeleteSnapshotCommand, DeregisterImageCommand, DisableImageCommand, EnableImageDeprecationCommand } from '@aws-sdk/client-ec2'
import type { Aws } from './client.ts'
import { hasCode } from './errors.ts'
import { describeImages } from './images.ts'

/** What DeregisterImage said of each snapshot, when the server reports it. */
export interface SnapshotOutcome {
  snapshotId: string
  /** success | skipped (another image uses it) | missing-permissions | internal-error | client-error */
  code: string
}

/**
 * Deregisters an image, with its snapshots when asked (DeleteAssociatedSnapshots). Returns EC2's
 * per-snapshot results, or undefined when the server gave none (or in a dry run). An image already
 * gone — a retried call whose first reply was lost — counts as done.
 */
export async function deregisterImage(
  aws: Aws,
  region: string,
  imageId: string,
  deleteSnapshots: boolean
): Promise<SnapshotOutcome[] | undefined> {
  try {
    const result = await aws.change(region, 'DeregisterImage', `image ${imageId}`, (client, DryRun) =>
      client.send(new DeregisterImageCommand({ ImageId: imageId, ...(deleteSnapshots && { DeleteAssociatedSnapshots: true }), DryRun }))
    )
    const outcomes = result?.DeleteSnapshotResults?.map((r) => ({ snapshotId: r.SnapshotId ?? '', code: r.ReturnCode ?? 'unknown' }))
    return outcomes && outcomes.length > 0 ? outcomes : undefined
  } catch (error) {
    if (aws.dryRun || !hasCode(error, 'InvalidAMIID.Unavailable', 'InvalidAMIID.NotFound')) throw error
    return undefined
  }
}

/**
 * DisableImage (EC2 API Reference): the image can launch no instance until EnableImage; it keeps its
 * snapshots. A retried call whose first reply was lost finds it disabled already, which is done.
 */
export async function disableImage(aws: Aws, region: string, imageId: string): Promise<void> {
  try {
    await aws.change(region, 'DisableImage', `image ${imageId}`, (client, DryRun) =>
      client.send(new DisableImageCommand({ ImageId: imageId, DryRun }))
    )
  } catch (error) {
    if (aws.dryRun) throw error
    // The call's own failure is what is reported, also when the look that follows cannot be made
    // (a cancel refuses it): EC2 may have carried the call out.
    const [now] = await describeImages(aws, region, [imageId]).catch(() => [])
    if (now?.state !== 'disabled') throw error
  }
}

/** EnableImageDeprecation at `at` (EC2 keeps it to the minute: see deprecationTime). */
export async function deprecateImage(aws: Aws, region: string, imageId: string, at: Date): Promise<void> {
  await aws.change(region, 'EnableImageDeprecation', `image ${imageId}`, (client, DryRun) =>
    client.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: at, DryRun }))
  )
}

/** EC2 keeps deprecation times to the minute; rounding up keeps the promised "at least this long". */
export function deprecationTime(now: number, afterMs: number): Date {
  return new Date(Math.ceil((now + afterMs) / 60_000) * 60_000)
}

/**
 * DeregisterImage (and DeleteSnapshot, which DeleteAssociatedSnapshots needs too) with DryRun, in any
 * run: EC2 checks the permission (API Reference, DryRun), for this image and snapshot, changing nothing.
 */
export async function checkRemoval(
  aws: Aws,
  region: string,
  imageId: string,
  snapshotId: string | undefined,
  deleteSnapshots: boolean
): Promise<void> {
  await aws.check(region, 'DeregisterImage', `image ${imageId}`, (client, DryRun) =>
    client.send(new DeregisterImageCommand({ ImageId: imageId, ...(deleteSnapshots && { DeleteAssociatedSnapshots: true }), DryRun }))
  )
  if (!deleteSnapshots || snapshotId === undefined) return
  try {
    await aws.check(region, 'DeleteSnapshot', `snapshot ${snapshotId}`, (client, DryRun) =>
      client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId, DryRun }))
    )
  } catch (error) {
    // The image that uses the snapshot is still there (and a disabled image's snapshots cannot be
    // deleted at all, EC2 User Guide, "Disable an AMI"): EC2 may say so rather than answer the
    // DryRun. That is not a refusal of the permission, which is all a DryRun is asked here.
    if (!hasCode(error, 'InvalidSnapshot.InUse')) throw error
  }
}
