// Is an image in use? Instances (in any state but terminated) and every launch template's default
// and latest version always count; DescribeImageReferences adds SSM parameters and Image Builder
// recipes where the credentials and the endpoint offer it. Every check is batched, never per image.
import {
  DescribeImageReferencesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  type ImageReference,
  type ResourceTypeRequest
} from '@aws-sdk/client-ec2'
import { errorMessage } from '../errors.ts'
import type { Ec2 } from './client.ts'
import { errorCode, hasCode } from './errors.ts'

export interface Usage {
  /** image id → who uses it ("instance i-…", "launch template lt-… version 4 (default)"). */
  users: Map<string, string[]>
  /** How usage was found, and why that way: for the log. */
  method: string
  /** Things that may use an image in a way no check here can see: for a warning. */
  blindSpots: string[]
}

// Every state but terminated: a stopped instance still needs its image to start again.
const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped']
// DescribeImageReferences takes at most 10 image ids per call; a filter takes 200 values.
const REFERENCE_BATCH = 10
const FILTER_VALUES = 200

/**
 * Launch templates are not asked of DescribeImageReferences: it looks at the newest `version-depth`
 * versions, which may miss an older default version (or, set deep enough to reach it, keep every
 * image any old version ever named). The default and latest versions are listed directly instead.
 * Its default instance states include terminated, so they are given here too.
 */
const REFERENCE_TYPES: ResourceTypeRequest[] = [
  { ResourceType: 'ec2:Instance', ResourceTypeOptions: [{ OptionName: 'state-name', OptionValues: LIVE_STATES }] },
  { ResourceType: 'ssm:Parameter' },
  { ResourceType: 'imagebuilder:ImageRecipe' },
  { ResourceType: 'imagebuilder:ContainerRecipe' }
]

/** Who uses each of these images in the region; images nobody uses are absent from `users`. */
export async function findUsage(ec2: Ec2, region: string, imageIds: readonly string[]): Promise<Usage> {
  if (imageIds.length === 0) return { users: new Map(), method: 'no image to check', blindSpots: [] }
  const [references, templates] = await Promise.all([
    referencesOrInstances(ec2, region, imageIds),
    launchTemplateUsers(ec2, region, imageIds)
  ])
  const users = new Map<string, string[]>()
  for (const source of [references.users, templates.users])
    for (const [imageId, list] of source) for (const user of list) add(users, imageId, user)
  // With references, an SSM parameter that names the image is found (if it is in this account and region).
  return { users, method: references.method, blindSpots: references.sawParameters ? [] : templates.fromParameters }
}

interface Found {
  users: Map<string, string[]>
  method: string
  sawParameters: boolean
}

async function referencesOrInstances(ec2: Ec2, region: string, imageIds: readonly string[]): Promise<Found> {
  try {
    return {
      users: await byReferences(ec2, region, imageIds),
      method:
        'DescribeImageReferences (instances, SSM parameters, Image Builder recipes) and DescribeLaunchTemplateVersions ' +
        "(every launch template's default and latest version)",
      sawParameters: true
    }
  } catch (error) {
    if (!unavailable(error)) throw error
    return {
      users: await instanceUsers(ec2, region, imageIds),
      method:
        `DescribeInstances and DescribeLaunchTemplateVersions, because DescribeImageReferences failed: ${errorMessage(error)} ` +
        '(so SSM parameters and Image Builder recipes are not checked)',
      sawParameters: false
    }
  }
}

/**
 * Errors that mean "not with these credentials" or "not on this endpoint". Anything else (a
 * malformed request, EC2 failing after every retry) fails the prune: nothing is retired unchecked.
 */
function unavailable(error: unknown): boolean {
  const codes = ['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException', 'InvalidAction', 'UnknownOperation', 'NotImplemented']
  if (hasCode(error, ...codes, 'UnknownOperationException', 'UnsupportedOperation')) return true
  // An endpoint without the action at all (moto answers HTTP 500 with an HTML page) gives no EC2 error code.
  return errorCode(error) === 'Error' && /Deserialization error|not been implemented/i.test(errorMessage(error))
}

async function byReferences(ec2: Ec2, region: string, imageIds: readonly string[]): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>()
  for (let at = 0; at < imageIds.length; at += REFERENCE_BATCH) {
    const batch = imageIds.slice(at, at + REFERENCE_BATCH)
    const pages = ec2.pages(region, 'DescribeImageReferences', `images ${batch.join(', ')}`, (client, NextToken) =>
      client.send(new DescribeImageReferencesCommand({ ImageIds: batch, ResourceTypes: REFERENCE_TYPES, NextToken }))
    )
    for await (const page of pages) {
      for (const reference of page.ImageReferences ?? []) {
        // Launch templates are checked exactly (default and latest version) by launchTemplateUsers.
        if (reference.ImageId && reference.ResourceType !== 'ec2:LaunchTemplate')
          add(users, reference.ImageId, describeReference(reference))
      }
    }
  }
  return users
}

/** A reference in the user's words: "instance i-…", "SSM parameter /golden/web", "Image Builder image recipe web/1.0.0". */
export function describeReference(reference: ImageReference): string {
  const arn = reference.Arn ?? ''
  const resource = arn.split(':').slice(5).join(':')
  const after = (prefix: string) => (resource.startsWith(prefix) ? resource.slice(prefix.length) : arn)
  switch (reference.ResourceType) {
    case 'ec2:Instance':
      return `instance ${after('instance/')}`
    case 'ssm:Parameter':
      return `SSM parameter ${after('parameter')}`
    case 'imagebuilder:ImageRecipe':
      return `Image Builder image recipe ${after('image-recipe/')}`
    case 'imagebuilder:ContainerRecipe':
      return `Image Builder container recipe ${after('container-recipe/')}`
    default:
      return `${reference.ResourceType ?? 'resource'} ${arn}`.trim()
  }
}

/** Instances of these images in any state but terminated: one call per 200 images (and page). */
async function instanceUsers(ec2: Ec2, region: string, imageIds: readonly string[]): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>()
  const wanted = new Set(imageIds)
  for (let at = 0; at < imageIds.length; at += FILTER_VALUES) {
    const batch = imageIds.slice(at, at + FILTER_VALUES)
    const filters = [
      { Name: 'image-id', Values: batch },
      { Name: 'instance-state-name', Values: LIVE_STATES }
    ]
    const pages = ec2.pages(region, 'DescribeInstances', `instances of ${batch.length} images`, (client, NextToken) =>
      client.send(new DescribeInstancesCommand({ Filters: filters, MaxResults: 1000, NextToken }))
    )
    for await (const page of pages) {
      for (const instance of (page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? [])) {
        if (instance.ImageId && wanted.has(instance.ImageId))
          add(users, instance.ImageId, `instance ${instance.InstanceId} (${instance.State?.Name ?? 'unknown state'})`)
      }
    }
  }
  return users
}

/**
 * The default and latest version of every launch template in the region, in one listing: without
 * a template id, DescribeLaunchTemplateVersions answers `$Default` / `$Latest` for all of them.
 * An image given as `resolve:ssm:…` cannot be resolved cheaply; it is returned for the log.
 */
async function launchTemplateUsers(
  ec2: Ec2,
  region: string,
  imageIds: readonly string[]
): Promise<{ users: Map<string, string[]>; fromParameters: string[] }> {
  const users = new Map<string, string[]>()
  const wanted = new Set(imageIds)
  const fromParameters = new Set<string>()
  const pages = ec2.pages(
    region,
    'DescribeLaunchTemplateVersions',
    'default and latest versions of every launch template',
    (client, NextToken) =>
      client.send(new DescribeLaunchTemplateVersionsCommand({ Versions: ['$Default', '$Latest'], MaxResults: 200, NextToken }))
  )
  for await (const page of pages) {
    for (const version of page.LaunchTemplateVersions ?? []) {
      const imageId = version.LaunchTemplateData?.ImageId ?? ''
      const which = `launch template ${version.LaunchTemplateId} version ${version.VersionNumber}${version.DefaultVersion ? ' (default)' : ''}`
      if (imageId.startsWith('resolve:ssm:')) fromParameters.add(`${which} takes its image from ${imageId}`)
      else if (wanted.has(imageId)) add(users, imageId, which)
    }
  }
  return { users, fromParameters: [...fromParameters] }
}

function add(users: Map<string, string[]>, imageId: string, user: string): void {
  const list = users.get(imageId) ?? []
  if (!list.includes(user)) list.push(user)
  users.set(imageId, list)
}
