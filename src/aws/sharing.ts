// Who else may use an image: launch permissions for accounts, organizations and OUs, volume
// permissions on its snapshots, and deregistration protection against accidental removal. Each
// change goes through Aws.change, so a dry run sends it as a DryRun check.
import {
  DescribeImageAttributeCommand,
  DescribeSnapshotAttributeCommand,
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

function launchPermissions(shares: Shares): LaunchPermission[] {
  return [
    ...shares.accounts.map((UserId) => ({ UserId })),
    ...shares.organizations.map((OrganizationArn) => ({ OrganizationArn })),
    ...shares.organizationalUnits.map((OrganizationalUnitArn) => ({ OrganizationalUnitArn }))
  ]
}

/** One ModifyImageAttribute adds every account, organization and OU to the image's launch permissions. */
export async function shareImage(aws: Aws, region: string, imageId: string, shares: Shares): Promise<void> {
  await aws.change(region, 'ModifyImageAttribute', `image ${imageId}`, (client, DryRun) =>
    client.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: launchPermissions(shares) }, DryRun }))
  )
}

export async function protectImage(aws: Aws, region: string, imageId: string): Promise<void> {
  await aws.change(region, 'EnableImageDeregistrationProtection', `image ${imageId}`, (client, DryRun) =>
    client.send(new EnableImageDeregistrationProtectionCommand({ ImageId: imageId, DryRun }))
  )
}

/**
 * Gives the accounts createVolumePermission on a snapshot (EC2 API Reference,
 * ModifySnapshotAttribute): what an account needs to copy a shared image or re-encrypt its volumes.
 * Adding a permission an account already has changes nothing, so a re-run is harmless.
 */
export async function shareSnapshot(aws: Aws, region: string, snapshotId: string, accounts: readonly string[]): Promise<void> {
  await aws.change(region, 'ModifySnapshotAttribute', `snapshot ${snapshotId}`, (client, DryRun) =>
    client.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: snapshotId,
        Attribute: 'createVolumePermission',
        // The documented OperationType/UserIds form (CreateVolumePermission.Add is the other one).
        OperationType: 'add',
        UserIds: [...accounts],
        DryRun
      })
    )
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

/** Takes accounts out of the image's launch permissions (one ModifyImageAttribute). */
export async function unshareImage(aws: Aws, region: string, imageId: string, accounts: readonly string[]): Promise<void> {
  if (accounts.length === 0) return
  await aws.change(region, 'ModifyImageAttribute', `image ${imageId}`, (client, DryRun) =>
    client.send(
      new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Remove: accounts.map((UserId) => ({ UserId })) }, DryRun })
    )
  )
}

/** Takes the accounts' createVolumePermission on a snapshot back (EC2 API Reference, ModifySnapshotAttribute). */
export async function unshareSnapshot(aws: Aws, region: string, snapshotId: string, accounts: readonly string[]): Promise<void> {
  if (accounts.length === 0) return
  await aws.change(region, 'ModifySnapshotAttribute', `snapshot ${snapshotId}`, (client, DryRun) =>
    client.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: snapshotId,
        Attribute: 'createVolumePermission',
        OperationType: 'remove',
        UserIds: [...accounts],
        DryRun
      })
    )
  )
}

/** The accounts (or `all`) that may create volumes from the snapshot (DescribeSnapshotAttribute createVolumePermission). */
export async function volumePermissions(aws: Aws, region: string, snapshotId: string): Promise<string[]> {
  const { CreateVolumePermissions } = await aws.call(region, 'DescribeSnapshotAttribute', `snapshot ${snapshotId}`, (client) =>
    client.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' }))
  )
  return (CreateVolumePermissions ?? []).flatMap((permission) => {
    const who = permission.UserId ?? permission.Group
    return who ? [who] : []
  })
}
