// DescribeRegions as EC2 answers it, where moto does not: only the regions of the caller's
// partition, and the opt-in regions not enabled unless the test says the account opted in.
import type { Caller } from '../caller.ts'
import type { Reply } from '../protocol.ts'
import { items, parseXml, serializeXml, textOf } from '../xml.ts'

/**
 * EC2 User Guide, "Enable or disable AWS Regions in your account": Regions introduced after March
 * 20, 2019 are disabled by default (opt-in). moto reports some of them as not needing opt-in.
 */
const OPT_IN_REGIONS = new Set([
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1'
])

/** A region's partition by its name (AWS General Reference, partitions): aws, aws-cn, aws-us-gov, the ISO ones. */
function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  if (/^[a-z]{2}-iso/.test(region)) return 'aws-iso'
  return 'aws'
}

/** EC2 API Reference, DescribeRegions: the regions of the caller's partition, each with its OptInStatus. */
export async function describeRegions(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const reply = await caller.send(params)
  if (reply.status >= 400) return reply
  const xml = parseXml(reply.body)
  const set = xml.children.find((child) => child.name === 'regionInfo')
  if (!set) return reply
  const partition = partitionOf(caller.region)
  const optedIn = new Set(caller.options.optedInRegions ?? [])
  set.children = set.children.filter((region) => partitionOf(textOf(region, 'regionName') ?? '') === partition)
  for (const region of items(xml, 'regionInfo')) {
    const name = textOf(region, 'regionName') ?? ''
    const status = region.children.find((child) => child.name === 'optInStatus')
    if (status && OPT_IN_REGIONS.has(name)) status.text = optedIn.has(name) ? 'opted-in' : 'not-opted-in'
  }
  return { status: reply.status, body: serializeXml(xml) }
}
