// Sharing images and snapshots: what EC2 refuses that moto allows — sharing a disabled image, an
// image or a snapshot encrypted with the default key, a snapshot with an organization, an encrypted
// image or snapshot made public, another account's image — and the CreateVolumePermission.Add/Remove
// form moto ignores.
import type { Caller } from '../caller.ts'
import { isDefaultKey } from '../kms/keys.ts'
import { FrontError, type Reply } from '../protocol.ts'
import { listed } from './requests.ts'
import { snapshotsOf } from './lookups.ts'
import { ownersOnly } from './shared-images.ts'

/**
 * ModifyImageAttribute, launchPermission:
 * - EC2 API Reference, DisableImage: "A disabled AMI can't be shared." Adding a launch permission to
 *   a disabled image is refused with InvalidAMIID.Unavailable (error codes: the AMI "is not in a
 *   state from which you can launch an instance or modify attributes"); the code is the double's
 *   choice, EC2 documents none for this case.
 * - EC2 User Guide, "Share an AMI with specific AWS accounts": "You can't share AMIs that are backed
 *   by snapshots that are encrypted with the default AWS managed key." EC2 documents no code; it
 *   answers InvalidParameter, "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify
 *   another snapshot." (as reported against the real API, hashicorp/packer issue 7410), and so does
 *   the double.
 * - EC2 User Guide, "Make an AMI public": an AMI with encrypted volumes or snapshots of encrypted
 *   volumes "can't be made public": adding group all is refused with UnsupportedOperation (the
 *   double's choice, as for a snapshot made public below).
 * - "To share an AMI, your AWS account must own the AMI": another account's image shared with the
 *   caller is refused (AuthFailure, shared-images.ts).
 * Every check runs before DryRun, which moto answers.
 */
export async function modifyImageAttribute(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const imageId = params.get('ImageId') ?? ''
  const keys = [...params.keys()]
  const adding = params.get('OperationType') === 'add'
  const adds =
    keys.some((key) => /^LaunchPermission\.Add\.\d+\./.test(key)) ||
    (adding && keys.some((key) => /^(UserId|UserGroup|OrganizationArn|OrganizationalUnitArn)\.\d+$/.test(key)))
  if (adds && caller.state.images.get(imageId)?.disabled)
    throw new FrontError(400, 'InvalidAMIID.Unavailable', `Image ${imageId} is disabled; a disabled AMI can't be shared.`)
  if (adds) {
    const snapshots = caller.state.images.get(imageId)?.snapshotIds ?? (await snapshotsOf(caller, imageId).catch(() => []))
    const snapshotKeys = snapshots.flatMap((snapshot) => caller.state.snapshotKeys.get(snapshot) ?? [])
    if (snapshotKeys.some((key) => isDefaultKey(caller.state, key)))
      throw new FrontError(
        400,
        'InvalidParameter',
        "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot."
      )
    const groups = [...listed(params, /^LaunchPermission\.Add\.\d+\.Group$/), ...(adding ? listed(params, /^UserGroup\.\d+$/) : [])]
    if (snapshotKeys.length > 0 && groups.includes('all'))
      throw new FrontError(
        400,
        'UnsupportedOperation',
        `Image ${imageId} has encrypted snapshots; an AMI with encrypted snapshots can't be made public.`
      )
  }
  return ownersOnly(caller, imageId, await caller.send(params))
}

/** A ModifySnapshotAttribute's change of createVolumePermission, from either request form. */
interface PermissionChange {
  adding: boolean
  users: string[]
  groups: string[]
  /** The OperationType form, which moto reads as it is. */
  operation: string | null
}

/**
 * ModifySnapshotAttribute, createVolumePermission (EC2 API Reference, ModifySnapshotAttribute;
 * CreateVolumePermission; EBS User Guide, "Share an Amazon EBS snapshot"):
 * - A permission names an account (UserId) or the group all, nothing else: organizations and OUs
 *   cannot be given one (UnknownParameter, EC2's common error for a parameter an action lacks).
 * - "You may add or remove specified AWS account IDs ... but you cannot do both in a single
 *   operation" (InvalidParameterCombination; the code is the double's choice).
 * - "Snapshots encrypted with your default KMS key cannot be shared with other accounts" / "You can't
 *   share snapshots that are encrypted with the default AWS managed key". EC2 documents no code; it
 *   answers OperationNotPermitted, "Encrypted snapshots with EBS default key cannot be shared" (as
 *   reported against the real API, e.g. hashicorp/packer issues 7499 and 8271), and so does the double.
 *   The double knows a snapshot's key from DoubleState.snapshotKeys: an account's aws/ebs key's ARN
 *   (Front.defaultEbsKey) is the default key, as the alias itself is.
 * - "Encrypted snapshots ... cannot be made public": adding group all to an encrypted snapshot is
 *   refused with UnsupportedOperation (the double's choice; EC2 answers ModifyImageAttribute's
 *   equivalent so).
 * moto ignores the CreateVolumePermission.Add/Remove form (it answers success and changes nothing),
 * so the double sends it on in the OperationType / UserId.N / UserGroup.N form moto reads. Every
 * check runs before DryRun, and the snapshot must exist (moto answers a DryRun for any id).
 */
export async function modifySnapshotAttribute(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const snapshotId = params.get('SnapshotId') ?? ''
  const change = permissionChange(params)
  const found = await caller.send(new URLSearchParams({ Action: 'DescribeSnapshots', Version: '2016-11-15', 'SnapshotId.1': snapshotId }))
  if (found.status >= 400) return found
  const key = caller.state.snapshotKeys.get(snapshotId)
  if (change.adding && key && change.users.length > 0 && isDefaultKey(caller.state, key))
    throw new FrontError(400, 'OperationNotPermitted', 'Encrypted snapshots with EBS default key cannot be shared')
  if (change.adding && key && change.groups.includes('all'))
    throw new FrontError(400, 'UnsupportedOperation', `Encrypted snapshots can't be shared publicly; ${snapshotId} is encrypted.`)
  if (change.operation) return caller.send(params)
  const rest = new URLSearchParams()
  for (const [name, value] of params) if (!name.startsWith('CreateVolumePermission.')) rest.append(name, value)
  rest.set('Attribute', 'createVolumePermission')
  rest.set('OperationType', change.adding ? 'add' : 'remove')
  change.users.forEach((user, i) => rest.set(`UserId.${i + 1}`, user))
  change.groups.forEach((group, i) => rest.set(`UserGroup.${i + 1}`, group))
  return caller.send(rest)
}

/** Reads the change, refusing what createVolumePermission cannot take. */
function permissionChange(params: URLSearchParams): PermissionChange {
  const organizations = [...params.keys()].filter((key) => /Organization/.test(key))
  if (organizations.length > 0) {
    throw new FrontError(
      400,
      'UnknownParameter',
      `createVolumePermission takes account ids (UserId) and the group all only; snapshots cannot be shared with organizations or OUs (${organizations.join(', ')}).`
    )
  }
  const attribute = params.get('Attribute')
  if (attribute !== null && attribute !== 'createVolumePermission')
    throw new FrontError(400, 'InvalidParameterValue', `Only createVolumePermission can be modified; ${attribute} was given.`)
  const structured = {
    add: listed(params, /^CreateVolumePermission\.Add\.\d+\.(UserId|Group)$/),
    remove: listed(params, /^CreateVolumePermission\.Remove\.\d+\.(UserId|Group)$/)
  }
  const operation = params.get('OperationType')
  if ((structured.add.length > 0 && structured.remove.length > 0) || (operation && structured.add.length + structured.remove.length > 0)) {
    throw new FrontError(400, 'InvalidParameterCombination', 'A ModifySnapshotAttribute call either adds or removes permissions, not both.')
  }
  return {
    adding: operation === 'add' || structured.add.length > 0,
    users: [...listed(params, /^UserId\.\d+$/), ...listed(params, /^CreateVolumePermission\.(Add|Remove)\.\d+\.UserId$/)],
    groups: [...listed(params, /^UserGroup\.\d+$/), ...listed(params, /^CreateVolumePermission\.(Add|Remove)\.\d+\.Group$/)],
    operation
  }
}
