// Publish: the calls one region costs when publish points an SSM parameter and a launch template
// at a new image, when a re-run finds both already pointing at it, and on a rollback. Run through
// the bundle against moto behind the front, with latency and EC2's buckets, so the count is what
// the action sends, SSM's asynchronous check included (the front takes 1 s for it).
import { performance } from 'node:perf_hooks'
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2'
import type { Call } from '../tools/ec2-double/index.ts'
import { runAction } from '../test/support/runner.ts'
import { seedImage } from '../test/support/seed.ts'
import { launchBuilder } from '../test/support/ec2-env.ts'
import { EC2_BUCKETS, LATENCY, type Bench } from './common.ts'

export interface PublishFigures {
  regions: number
  runs: { what: string; wallS: number; perRegion: Record<string, number> }[]
}

const REGIONS = ['us-east-1', 'eu-west-1']
const PARAMETER = '/bench/web/latest'

export async function measurePublish(bench: Bench): Promise<PublishFigures> {
  bench.front.configure({ pendingMs: 0, faults: [], buckets: EC2_BUCKETS })
  const stamp = Date.now()
  const releases: Record<string, string>[] = [{}, {}]
  for (const region of REGIONS) {
    const builder = region === 'us-east-1' ? bench.builder : await launchBuilder(bench.front.endpoint, region)
    for (const [i, release] of releases.entries())
      release[region] = (await seedImage(bench.front, region, builder, `publish-${stamp}-${i}`, 0)).imageId
    const client = new EC2Client({
      region,
      endpoint: bench.front.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
    })
    await client.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: `bench-web-${stamp}`,
        LaunchTemplateData: { ImageId: releases[0]![region], InstanceType: 't3.small' }
      })
    )
    client.destroy()
  }
  bench.front.configure({ pendingMs: 0, faults: [{ latencyMs: LATENCY }], buckets: EC2_BUCKETS })
  const step = async (what: string, imageIds: Record<string, string>, attempt: string) => {
    const mark = bench.front.calls.length
    const started = performance.now()
    const result = await runAction(
      { mode: 'publish', 'image-ids': JSON.stringify(imageIds), 'ssm-parameter': PARAMETER, 'launch-template': `bench-web-${stamp}` },
      { env: { ...bench.env, GITHUB_REPOSITORY: 'acme/bench', GITHUB_RUN_ID: `${stamp}${what.length}`, GITHUB_RUN_ATTEMPT: attempt } }
    )
    if (result.exitCode !== 0) throw new Error(`publish (${what}) failed: ${result.errors.join('; ')}`)
    return { what, wallS: (performance.now() - started) / 1000, perRegion: perRegion(bench.front.calls.slice(mark)) }
  }
  const runs = [
    await step('a new image (the parameter is new)', releases[1]!, '1'),
    await step('a re-run: both already point at it', releases[1]!, '2'),
    await step('a rollback to the image before', releases[0]!, '1')
  ]
  return { regions: REGIONS.length, runs }
}

/** Calls per operation, averaged over the regions (SSM operations prefixed ssm:). */
function perRegion(calls: readonly Call[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const call of calls) {
    const name = call.service === 'ssm' ? `ssm:${call.action}` : call.action
    counts[name] = (counts[name] ?? 0) + 1 / REGIONS.length
  }
  return counts
}
