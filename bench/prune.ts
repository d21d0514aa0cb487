// Prune of N images per region under EC2's token buckets: wall time against the bound the refill
// rate imposes, calls per retired image, throttled responses.
import { performance } from 'node:perf_hooks'
import { runAction } from '../test/support/runner.ts'
import { seedImage } from '../test/support/seed.ts'
import { launchBuilder } from '../test/support/ec2-env.ts'
import { kinds } from './release.ts'
import { EC2_BUCKETS, LATENCY, type Bench } from './common.ts'
import type { Call } from '../tools/ec2-double/state.ts'

export interface PruneFigures {
  perRegion: number
  regions: number
  wallS: number
  /** Until the first DeregisterImage: listing, the in-use checks, the plan. */
  planS: number
  boundS: number
  retired: number
  changing: number
  throttled: number
  failed: number
  perOperation: Record<string, number>
}

export async function measurePrune(bench: Bench, sizes: number[]): Promise<PruneFigures[]> {
  const figures: PruneFigures[] = []
  for (const perRegion of sizes) {
    const regions = perRegion >= 1000 ? ['us-east-1', 'eu-west-1'] : ['us-east-1']
    const prefix = `prune${perRegion}x`
    bench.front.configure({ pendingMs: 0, faults: [], buckets: undefined })
    for (const region of regions) await seed(bench, region, prefix, perRegion)

    // Full buckets at the start, as for a scheduled job that runs alone.
    bench.front.configure({ pendingMs: 0, faults: [{ latencyMs: LATENCY }], buckets: EC2_BUCKETS })
    const mark = bench.front.calls.length
    const started = performance.now()
    const startedAt = Date.now()
    const result = await runAction(
      {
        mode: 'prune',
        'prune-name': `${prefix}-*`,
        'prune-regions': regions.join(' '),
        keep: '0',
        'older-than': '1d',
        'max-deletions': String(perRegion * regions.length)
      },
      { env: bench.env, timeoutMs: 1_800_000 }
    )
    const wallS = (performance.now() - started) / 1000
    const calls = bench.front.calls.slice(mark)
    const retired = Object.values(JSON.parse(result.outputs['pruned-image-ids'] ?? '{}') as Record<string, string[]>).flat().length
    const perOperation: Record<string, number> = {}
    for (const call of calls) perOperation[call.action] = (perOperation[call.action] ?? 0) + 1
    figures.push({
      perRegion,
      regions: regions.length,
      wallS,
      planS: ((calls.find((call) => call.action === 'DeregisterImage')?.at ?? startedAt) - startedAt) / 1000,
      boundS: boundFor(calls, regions.length),
      retired,
      changing: kinds(calls).changing,
      throttled: calls.filter((call) => call.errorCode === 'RequestLimitExceeded').length,
      failed: result.exitCode === 0 ? 0 : result.errors.length,
      perOperation
    })
  }
  return figures
}

/**
 * What the refill rates alone impose, regions in parallel (each its own buckets): the plan is made
 * whole before anything is retired, so the describes of the in-use checks (one DescribeImageAttribute
 * per candidate among them: EC2 has no batch form) come first, then the changes.
 */
function boundFor(calls: readonly Call[], regions: number): number {
  const { describe, changing } = kinds(calls.filter((call) => call.service === undefined))
  const beyond = (count: number, bucket: { capacity: number; refillPerSecond: number }) =>
    Math.max(0, (count / regions - bucket.capacity) / bucket.refillPerSecond)
  return beyond(describe, EC2_BUCKETS.describe) + beyond(changing, EC2_BUCKETS.change)
}

/** N old images in the region, made a few at a time. */
async function seed(bench: Bench, region: string, prefix: string, count: number): Promise<void> {
  const builder = await launchBuilder(bench.front.endpoint, region)
  let next = 0
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) await seedImage(bench.front, region, builder, `${prefix}-${i}`, 10, { App: prefix })
  }
  await Promise.all(Array.from({ length: 8 }, worker))
}
