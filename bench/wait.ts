// Wait: how soon the step notices an image became available, and how often it asks.
import { runAction } from '../test/support/runner.ts'
import { POLLING } from '../src/time.ts'
import { EC2_BUCKETS, LATENCY, type Bench } from './common.ts'

export interface WaitFigures {
  pendingS: number
  schedule: string
  noticeS: number
  perMinute: number
  steadyPerMinute: number
}

const PENDING_MS = 150_000

export async function measureWait(bench: Bench): Promise<WaitFigures> {
  bench.front.configure({ pendingMs: PENDING_MS, faults: [{ latencyMs: LATENCY }], buckets: EC2_BUCKETS })
  const mark = bench.front.calls.length
  const result = await runAction(
    { mode: 'build, wait', 'instance-id': bench.builder, name: `wait-${Date.now()}` },
    { env: bench.env, timeoutMs: 600_000 }
  )
  if (result.exitCode !== 0) throw new Error(`wait failed: ${result.errors.join('; ')}`)
  const imageId = result.outputs['image-id']!
  const image = bench.front.state.images.get(imageId)!
  const availableAt = image.createdAt + PENDING_MS
  const polls = bench.front.calls
    .slice(mark)
    .filter((call) => call.action === 'DescribeImages' && Object.values(call.params).includes(imageId))
  const noticed = polls.find((call) => call.at >= availableAt)!
  // A rate is intervals over time: n polls span n - 1 intervals.
  const waited = polls.filter((call) => call.at <= noticed.at)
  const minutes = (noticed.at - waited[0]!.at) / 60_000
  const steady = waited.filter((call) => call.at >= image.createdAt + 60_000)
  return {
    pendingS: PENDING_MS / 1000,
    schedule: `${POLLING.wait.map((ms) => `${ms / 1000} s`).join(', ')}, then every ${POLLING.wait.at(-1)! / 1000} s`,
    noticeS: (noticed.at - availableAt) / 1000,
    perMinute: (waited.length - 1) / minutes,
    steadyPerMinute: (steady.length - 1) / ((noticed.at - steady[0]!.at) / 60_000)
  }
}
