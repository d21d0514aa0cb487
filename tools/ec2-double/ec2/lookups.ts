// What the double asks moto on a caller's behalf: an image's snapshots, whether a name is taken,
// and tags for resources moto could not tag at creation.
import type { Caller } from '../caller.ts'
import { FrontError } from '../protocol.ts'
import { child, items, leaf, textOf, type XmlElement } from '../xml.ts'
import type { Tag } from './requests.ts'
import { refuseNotOwned } from './shared-images.ts'

export function snapshotIdsIn(image: XmlElement): string[] {
  return items(image, 'blockDeviceMapping').flatMap((mapping) => {
    const id = textOf(child(mapping, 'ebs') ?? leaf('x', ''), 'snapshotId')
    return id ? [id] : []
  })
}

export async function snapshotsOf(caller: Caller, imageId: string): Promise<string[]> {
  const found = await caller.moto('DescribeImages', { 'ImageId.1': imageId })
  return items(found, 'imagesSet').flatMap(snapshotIdsIn)
}

/** EC2 API Reference, error codes, InvalidAMIName.Duplicate: the name is in use by another AMI (names are unique per region). */
export async function refuseTakenName(caller: Caller, name: string): Promise<void> {
  const found = await caller.moto('DescribeImages', { 'Owner.1': 'self', 'Filter.1.Name': 'name', 'Filter.1.Value.1': name })
  const taken = items(found, 'imagesSet').find((image) => textOf(image, 'name') === name)
  if (taken) throw new FrontError(400, 'InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${textOf(taken, 'imageId')}`)
}

export async function tagResources(caller: Caller, resources: string[], tags: Tag[]): Promise<void> {
  if (resources.length === 0 || tags.length === 0) return
  const params: Record<string, string> = {}
  resources.forEach((id, i) => (params[`ResourceId.${i + 1}`] = id))
  tags.forEach((tag, i) => {
    params[`Tag.${i + 1}.Key`] = tag.Key
    params[`Tag.${i + 1}.Value`] = tag.Value
  })
  await caller.moto('CreateTags', params)
}

/**
 * Refuses a call on an image moto does not know, as EC2 does: unknown (InvalidAMIID.NotFound), or,
 * if it is another account's image shared with the caller, not the caller's to change (AuthFailure).
 */
export async function requireImage(caller: Caller, imageId: string): Promise<void> {
  const found = await caller.moto('DescribeImages', { 'ImageId.1': imageId }).then(
    () => true,
    () => false
  )
  if (found) return
  await refuseNotOwned(caller, imageId)
  throw new FrontError(400, 'InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`)
}
