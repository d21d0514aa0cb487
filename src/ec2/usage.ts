// Is an image in use? DescribeImageReferences answers for instances, launch templates, SSM
// parameters and Image Builder recipes at once. Where the credentials (or the endpoint) do not
// allow it, instances and launch templates are checked directly, batched rather than per image.
import { DescribeImageReferencesCommand, DescribeInstancesCommand, DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2'
import { errorMessage } from '../errors.ts'
import type { Ec2 } from './client.ts'

export interface Usage {
  /** image id → who uses it ("instance i-…", "launch template lt-… version 4 ($Default)"). */
  users: Map<string, string[]>
  /** How usage was found, and why that way: for the log. */
  method: string
  /** Things that may use images in a way this check cannot see. */
  blindSpots: string[]
}

const BATCH = 100
// Every state but terminated: a stopped instance still needs its image to start again.
const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped']

export async function findUsage(ec2: Ec2, region: string, imageIds: readonly string[]): Promise<Usage> {
  if (imageIds.length === 0) return { users: new Map(), method: 'no image to check', blindSpots: [] }
  try {
    return {
      users: await byReferences(ec2, region, imageIds),
      method: 'DescribeImageReferences (instances, launch templates, SSM parameters, Image Builder recipes)',
      blindSpots: []
    }
  } catch (error) {
    const fallback = await directly(ec2, region, imageIds)
    return {
      ...fallback,
      method: `DescribeInstances and DescribeLaunchTemplateVersions, because DescribeImageReferences failed: ${errorMessage(error)}`
    }
  }
}

async function byReferences(ec2: Ec2, region: string, imageIds: readonly string[]): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>()
  for (let at = 0; at < imageIds.length; at += BATCH) {
    const batch = imageIds.slice(at, at + BATCH)
    const pages = ec2.pages(region, 'DescribeImageReferences', `${batch.length} images`, (client, NextToken) =>
      client.send(new DescribeImageReferencesCommand({ ImageIds: batch, IncludeAllResourceTypes: true, NextToken }))
    )
    for await (const page of pages) {
      for (const reference of page.ImageReferences ?? []) {
        if (reference.ImageId) add(users, reference.ImageId, `${reference.ResourceType ?? 'resource'} ${reference.Arn ?? ''}`.trim())
      }
    }
  }
  return users
}

async function directly(ec2: Ec2, region: string, imageIds: readonly string[]): Promise<Omit<Usage, 'method'>> {
  const users = new Map<string, string[]>()
  const wanted = new Set(imageIds)
  for (let at = 0; at < imageIds.length; at += 200) {
    const batch = imageIds.slice(at, at + 200)
    const pages = ec2.pages(region, 'DescribeInstances', `instances of ${batch.length} images`, (client, NextToken) =>
      client.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'image-id', Values: batch },
            { Name: 'instance-state-name', Values: LIVE_STATES }
          ],
          MaxResults: 1000,
          NextToken
        })
      )
    )
    for await (const page of pages) {
      for (const instance of (page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? [])) {
        if (instance.ImageId && wanted.has(instance.ImageId))
          add(users, instance.ImageId, `instance ${instance.InstanceId} (${instance.State?.Name ?? 'unknown state'})`)
      }
    }
  }
  // Without a template id, EC2 returns the default and latest versions of every launch template.
  const blindSpots: string[] = []
  const versions = ec2.pages(
    region,
    'DescribeLaunchTemplateVersions',
    'default and latest versions of every launch template',
    (client, NextToken) =>
      client.send(new DescribeLaunchTemplateVersionsCommand({ Versions: ['$Default', '$Latest'], MaxResults: 200, NextToken }))
  )
  for await (const page of versions) {
    for (const version of page.LaunchTemplateVersions ?? []) {
      const imageId = version.LaunchTemplateData?.ImageId ?? ''
      const which = `launch template ${version.LaunchTemplateId} version ${version.VersionNumber}${version.DefaultVersion ? ' (default)' : ''}`
      if (imageId.startsWith('resolve:ssm:')) blindSpots.push(`${which} takes its image from ${imageId}`)
      else if (wanted.has(imageId)) add(users, imageId, which)
    }
  }
  return { users, blindSpots: [...new Set(blindSpots)] }
}

function add(users: Map<string, string[]>, imageId: string, user: string): void {
  const list = users.get(imageId) ?? []
  if (!list.includes(user)) list.push(user)
  users.set(imageId, list)
}
