// Launch permissions, deprecation and deregistration protection: the calls that make an image
// usable by others, and safe from accidental removal.
import {
  DescribeImageAttributeCommand,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  type LaunchPermission
} from '@aws-sdk/client-ec2'
import type { Aws } from './client.ts'

export interface Shares {
  accounts: readonly string[]
  organizations: readonly string[]
  organizationalUnits: readonly string[]
}

export function launchPermissions(shares: Shares): LaunchPermission[] {
  return [
    ...shares.accounts.map((UserId) => ({ UserId })),
    ...shares.organizations.map((OrganizationArn) => ({ OrganizationArn })),
    ...shares.organizationalUnits.map((OrganizationalUnitArn) => ({ OrganizationalUnitArn }))
  ]
}

/** One ModifyImageAttribute adds every account, organization and OU to the image's launch permissions. */
export async function shareImage(aws: Aws, region: string, imageId: string, shares: Shares, dryRun = false): Promise<void> {
  const input = { ImageId: imageId, LaunchPermission: { Add: launchPermissions(shares) }, ...(dryRun && { DryRun: true }) }
  const send = dryRun ? aws.check.bind(aws) : aws.call.bind(aws)
  await send(region, 'ModifyImageAttribute', `image ${imageId}`, (client) => client.send(new ModifyImageAttributeCommand(input)))
}

export async function deprecateImage(aws: Aws, region: string, imageId: string, at: Date, dryRun = false): Promise<void> {
  const input = { ImageId: imageId, DeprecateAt: at, ...(dryRun && { DryRun: true }) }
  const send = dryRun ? aws.check.bind(aws) : aws.call.bind(aws)
  await send(region, 'EnableImageDeprecation', `image ${imageId}`, (client) => client.send(new EnableImageDeprecationCommand(input)))
}

export async function protectImage(aws: Aws, region: string, imageId: string, dryRun = false): Promise<void> {
  const input = { ImageId: imageId, ...(dryRun && { DryRun: true }) }
  const send = dryRun ? aws.check.bind(aws) : aws.call.bind(aws)
  await send(region, 'EnableImageDeregistrationProtection', `image ${imageId}`, (client) =>
    client.send(new EnableImageDeregistrationProtectionCommand(input))
  )
}

/**
 * Gives the accounts createVolumePermission on a snapshot (EC2 API Reference,
 * ModifySnapshotAttribute): what an account needs to copy a shared image or re-encrypt its volumes.
 * Adding a permission an account already has changes nothing, so a re-run is harmless.
 */
export async function shareSnapshot(
  aws: Aws,
  region: string,
  snapshotId: string,
  accounts: readonly string[],
  dryRun = false
): Promise<void> {
  const input = {
    SnapshotId: snapshotId,
    Attribute: 'createVolumePermission' as const,
    // The documented OperationType/UserIds form (CreateVolumePermission.Add is the other one).
    OperationType: 'add' as const,
    UserIds: [...accounts],
    ...(dryRun && { DryRun: true })
  }
  const send = dryRun ? aws.check.bind(aws) : aws.call.bind(aws)
  await send(region, 'ModifySnapshotAttribute', `snapshot ${snapshotId}`, (client) =>
    client.send(new ModifySnapshotAttributeCommand(input))
  )
}

/**
 * Who besides the owner may launch the image (DescribeImageAttribute launchPermission): accounts,
 * organizations, OUs, or `all` for a public image. Empty when it is not shared.
 */
export async function sharedWith(aws: Aws, region: string, imageId: string): Promise<string[]> {
  const { LaunchPermissions } = await aws.call(region, 'DescribeImageAttribute', `image ${imageId}`, (client) =>
    client.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }))
  )
  return (LaunchPermissions ?? []).flatMap((permission) =>
    [permission.UserId, permission.OrganizationArn, permission.OrganizationalUnitArn, permission.Group].filter(
      (who): who is string => typeof who === 'string' && who !== ''
    )
  )
}
