// Release to 1, 4 and 8 regions: the action against the AWS CLI script a user would write.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Call } from '../tools/ec2-double/index.ts'
import { runAction } from '../test/support/runner.ts'
import { EC2_BUCKETS, LATENCY, type Bench } from './common.ts'

export interface ReleaseFigures {
  regions: number
  action: { wallS: number; changing: number; describe: number; polls: number }
  baseline: { wallS: number; changing: number; describe: number }
}

const DESTINATIONS = [
  'us-west-2',
  'eu-west-1',
  'us-east-2',
  'eu-central-1',
  'ap-southeast-1',
  'ap-northeast-1',
  'sa-east-1',
  'ca-central-1'
]

export async function measureRelease(bench: Bench, root: string, counts: number[]): Promise<ReleaseFigures[]> {
  const figures: ReleaseFigures[] = []
  for (const count of counts) {
    const regions = DESTINATIONS.slice(0, count)
    bench.front.configure({ pendingMs: 5000, faults: [{ latencyMs: LATENCY }], buckets: EC2_BUCKETS })
    let mark = bench.front.calls.length
    let started = performance.now()
    const result = await runAction(
      {
        mode: 'build, copy, wait, tag',
        'instance-id': bench.builder,
        name: `bench-${count}-${Date.now()}`,
        regions: regions.join(' '),
        tags: 'App=web'
      },
      { env: { ...bench.env, GITHUB_REPOSITORY: 'acme/bench', GITHUB_RUN_ID: String(Date.now()), GITHUB_RUN_ATTEMPT: '1' } }
    )
    if (result.exitCode !== 0) throw new Error(`release to ${count} regions failed: ${result.errors.join('; ')}`)
    const actionWall = (performance.now() - started) / 1000
    const actionCalls = bench.front.calls.slice(mark)

    mark = bench.front.calls.length
    started = performance.now()
    await script(
      join(root, 'bench', 'baseline-release.sh'),
      [bench.builder, `cli-${count}-${Date.now()}`, 'us-east-1', regions.join(' ')],
      bench.env
    )
    const baselineWall = (performance.now() - started) / 1000
    const baselineCalls = bench.front.calls.slice(mark)

    figures.push({
      regions: count,
      action: { wallS: actionWall, ...kinds(actionCalls), polls: actionCalls.filter(isPoll).length },
      baseline: { wallS: baselineWall, ...kinds(baselineCalls) }
    })
  }
  return figures
}

/** A wait poll: DescribeImages by image id (the name look-up before CreateImage is not one). */
function isPoll(call: Call): boolean {
  return call.action === 'DescribeImages' && Object.values(call.params).includes('image-id')
}

export function kinds(calls: readonly Call[]): { changing: number; describe: number } {
  const describe = calls.filter((call) => /^(Describe|Get|List)/.test(call.action)).length
  return { changing: calls.length - describe, describe }
}

function script(path: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path} exited ${code}: ${stderr}`))))
  })
}
