// Image and snapshot calls, in the user's words. Describes are batched: one call serves every
// image of a region.
import {
  CopyImageCommand,
  CreateImageCommand,
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DisableImageCommand,
  type Image as SdkImage,
  type Tag
} from '@aws-sdk/client-ec2'
import type { Tags } from '../parse.ts'
import type { Aws } from './client.ts'
import { hasCode } from './errors.ts'

export type ImageState = 'pending' | 'available' | 'failed' | 'invalid' | 'deregistered' | 'transient' | 'error' | 'disabled'

export interface ImageInfo {
  imageId: string
  name: string
  description: string
  state: ImageState
  /** AWS's reason when an image failed. */
  stateReason?: string
  snapshotIds: string[]
  tags: Map<string, string>
  creationDate: string
  encrypted: boolean
  /** Deregistration protection is on, or was turned off but its cooldown has not ended. */
  protected: boolean
  /** The builder instance, on images made by CreateImage (EC2 reports it only for those). */
  sourceInstanceId?: string
  /** The image and region this one was copied from, on copies. */
  sourceImageId?: string
  sourceImageRegion?: string
  /** When the image is (or was) deprecated, if it has a deprecation time. */
  deprecationTime?: string
  /** When it last launched an instance, as EC2 reports it (up to 24 hours late); absent if never. */
  lastLaunchedTime?: string
}

// EC2 accepts up to 200 values in one filter.
export const FILTER_VALUES = 200

/**
 * The images of one region by id. A filter (not ImageIds) is used so that an image EC2 does not
 * list yet — new images can lag behind CreateImage — is simply absent instead of failing the call.
 * Disabled images are included: EC2 hides them otherwise, and they still exist.
 */
export async function describeImages(aws: Aws, region: string, imageIds: readonly string[]): Promise<ImageInfo[]> {
  const found: ImageInfo[] = []
  for (let at = 0; at < imageIds.length; at += FILTER_VALUES) {
    const batch = imageIds.slice(at, at + FILTER_VALUES)
    const pages = aws.pages(region, 'DescribeImages', batch.join(', '), (client, NextToken) =>
      client.send(
        new DescribeImagesCommand({
          Filters: [{ Name: 'image-id', Values: batch }],
          IncludeDeprecated: true,
          IncludeDisabled: true,
          NextToken
        })
      )
    )
    for await (const page of pages) found.push(...(page.Images ?? []).map(toImageInfo))
  }
  return found
}

/**
 * This account's image with exactly this name in the region, if any (names are unique per region,
 * and a disabled image keeps its name). A recently deregistered image, which EC2 lists for a while,
 * no longer holds the name.
 */
export async function findOwnImageByName(aws: Aws, region: string, name: string): Promise<ImageInfo | undefined> {
  const pages = aws.pages(region, 'DescribeImages', `name ${name}`, (client, NextToken) =>
    client.send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [{ Name: 'name', Values: [name] }],
        IncludeDeprecated: true,
        IncludeDisabled: true,
        NextToken
      })
    )
  )
  for await (const page of pages) {
    const image = (page.Images ?? []).find((candidate) => candidate.Name === name && candidate.State !== 'deregistered')
    if (image) return toImageInfo(image)
  }
  return undefined
}

/**
 * EC2 is eventually consistent: an image just made (or whose name was just refused as taken) may
 * be missing from DescribeImages for a while. AWS's advice (EC2 developer guide, "Eventual
 * consistency") is to describe again with exponential backoff from a couple of seconds; this looks
 * again for about a minute in all before taking "not there" for an answer.
 */
export const VISIBILITY_PAUSES_MS = [1000, 2000, 4000, 8000, 15_000, 30_000] as const

export async function eventually<T>(
  look: () => Promise<T | undefined>,
  pause: (ms: number) => Promise<void>,
  pauses: readonly number[] = VISIBILITY_PAUSES_MS
): Promise<T | undefined> {
  for (let attempt = 0; ; attempt++) {
    const found = await look()
    const wait = pauses[attempt]
    if (found !== undefined || wait === undefined) return found
    await pause(wait)
  }
}

export interface Selectors {
  name?: string | undefined
  tags: Tags
}

/**
 * Every image this account owns in the region that matches the selectors, all pages. The name
 * pattern and tags go to EC2 as filters, so only matching images cross the wire.
 */
export async function listOwnImages(aws: Aws, region: string, selectors: Selectors): Promise<ImageInfo[]> {
  const filters = [
    ...(selectors.name !== undefined ? [{ Name: 'name', Values: [selectors.name] }] : []),
    ...[...selectors.tags].map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }))
  ]
  const images: ImageInfo[] = []
  const pages = aws.pages(region, 'DescribeImages', `images matching ${describeSelectors(selectors)}`, (client, NextToken) =>
    client.send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: filters,
        IncludeDeprecated: true,
        IncludeDisabled: true,
        MaxResults: 1000,
        NextToken
      })
    )
  )
  for await (const page of pages) {
    // Recently deregistered images are still listed for a while; they are gone all the same.
    images.push(...(page.Images ?? []).filter((image) => image.State !== 'deregistered').map(toImageInfo))
  }
  return images
}

export function describeSelectors(selectors: Selectors): string {
  return [selectors.name !== undefined ? `name ${selectors.name}` : '', ...[...selectors.tags].map(([k, v]) => `tag ${k}=${v}`)]
    .filter(Boolean)
    .join(', ')
}

export interface NewImage {
  instanceId: string
  name: string
  description: string
  noReboot: boolean
  tags: Tags
}

export function createImageInput(image: NewImage) {
  return {
    InstanceId: image.instanceId,
    Name: image.name,
    ...(image.description !== '' && { Description: image.description }),
    NoReboot: image.noReboot,
    TagSpecifications: tagsAtCreation(image.tags)
  }
}

export async function createImage(aws: Aws, region: string, image: NewImage): Promise<string> {
  const result = await aws.call(region, 'CreateImage', `instance ${image.instanceId} (image ${image.name})`, (client) =>
    client.send(new CreateImageCommand(createImageInput(image)))
  )
  return required(result.ImageId, 'CreateImage', region)
}

export interface ImageCopy {
  sourceRegion: string
  sourceImageId: string
  name: string
  description: string
  /** Same token, same copy: EC2 answers a repeated request with the first copy's id. */
  clientToken: string
  encrypted: boolean
  kmsKeyId?: string | undefined
  /** Time-based copy (SnapshotCopyCompletionDurationMinutes). */
  completionMinutes?: number | undefined
  tags: Tags
}

export function copyImageInput(copy: ImageCopy) {
  return {
    SourceRegion: copy.sourceRegion,
    SourceImageId: copy.sourceImageId,
    Name: copy.name,
    ...(copy.description !== '' && { Description: copy.description }),
    ClientToken: copy.clientToken,
    ...(copy.encrypted && { Encrypted: true }),
    ...(copy.kmsKeyId !== undefined && { KmsKeyId: copy.kmsKeyId }),
    ...(copy.completionMinutes !== undefined && { SnapshotCopyCompletionDurationMinutes: copy.completionMinutes }),
    TagSpecifications: tagsAtCreation(copy.tags)
  }
}

export async function copyImage(aws: Aws, region: string, copy: ImageCopy): Promise<string> {
  const result = await aws.call(region, 'CopyImage', `image ${copy.sourceImageId} from ${copy.sourceRegion}`, (client) =>
    client.send(new CopyImageCommand(copyImageInput(copy)))
  )
  return required(result.ImageId, 'CopyImage', region)
}

// CreateTags takes many resources at once; EC2 documents no hard cap, so batches stay moderate.
const TAG_BATCH = 500

/** The same tags on many images and snapshots of a region, in as few calls as EC2 allows. */
export async function tagResources(aws: Aws, region: string, resourceIds: readonly string[], tags: Tags): Promise<void> {
  if (tags.size === 0 || resourceIds.length === 0) return
  for (let at = 0; at < resourceIds.length; at += TAG_BATCH) {
    const batch = resourceIds.slice(at, at + TAG_BATCH)
    await aws.call(region, 'CreateTags', batch.join(', '), (client) =>
      client.send(new CreateTagsCommand({ Resources: batch, Tags: toTagList(tags) }))
    )
  }
}

/** What DeregisterImage said of each snapshot, when the server reports it. */
export interface SnapshotOutcome {
  snapshotId: string
  /** success | skipped (another image uses it) | missing-permissions | internal-error | client-error */
  code: string
}

/**
 * Deregisters an image, with its snapshots when asked (DeleteAssociatedSnapshots). Returns EC2's
 * per-snapshot results, or undefined when the server gave none. An image already gone — a retried
 * call whose first reply was lost — counts as done.
 */
export async function deregisterImage(
  aws: Aws,
  region: string,
  imageId: string,
  deleteSnapshots: boolean
): Promise<SnapshotOutcome[] | undefined> {
  try {
    const result = await aws.call(region, 'DeregisterImage', `image ${imageId}`, (client) =>
      client.send(new DeregisterImageCommand({ ImageId: imageId, ...(deleteSnapshots && { DeleteAssociatedSnapshots: true }) }))
    )
    const outcomes = result.DeleteSnapshotResults?.map((r) => ({ snapshotId: r.SnapshotId ?? '', code: r.ReturnCode ?? 'unknown' }))
    return outcomes && outcomes.length > 0 ? outcomes : undefined
  } catch (error) {
    if (!hasCode(error, 'InvalidAMIID.Unavailable', 'InvalidAMIID.NotFound')) throw error
    return undefined
  }
}

/**
 * DisableImage (EC2 API Reference): the image can launch no instance until EnableImage; it keeps its
 * snapshots. A retried call whose first reply was lost finds it disabled already, which is done.
 */
export async function disableImage(aws: Aws, region: string, imageId: string, dryRun = false): Promise<void> {
  const send = (client: Parameters<Parameters<Aws['call']>[3]>[0]) =>
    client.send(new DisableImageCommand({ ImageId: imageId, ...(dryRun && { DryRun: true }) }))
  if (dryRun) return aws.check(region, 'DisableImage', `image ${imageId}`, send)
  try {
    await aws.call(region, 'DisableImage', `image ${imageId}`, send)
  } catch (error) {
    const [now] = await describeImages(aws, region, [imageId])
    if (now?.state !== 'disabled') throw error
  }
}

export function tagsAtCreation(tags: Tags) {
  if (tags.size === 0) return undefined
  const list = toTagList(tags)
  return [
    { ResourceType: 'image' as const, Tags: list },
    { ResourceType: 'snapshot' as const, Tags: list }
  ]
}

export function toTagList(tags: Tags): Tag[] {
  return [...tags].map(([Key, Value]) => ({ Key, Value }))
}

export function toImageInfo(image: SdkImage): ImageInfo {
  const ebs = (image.BlockDeviceMappings ?? []).flatMap((mapping) => (mapping.Ebs ? [mapping.Ebs] : []))
  const info: ImageInfo = {
    imageId: image.ImageId ?? '',
    name: image.Name ?? '',
    description: image.Description ?? '',
    state: (image.State ?? 'pending') as ImageState,
    snapshotIds: ebs.flatMap((volume) => (volume.SnapshotId ? [volume.SnapshotId] : [])),
    tags: new Map((image.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
    creationDate: image.CreationDate ?? '',
    encrypted: ebs.length > 0 && ebs.every((volume) => volume.Encrypted === true),
    protected: isProtected(image.DeregistrationProtection)
  }
  const reason = image.StateReason?.Message ?? image.StateReason?.Code
  if (reason) info.stateReason = reason
  if (image.SourceInstanceId) info.sourceInstanceId = image.SourceInstanceId
  if (image.SourceImageId) info.sourceImageId = image.SourceImageId
  if (image.SourceImageRegion) info.sourceImageRegion = image.SourceImageRegion
  if (image.DeprecationTime) info.deprecationTime = image.DeprecationTime
  if (image.LastLaunchedTime) info.lastLaunchedTime = image.LastLaunchedTime
  return info
}

/**
 * EC2 reports `enabled`, `enabled-with-cooldown`, or, once protection with cooldown is turned off,
 * a `disabled-until-…` value while the cooldown runs: DeregisterImage is refused throughout. Only
 * plain `disabled` (or no value) lets an image go; anything else counts as protected.
 */
export function isProtected(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== 'disabled'
}

function required(id: string | undefined, operation: string, region: string): string {
  if (!id) throw new Error(`${operation} in ${region} returned no image id`)
  return id
}
