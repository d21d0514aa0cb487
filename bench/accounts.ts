// A release into target accounts: 10 accounts × 4 regions against 1 account × 4 regions, each
// account-region paced by its own token buckets (EC2's limits are per account and region), so ten
// accounts should take about as long as one.
import { performance } from 'node:perf_hooks'
import type { Call } from '../tools/ec2-double/index.ts'
import { runAction } from '../test/support/runner.ts'
import { EC2_BUCKETS, LATENCY, type Bench } from './common.ts'

export interface AccountFigures {
  accounts: number
  regions: number
  wallS: number
  /** Calls sent in each target account and region, polls included: the most and the fewest. */
  perAccountRegion: { most: number; fewest: number; changing: number }
  /** Calls the build account sent (grants, its own copies, polls). */
  buildAccount: number
  assumeRole: number
  throttled: number
  /** Every run's wall time, fastest first (the figures are the median run's). */
  walls?: number[]
}

const BUILD = '123456789012'
const DESTINATIONS = ['us-west-2', 'eu-west-1', 'eu-central-1']

/**
 * Each count is run `runs` times and the run of median wall time reported: on a 2-core machine the
 * double (moto behind it) shares the CPU with the step, and a copy made a moment later can miss a
 * poll and wait for the next, so one run alone says more about the machine than about the step.
 */
export async function measureAccounts(bench: Bench, counts: number[], runs = 3): Promise<AccountFigures[]> {
  const figures: AccountFigures[] = []
  for (const count of counts) {
    const tries: AccountFigures[] = []
    for (let run = 0; run < runs; run++) tries.push(await measureOnce(bench, count))
    const sorted = tries.sort((a, b) => a.wallS - b.wallS)
    figures.push({ ...sorted[Math.floor(sorted.length / 2)]!, walls: tries.map((t) => t.wallS).sort((a, b) => a - b) })
  }
  return figures
}

async function measureOnce(bench: Bench, count: number): Promise<AccountFigures> {
  const accounts = Array.from({ length: count }, (_, i) => String(200000000000 + i * 1111))
  for (const account of accounts) bench.front.role(account, 'ami-pipeline', { trusts: [BUILD] })
  bench.front.configure({ pendingMs: 5000, faults: [{ latencyMs: LATENCY }], buckets: EC2_BUCKETS })
  const mark = bench.front.calls.length
  const throttledBefore = bench.front.state.faults.throttled
  const started = performance.now()
  const result = await runAction(
    {
      mode: 'build, copy, wait, tag',
      'instance-id': bench.builder,
      name: `bench-accounts-${count}-${Date.now()}`,
      regions: DESTINATIONS.join(' '),
      tags: 'App=web',
      'target-accounts': accounts.join(' ')
    },
    {
      env: { ...bench.env, GITHUB_REPOSITORY: 'acme/bench', GITHUB_RUN_ID: String(Date.now()), GITHUB_RUN_ATTEMPT: '1' },
      timeoutMs: 600_000
    }
  )
  if (result.exitCode !== 0) throw new Error(`release to ${count} accounts failed: ${result.errors.join('; ')}`)
  const wallS = (performance.now() - started) / 1000
  const calls = bench.front.calls.slice(mark)
  const perScope = new Map<string, Call[]>()
  for (const call of calls.filter((c) => c.account !== BUILD && c.service !== 'sts'))
    perScope.set(`${call.account} ${call.region}`, [...(perScope.get(`${call.account} ${call.region}`) ?? []), call])
  const sizes = [...perScope.values()].map((list) => list.length)
  const changing = Math.max(...[...perScope.values()].map((list) => list.filter((c) => !/^(Describe|Get|List)/.test(c.action)).length))
  return {
    accounts: count,
    regions: DESTINATIONS.length + 1,
    wallS,
    perAccountRegion: { most: Math.max(...sizes), fewest: Math.min(...sizes), changing },
    buildAccount: calls.filter((c) => c.account === BUILD && c.service !== 'sts').length,
    assumeRole: calls.filter((c) => c.service === 'sts' && c.action === 'AssumeRole').length,
    throttled: bench.front.state.faults.throttled - throttledBefore
  }
}
