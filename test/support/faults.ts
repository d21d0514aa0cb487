// The faults a release and a prune meet in the fault tests, in-process and through the bundle.
import type { FaultRule } from '../../tools/ec2-double/index.ts'
import { ownSnapshots } from './ec2-env.ts'

export const FAULT_REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1']

/** 15% throttling and 5% 5xx on every call, and the first CreateImage, CopyImage, CreateTags and DeregisterImage reply of each region lost. */
export const FAULTS: FaultRule[] = [
  { throttleRate: 0.15, errorRate: 0.05 },
  { actions: ['CreateImage', 'CopyImage', 'CreateTags', 'DeregisterImage'], lostReplyFirst: 1 }
]

/** Every snapshot of this account in the fault regions, as moto has them. */
export async function snapshotsEverywhere(motoEndpoint: string): Promise<Set<string>> {
  const all = new Set<string>()
  for (const region of FAULT_REGIONS) for (const snapshot of await ownSnapshots(motoEndpoint, region)) all.add(snapshot.SnapshotId!)
  return all
}
