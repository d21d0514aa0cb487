// The regions this account can use, as EC2 lists them (DescribeRegions with AllRegions): every
// region of the partition, each with its opt-in status.
import { DescribeRegionsCommand } from '@aws-sdk/client-ec2'
import type { Aws } from './client.ts'

export interface AccountRegion {
  name: string
  /** opt-in-not-required, opted-in, or not-opted-in (EC2 API Reference, Region). */
  optInStatus: string
}

export async function accountRegions(aws: Aws, region: string): Promise<AccountRegion[]> {
  const result = await aws.call(region, 'DescribeRegions', 'every region', (client) =>
    client.send(new DescribeRegionsCommand({ AllRegions: true }))
  )
  return (result?.Regions ?? []).flatMap((found) =>
    found.RegionName ? [{ name: found.RegionName, optInStatus: found.OptInStatus ?? '' }] : []
  )
}
