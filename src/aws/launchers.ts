// What launches instances from an image without being an instance or a launch template: Auto
// Scaling launch configurations (attached to a group or not: a group may be pointed at one again),
// Spot Fleet requests that can still launch (their launch specifications), and Spot requests that
// are open or active (a persistent one launches again after an interruption). None of these is in
// DescribeImageReferences, so they are always listed — a page at a time, never per image.
import { DescribeSpotFleetRequestsCommand, DescribeSpotInstanceRequestsCommand } from '@aws-sdk/client-ec2'
import { errorMessage } from '../errors.ts'
import type { Aws } from './client.ts'
import { hasCode } from './errors.ts'
import { isUncodedAnswer, isUnknownOperation } from './retry.ts'

/** Spot Fleet request states that may still launch instances (EC2 API Reference, SpotFleetRequestConfig). */
const LAUNCHING_FLEET_STATES = new Set(['submitted', 'active', 'modifying'])
/** Spot request states that have or may get an instance (EC2 API Reference, SpotInstanceRequest). */
const LIVE_SPOT_STATES = ['open', 'active']

export interface LauncherUsage {
  users: Map<string, string[]>
  /** The kinds that could not be listed, each with why and the permission it needs. */
  unchecked: { what: string; permission: string; why: string }[]
}

interface Kind {
  what: string
  permission: string
  list: (aws: Aws, region: string, wanted: ReadonlySet<string>, users: Map<string, string[]>) => Promise<void>
}

const KINDS: readonly Kind[] = [
  { what: 'launch configurations', permission: 'autoscaling:DescribeLaunchConfigurations', list: launchConfigurationUsers },
  { what: 'Spot Fleet requests', permission: 'ec2:DescribeSpotFleetRequests', list: spotFleetUsers },
  { what: 'Spot requests', permission: 'ec2:DescribeSpotInstanceRequests', list: spotRequestUsers }
]

/** Who of these kinds uses each image; a kind that cannot be listed is named in `unchecked`. */
export async function launcherUsers(aws: Aws, region: string, imageIds: readonly string[]): Promise<LauncherUsage> {
  const wanted = new Set(imageIds)
  // Each kind is listed into its own map, and the maps are merged in the order of KINDS: the same
  // users always read the same way, whichever listing answered first.
  const found = await Promise.all(
    KINDS.map(async ({ what, permission, list }) => {
      const users = new Map<string, string[]>()
      try {
        await list(aws, region, wanted, users)
        return { users }
      } catch (error) {
        if (!unavailable(error)) throw error
        return { users, unchecked: { what, permission, why: errorMessage(error) } }
      }
    })
  )
  const usage: LauncherUsage = { users: new Map(), unchecked: [] }
  for (const kind of found) {
    for (const [imageId, list] of kind.users) for (const user of list) add(usage.users, imageId, user)
    if (kind.unchecked) usage.unchecked.push(kind.unchecked)
  }
  return usage
}

/**
 * Refused to these credentials, not offered by the endpoint, or no endpoint answering at all (an
 * EC2-compatible endpoint without Auto Scaling): not checked, which keeps the images.
 */
function unavailable(error: unknown): boolean {
  const unreachable = /ENOTFOUND|ECONNREFUSED|EAI_AGAIN/.test(errorMessage(error))
  return (
    hasCode(error, 'UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException') ||
    isUnknownOperation(error) ||
    isUncodedAnswer(error) ||
    unreachable
  )
}

async function launchConfigurationUsers(
  aws: Aws,
  region: string,
  wanted: ReadonlySet<string>,
  users: Map<string, string[]>
): Promise<void> {
  const { DescribeLaunchConfigurationsCommand } = await import('@aws-sdk/client-auto-scaling')
  let nextToken: string | undefined
  do {
    const token = nextToken
    const page = await aws.autoScaling(region, 'DescribeLaunchConfigurations', 'every launch configuration', (client) =>
      client.send(new DescribeLaunchConfigurationsCommand({ MaxRecords: 100, NextToken: token }))
    )
    for (const configuration of page.LaunchConfigurations ?? [])
      if (configuration.ImageId && wanted.has(configuration.ImageId))
        add(users, configuration.ImageId, `launch configuration ${configuration.LaunchConfigurationName}`)
    nextToken = page.NextToken || undefined
  } while (nextToken !== undefined)
}

async function spotFleetUsers(aws: Aws, region: string, wanted: ReadonlySet<string>, users: Map<string, string[]>): Promise<void> {
  const pages = aws.pages(region, 'DescribeSpotFleetRequests', 'every Spot Fleet request', (client, NextToken) =>
    client.send(new DescribeSpotFleetRequestsCommand({ MaxResults: 1000, NextToken }))
  )
  for await (const page of pages) {
    for (const fleet of page.SpotFleetRequestConfigs ?? []) {
      const state = fleet.SpotFleetRequestState ?? ''
      if (!LAUNCHING_FLEET_STATES.has(state)) continue
      for (const specification of fleet.SpotFleetRequestConfig?.LaunchSpecifications ?? [])
        if (specification.ImageId && wanted.has(specification.ImageId))
          add(users, specification.ImageId, `Spot Fleet request ${fleet.SpotFleetRequestId} (${state})`)
    }
  }
}

async function spotRequestUsers(aws: Aws, region: string, wanted: ReadonlySet<string>, users: Map<string, string[]>): Promise<void> {
  const pages = aws.pages(region, 'DescribeSpotInstanceRequests', 'every open or active Spot request', (client, NextToken) =>
    client.send(
      new DescribeSpotInstanceRequestsCommand({ Filters: [{ Name: 'state', Values: LIVE_SPOT_STATES }], MaxResults: 1000, NextToken })
    )
  )
  for await (const page of pages) {
    for (const request of page.SpotInstanceRequests ?? []) {
      const imageId = request.LaunchSpecification?.ImageId
      if (imageId && wanted.has(imageId))
        add(users, imageId, `Spot request ${request.SpotInstanceRequestId} (${request.Type ?? 'one-time'}, ${request.State})`)
    }
  }
}

function add(users: Map<string, string[]>, imageId: string, user: string): void {
  const list = users.get(imageId) ?? []
  if (!list.includes(user)) list.push(user)
  users.set(imageId, list)
}
