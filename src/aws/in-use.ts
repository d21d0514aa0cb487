// Is an image in use? Instances (in any state but terminated) and every version of every launch
// template — an Auto Scaling group or fleet may pin any version, not only the default or latest —
// always count; DescribeImageReferences adds SSM parameters and Image Builder recipes where the
// credentials and the endpoint offer it. Every check is batched, never per image.
import {
  DescribeImageReferencesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  type ImageReference,
  type ResourceTypeRequest
} from '@aws-sdk/client-ec2'
import { errorMessage } from '../errors.ts'
import { FILTER_VALUES } from '../limits.ts'
import { IN_FLIGHT, inPool } from '../pool.ts'
import type { Aws } from './client.ts'
import { hasCode } from './errors.ts'
import { launcherUsers, type LauncherUsage } from './launchers.ts'
import { parameterUsers } from './parameters.ts'
import { isUncodedAnswer, isUnknownOperation } from './retry.ts'

export interface Usage {
  /** image id → who uses it ("instance i-…", "launch template lt-… version 4 (default)"). */
  users: Map<string, string[]>
  /** How usage was found, and why that way: for the log. */
  method: string
  /**
   * A kind of user that could not be checked (its permission denied): no image it might name is
   * retired. `warning` says so once, naming the IAM permissions; `reason` is each kept image's.
   */
  unchecked?: { warning: string; reason: string }
  /** What was not checked though nothing is kept for it (the contract leaves it to DescribeImageReferences). */
  notes: string[]
}

// Every state but terminated: a stopped instance still needs its image to start again.
const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped']
// DescribeImageReferences takes at most 10 image ids per call.
const REFERENCE_BATCH = 10
/**
 * How many of each launch template's newest versions DescribeImageReferences looks at: its maximum,
 * which is also EC2's quota of versions per template, so every version is seen. (Its default, 10,
 * would miss an older version that an Auto Scaling group pins.)
 */
export const LAUNCH_TEMPLATE_VERSION_DEPTH = 10_000

/**
 * Its default instance states include terminated, so the live ones are given; launch templates at
 * full depth; SSM parameters and Image Builder recipes as they come.
 */
const REFERENCE_TYPES: ResourceTypeRequest[] = [
  { ResourceType: 'ec2:Instance', ResourceTypeOptions: [{ OptionName: 'state-name', OptionValues: LIVE_STATES }] },
  {
    ResourceType: 'ec2:LaunchTemplate',
    ResourceTypeOptions: [{ OptionName: 'version-depth', OptionValues: [String(LAUNCH_TEMPLATE_VERSION_DEPTH)] }]
  },
  { ResourceType: 'ssm:Parameter' },
  { ResourceType: 'imagebuilder:ImageRecipe' },
  { ResourceType: 'imagebuilder:ContainerRecipe' }
]

/**
 * Who uses each of these images in the region; images nobody uses are absent from `users`. Every
 * version of every launch template is always listed with ResolveAlias, even where
 * DescribeImageReferences also looks at launch templates: EC2 does not document whether it resolves
 * a `resolve:ssm:` image (a parameter version or label, say), nor which SSM parameters it counts.
 */
export async function findUsage(aws: Aws, region: string, imageIds: readonly string[]): Promise<Usage> {
  if (imageIds.length === 0) return { users: new Map(), method: 'no image to check', notes: [] }
  const [found, templates, launchers] = await Promise.all([
    referencesOrInstances(aws, region, imageIds),
    launchTemplateUsers(aws, region, imageIds),
    launcherUsers(aws, region, imageIds)
  ])
  const users = new Map<string, string[]>()
  for (const source of [found.users, templates, launchers.users])
    for (const [imageId, list] of source) for (const user of list) add(users, imageId, user)
  // A reference names a launch template; the listing names its version too: keep the precise one.
  for (const [imageId, list] of users)
    users.set(
      imageId,
      list.filter((user) => !list.some((other) => other.startsWith(`${user} version `)))
    )
  const templatesChecked = 'every version of every launch template (DescribeLaunchTemplateVersions, with resolve:ssm: images resolved)'
  const unchecked = [...(found.unchecked ? [found.unchecked] : []), ...launchers.unchecked.map((kind) => uncheckedLaunchers(region, kind))]
  return {
    users,
    method: `${found.method} and ${templatesChecked}; also launch configurations, Spot Fleet requests and Spot requests`,
    notes: found.notes,
    ...(unchecked.length > 0 && {
      unchecked: { warning: unchecked.map((u) => u.warning).join(' '), reason: unchecked.map((u) => u.reason).join('; ') }
    })
  }
}

/** Fail closed: a kind of launcher that could not be listed may launch any of the images. */
function uncheckedLaunchers(region: string, kind: LauncherUsage['unchecked'][number]): { warning: string; reason: string } {
  return {
    warning: `${kind.what} could not be listed in ${region} (${kind.why}), so no image one might launch is retired there. Allow ${kind.permission}.`,
    reason: `not checked against ${kind.what}: allow ${kind.permission}`
  }
}

async function referencesOrInstances(aws: Aws, region: string, imageIds: readonly string[]): Promise<Usage> {
  try {
    return {
      users: await byReferences(aws, region, imageIds),
      method: 'DescribeImageReferences (instances, launch templates, SSM parameters, Image Builder recipes)',
      notes: []
    }
  } catch (error) {
    if (!unavailable(error)) throw error
    // publish writes aws:ec2:image parameters, and a rollback points one at an older image: those
    // are read here too, since DescribeImageReferences is what would have covered them.
    const [instances, parameters] = await Promise.all([instanceUsers(aws, region, imageIds), parameterUsers(aws, region, imageIds)])
    const users = instances
    if ('users' in parameters) for (const [imageId, list] of parameters.users) for (const user of list) add(users, imageId, user)
    const ssm =
      'users' in parameters
        ? 'SSM parameters of data type aws:ec2:image (DescribeParameters, GetParameters)'
        : `not SSM parameters (${parameters.unavailable})`
    return {
      users,
      method: `DescribeInstances and ${ssm}, because DescribeImageReferences failed: ${errorMessage(error)} (so Image Builder recipes that name an image are not checked)`,
      notes: [
        `Image Builder recipes were not checked for the images in ${region}: only DescribeImageReferences sees them, and it failed (${errorMessage(error)}). Allow ec2:DescribeImageReferences.`
      ],
      // Fail closed: a parameter may hold any of the images (a rollback target, say).
      ...('unavailable' in parameters && {
        unchecked: {
          warning: `SSM parameters could not be checked in ${region} (${parameters.unavailable}), so no image an SSM parameter might name is retired there. Allow ec2:DescribeImageReferences, or ssm:DescribeParameters and ssm:GetParameters.`,
          reason:
            'not checked against SSM parameters (permission denied): allow ec2:DescribeImageReferences, or ssm:DescribeParameters and ssm:GetParameters'
        }
      })
    }
  }
}

/**
 * Errors that mean "not with these credentials" or "not on this endpoint": EC2's own codes, or an
 * answer that is not EC2's at all and stayed so through its retries — by then the endpoint answered
 * this job's other calls, so it is this operation it lacks. Anything else (a malformed request, EC2
 * failing after every retry) fails the prune: nothing is retired unchecked.
 */
export function unavailable(error: unknown): boolean {
  const denied = ['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException']
  return hasCode(error, ...denied) || isUnknownOperation(error) || isUncodedAnswer(error)
}

async function byReferences(aws: Aws, region: string, imageIds: readonly string[]): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>()
  const batches = Array.from({ length: Math.ceil(imageIds.length / REFERENCE_BATCH) }, (_, i) =>
    imageIds.slice(i * REFERENCE_BATCH, (i + 1) * REFERENCE_BATCH)
  )
  const look = async (batch: readonly string[]): Promise<void> => {
    const pages = aws.pages(region, 'DescribeImageReferences', `images ${batch.join(', ')}`, (client, NextToken) =>
      client.send(new DescribeImageReferencesCommand({ ImageIds: [...batch], ResourceTypes: REFERENCE_TYPES, NextToken }))
    )
    for await (const page of pages) {
      for (const reference of page.ImageReferences ?? []) if (reference.ImageId) add(users, reference.ImageId, describeReference(reference))
    }
  }
  // The first batch alone: credentials or an endpoint without the operation fail it once, not once
  // per batch in flight. Then the rest together: the describe bucket, not each batch waiting for
  // the last, sets the pace.
  const [first, ...rest] = batches
  if (first) await look(first)
  await inPool(rest, IN_FLIGHT, look)
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
    case 'ec2:LaunchTemplate':
      return `launch template ${after('launch-template/')}`
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
async function instanceUsers(aws: Aws, region: string, imageIds: readonly string[]): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>()
  const wanted = new Set(imageIds)
  for (let at = 0; at < imageIds.length; at += FILTER_VALUES) {
    const batch = imageIds.slice(at, at + FILTER_VALUES)
    const filters = [
      { Name: 'image-id', Values: batch },
      { Name: 'instance-state-name', Values: LIVE_STATES }
    ]
    const pages = aws.pages(region, 'DescribeInstances', `instances of ${batch.length} images`, (client, NextToken) =>
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
 * Every version of every launch template in the region. Without a template id EC2 lists only the
 * default and latest versions, so each template's versions are listed on their own (200 a page).
 * ResolveAlias makes EC2 answer an image given as `resolve:ssm:…` with the image it resolves to now.
 */
async function launchTemplateUsers(aws: Aws, region: string, imageIds: readonly string[]): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>()
  const wanted = new Set(imageIds)
  const templates: string[] = []
  const listing = aws.pages(region, 'DescribeLaunchTemplates', 'every launch template', (client, NextToken) =>
    client.send(new DescribeLaunchTemplatesCommand({ MaxResults: 200, NextToken }))
  )
  for await (const page of listing)
    for (const template of page.LaunchTemplates ?? []) if (template.LaunchTemplateId) templates.push(template.LaunchTemplateId)

  await inPool(templates, IN_FLIGHT, async (id) => {
    const pages = aws.pages(region, 'DescribeLaunchTemplateVersions', `every version of launch template ${id}`, (client, NextToken) =>
      client.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, ResolveAlias: true, MaxResults: 200, NextToken }))
    )
    for await (const page of pages) {
      for (const version of page.LaunchTemplateVersions ?? []) {
        const imageId = version.LaunchTemplateData?.ImageId ?? ''
        if (wanted.has(imageId))
          add(users, imageId, `launch template ${id} version ${version.VersionNumber}${version.DefaultVersion ? ' (default)' : ''}`)
      }
    }
  })
  return users
}

function add(users: Map<string, string[]>, imageId: string, user: string): void {
  const list = users.get(imageId) ?? []
  if (!list.includes(user)) list.push(user)
  users.set(imageId, list)
}
