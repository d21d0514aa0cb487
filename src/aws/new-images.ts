// Making images and labelling them: CreateImage, CopyImage, and tags, at creation or after. Every
// changing call goes through Aws.change, so a dry run sends it as a DryRun check instead.
import { CopyImageCommand, CreateImageCommand, CreateTagsCommand, DeleteTagsCommand, type Tag } from '@aws-sdk/client-ec2'
import type { Tags } from '../tags.ts'
import type { Aws } from './client.ts'
import { hasCode } from './errors.ts'

export interface NewImage {
  instanceId: string
  name: string
  description: string
  noReboot: boolean
  tags: Tags
}

function createImageInput(image: NewImage) {
  return {
    InstanceId: image.instanceId,
    Name: image.name,
    ...(image.description !== '' && { Description: image.description }),
    NoReboot: image.noReboot,
    TagSpecifications: tagsAtCreation(image.tags)
  }
}

/** CreateImage; in a dry run, its check, and '' for the image id. */
export async function createImage(aws: Aws, region: string, image: NewImage): Promise<string> {
  const result = await aws.change(region, 'CreateImage', `instance ${image.instanceId} (image ${image.name})`, (client, DryRun) =>
    client.send(new CreateImageCommand({ ...createImageInput(image), DryRun }))
  )
  return result === undefined ? '' : required(result.ImageId, 'CreateImage', region)
}

/**
 * CreateImage with DryRun, in any run: EC2 checks the permission (API Reference, DryRun). Before a
 * replace the old image still holds the name, so a name refusal there is expected and passes.
 */
export async function checkCreateImage(aws: Aws, region: string, image: NewImage, nameTaken = false): Promise<void> {
  try {
    await aws.check(region, 'CreateImage', `instance ${image.instanceId}`, (client, DryRun) =>
      client.send(new CreateImageCommand({ ...createImageInput(image), DryRun }))
    )
  } catch (error) {
    if (!(nameTaken && hasCode(error, 'InvalidAMIName.Duplicate'))) throw error
  }
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

function copyImageInput(copy: ImageCopy) {
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

/** CopyImage into `region`; in a dry run, its check, and '' for the image id. */
export async function copyImage(aws: Aws, region: string, copy: ImageCopy): Promise<string> {
  const result = await aws.change(region, 'CopyImage', `image ${copy.sourceImageId} from ${copy.sourceRegion}`, (client, DryRun) =>
    client.send(new CopyImageCommand({ ...copyImageInput(copy), DryRun }))
  )
  return result === undefined ? '' : required(result.ImageId, 'CopyImage', region)
}

// CreateTags takes many resources at once; EC2 documents no hard cap, so batches stay moderate.
const TAG_BATCH = 500

/** The same tags on many images and snapshots of a region, in as few calls as EC2 allows. */
export async function tagResources(aws: Aws, region: string, resourceIds: readonly string[], tags: Tags): Promise<void> {
  if (tags.size === 0 || resourceIds.length === 0) return
  for (let at = 0; at < resourceIds.length; at += TAG_BATCH) {
    const batch = resourceIds.slice(at, at + TAG_BATCH)
    await aws.change(region, 'CreateTags', batch.join(', '), (client, DryRun) =>
      client.send(new CreateTagsCommand({ Resources: batch, Tags: toTagList(tags), DryRun }))
    )
  }
}

/**
 * Removes these tags from the resources, each only where it still has the value given (EC2 API
 * Reference, DeleteTags: a tag with a value is deleted only if its value matches).
 */
export async function untagResources(aws: Aws, region: string, resourceIds: readonly string[], tags: Tags): Promise<void> {
  if (tags.size === 0 || resourceIds.length === 0) return
  await aws.change(region, 'DeleteTags', resourceIds.join(', '), (client, DryRun) =>
    client.send(new DeleteTagsCommand({ Resources: [...resourceIds], Tags: toTagList(tags), DryRun }))
  )
}

function tagsAtCreation(tags: Tags) {
  if (tags.size === 0) return undefined
  const list = toTagList(tags)
  return [
    { ResourceType: 'image' as const, Tags: list },
    { ResourceType: 'snapshot' as const, Tags: list }
  ]
}

function toTagList(tags: Tags): Tag[] {
  return [...tags].map(([Key, Value]) => ({ Key, Value }))
}

function required(id: string | undefined, operation: string, region: string): string {
  if (!id) throw new Error(`${operation} in ${region} returned no image id`)
  return id
}
