// Reading images, in the user's words. Describes are batched: one call serves every image of a
// region (200 a filter).
import { DescribeImagesCommand, type Image as SdkImage } from '@aws-sdk/client-ec2'
import { FILTER_VALUES } from '../limits.ts'
import type { Tags } from '../tags.ts'
import type { Aws } from './client.ts'

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
  /** AWS Marketplace product codes: such an image shared from another account cannot be copied. */
  productCodes?: string[]
}

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

/** Whether this account owns the image (a given image may be another account's, shared with this one). */
export async function ownsImage(aws: Aws, region: string, imageId: string): Promise<boolean> {
  const { Images } = await aws.call(region, 'DescribeImages', `image ${imageId}`, (client) =>
    client.send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [{ Name: 'image-id', Values: [imageId] }],
        IncludeDeprecated: true,
        IncludeDisabled: true
      })
    )
  )
  return (Images ?? []).some((image) => image.ImageId === imageId)
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
  const products = (image.ProductCodes ?? []).flatMap((code) => (code.ProductCodeId ? [code.ProductCodeId] : []))
  if (products.length > 0) info.productCodes = products
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
