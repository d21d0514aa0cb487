// Other accounts, as data (DoubleState.otherAccounts): what they launch from this account's shared
// images and which of their launch templates name one. moto keeps one backend per account and no
// account sees another's instances, so the double holds them itself; an AMI usage report
// (usage-reports.ts) is how the image's owner learns of them, as on EC2.
import type { Caller } from '../caller.ts'
import type { OtherAccount } from '../state.ts'
import { child, items, textOf } from '../xml.ts'
import { overlayOf } from './image-state.ts'

/** Account ids are twelve digits (IAM User Guide, "Your AWS account ID"). */
const ACCOUNT_ID = /^\d{12}$/

/** The account's record, made empty the first time. */
export function otherAccountOf(caller: Caller, account: string): OtherAccount {
  if (!ACCOUNT_ID.test(account)) throw new Error(`otherAccount: '${account}' is not a 12-digit account id`)
  if (account === caller.account) throw new Error(`otherAccount: ${account} is the image owner's own account`)
  let found = caller.state.otherAccounts.get(account)
  if (!found) {
    found = { account, organizationalUnitArns: [], instances: [], templateVersions: [] }
    caller.state.otherAccounts.set(account, found)
  }
  return found
}

/**
 * Whether the account may launch the image (EC2 User Guide, "Share an AMI with specific
 * organizations or OUs" and "... with specific AWS accounts"; DescribeImageAttribute
 * launchPermission): named by account id, by its organization or one of its OUs, or the image is
 * public (group all). Asked of moto as the image's owner, who alone sees the permissions.
 */
export async function mayLaunch(
  owner: Caller,
  other: Pick<OtherAccount, 'account' | 'organizationArn' | 'organizationalUnitArns'>,
  imageId: string
): Promise<boolean> {
  const found = await owner.moto('DescribeImageAttribute', { ImageId: imageId, Attribute: 'launchPermission' })
  const permissions = items(found, 'launchPermission')
  return permissions.some((permission) => {
    const user = textOf(permission, 'userId')
    const group = textOf(permission, 'group')
    const organization = textOf(permission, 'organizationArn')
    const unit = textOf(permission, 'organizationalUnitArn')
    return (
      user === other.account ||
      group === 'all' ||
      (organization !== undefined && organization === other.organizationArn) ||
      (unit !== undefined && other.organizationalUnitArns.includes(unit))
    )
  })
}

/**
 * An instance the other account launches from the owner's image in the owner's region: refused, as
 * RunInstances would refuse it, unless the account may launch the image and it is available. The
 * launch is reported in the image's LastLaunchedTime a day later. `at` may be in the past: a test
 * or the demo gives the account a history (an instance running for three days, say).
 */
export async function launchIn(owner: Caller, other: OtherAccount, imageId: string, at = owner.now()): Promise<string> {
  const image = await owner.moto('DescribeImages', { 'ImageId.1': imageId })
  const listed = items(image, 'imagesSet')[0]
  if (!listed || !child(listed, 'imageId')) throw new Error(`launch: ${imageId} does not exist in ${owner.region}`)
  if (owner.state.images.get(imageId)?.disabled) throw new Error(`launch: ${imageId} is disabled (a disabled AMI can't launch instances)`)
  if (!(await mayLaunch(owner, other, imageId)))
    throw new Error(`launch: ${other.account} has no launch permission on ${imageId} (InvalidAMIID.NotFound, as EC2 answers it)`)
  const instanceId = `i-${other.account.slice(-4)}${String(other.instances.length + 1).padStart(13, '0')}`
  other.instances.push({ instanceId, region: owner.region, imageId, launchedAt: at, terminated: false })
  const overlay = overlayOf(owner.state, imageId, owner.region)
  overlay.launches = [...(overlay.launches ?? []), at]
  return instanceId
}

/**
 * A new version of one of the other account's launch templates (a new template when none is
 * given) naming the image. EC2 does not check an image id in launch template data when the version
 * is made (it is checked at launch), so neither does the double.
 */
export function templateVersionIn(
  owner: Caller,
  other: OtherAccount,
  imageId: string,
  templateId?: string,
  at = owner.now()
): { templateId: string; version: number } {
  const id =
    templateId ??
    `lt-${other.account.slice(-4)}${String(new Set(other.templateVersions.map((v) => v.templateId)).size + 1).padStart(13, '0')}`
  const version = other.templateVersions.filter((v) => v.templateId === id).length + 1
  other.templateVersions.push({ templateId: id, version, region: owner.region, imageId, createdAt: at })
  return { templateId: id, version }
}
