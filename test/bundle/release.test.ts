// The bundle as the runner runs it: `node dist/index.js`, INPUT_* variables with action.yml's
// defaults, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, against moto behind the front.
import { describe, expect, it } from '@jest/globals'
import { ownImages, snapshotIdsOf, tagsOf } from '../support/ec2-env.ts'
import { BAD_INPUTS } from '../support/bad-inputs.ts'
import { runAction } from '../support/runner.ts'
import { launchBuilder, useWorld } from '../support/world.ts'

const world = useWorld({ pendingMs: 500 })

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'AKIATESTINGKEY',
    AWS_SECRET_ACCESS_KEY: 'very-secret-access-key-value',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_EC2: world.front.endpoint,
    AWS_ENDPOINT_URL_SSM: world.front.endpoint,
    AWS_ENDPOINT_URL_AUTO_SCALING: world.front.endpoint,
    AWS_ENDPOINT_URL_STS: world.front.endpoint,
    AWS_ENDPOINT_URL_KMS: world.front.endpoint,
    AWS_ENDPOINT_URL_RBIN: world.front.endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    GITHUB_REPOSITORY: 'acme/images',
    GITHUB_RUN_ID: '1001',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SHA: 'ffeeddccbbaa00998877665544332211',
    GITHUB_REF: 'refs/tags/v2.0.0',
    GITHUB_WORKFLOW: 'release',
    ...extra
  }
}

describe('the bundle, run as the runner runs it', () => {
  it('runs a release and writes every output and the job summary', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const result = await runAction(
      { mode: 'build, copy, wait, tag', 'instance-id': instanceId, name: 'web-2.0.0', regions: 'us-west-2, eu-west-1', tags: 'App=web' },
      { env: env() }
    )
    expect(result.errors).toEqual([])
    expect(result.exitCode).toBe(0)

    const imageIds = JSON.parse(result.outputs['image-ids']!) as Record<string, string>
    expect(Object.keys(imageIds)).toEqual(['us-east-1', 'eu-west-1', 'us-west-2'])
    expect(result.outputs['image-id']).toBe(imageIds['us-east-1'])
    expect(result.outputs['image-name']).toBe('web-2.0.0')
    const snapshotIds = JSON.parse(result.outputs['snapshot-ids']!) as Record<string, string[]>
    for (const [region, imageId] of Object.entries(imageIds)) {
      const [image] = await ownImages(world.moto.endpoint, region)
      expect(image?.ImageId).toBe(imageId)
      expect(snapshotIds[region]).toEqual(snapshotIdsOf(image!))
      expect(tagsOf(image!)).toMatchObject({
        App: 'web',
        'ami-pipeline:run-id': '1001',
        'ami-pipeline:commit': 'ffeeddccbbaa00998877665544332211'
      })
    }
    expect(result.outputs['pruned-image-ids']).toBe('{}')
    expect(result.summary).toContain('## AMI Pipeline: build, copy, wait, tag')
    expect(result.summary).toMatch(
      new RegExp(`\\| eu-west-1 \\| \\[${imageIds['eu-west-1']}\\]\\(https://eu-west-1\\.console\\.aws\\.amazon\\.com/`)
    )
    const manifest = JSON.parse(result.manifest!) as {
      regions: Record<string, { image: { imageId: string } }>
    }
    expect(manifest.regions['us-west-2']?.image.imageId).toBe(imageIds['us-west-2'])
  })

  it('chains steps through outputs: a later step waits for and tags the images by image-ids', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const built = await runAction(
      { mode: 'build, copy', 'instance-id': instanceId, name: 'web-2.0.1', regions: 'eu-west-1' },
      { env: env() }
    )
    expect(built.exitCode).toBe(0)
    const tagged = await runAction({ mode: 'wait, tag', 'image-ids': built.outputs['image-ids']!, tags: 'Stage=released' }, { env: env() })
    expect(tagged.errors).toEqual([])
    expect(tagged.outputs['image-ids']).toBe(built.outputs['image-ids'])
    const [copy] = await ownImages(world.moto.endpoint, 'eu-west-1')
    expect(tagsOf(copy!)).toMatchObject({ Stage: 'released' })
  })

  it('refuses bad input before any change, naming the input, the value and what is accepted', async () => {
    const result = await runAction({ mode: 'build', 'instance-id': 'i-0123456789abcdef0', name: 'web 2.0.0 #1' }, { env: env() })
    expect(result.exitCode).toBe(1)
    expect(result.errors).toEqual([
      "Input 'name' has the value 'web 2.0.0 #1': expected 3 to 128 characters of letters, digits, spaces and ( ) [ ] . / - ' @ _"
    ])
    expect(world.front.calls).toEqual([])
    expect(result.summary).toContain("> Input 'name' has the value 'web 2.0.0 #1'")
    expect(result.outputs['image-ids']).toBe('{}')
  })

  // The wiring, once per place a refusal comes from (the mode, the source region, a mode's own
  // inputs, an input for another mode): every case of the table runs in-process (inputs.test.ts).
  const WIRING = [
    'no mode',
    'a bad region',
    'build without instance-id',
    'copy without regions',
    'prune without selectors',
    'a prune input without prune'
  ]
  const wiring = BAD_INPUTS.filter(([name]) => WIRING.includes(name))

  it('keeps a bad input of every kind in the wiring set', () => {
    expect(wiring.map(([name]) => name).sort()).toEqual([...WIRING].sort())
  })

  it.each(wiring)('refuses %s without a single EC2 call', async (_, given, message) => {
    const result = await runAction(given as Record<string, string>, { env: env() })
    expect(result.exitCode).toBe(1)
    expect(result.errors).toHaveLength(1)
    expect(result.errors[0]).toMatch(message)
    expect(world.front.calls).toEqual([])
  })

  it.each([
    [
      'a region that does not exist',
      'us-west-2, eu-wset-1',
      /Input 'regions' has the value 'eu-wset-1': eu-wset-1 is not a region of this account's partition \(did you mean eu-west-1\?\); the regions it can use are .*us-west-2/
    ],
    [
      'a region the account has not opted in to',
      'us-west-2, eu-south-1',
      /Input 'regions' has the value 'eu-south-1': eu-south-1 is not enabled for this account .*opt-in region/
    ],
    [
      'a region of another partition',
      'us-west-2, cn-north-1',
      /Input 'regions' has the value 'cn-north-1': cn-north-1 is not a region of this account's partition/
    ]
  ])('refuses %s before anything changes, naming it and what is accepted', async (_, regions, message) => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const result = await runAction({ mode: 'build, copy, wait', 'instance-id': instanceId, name: 'web-2.0.9', regions }, { env: env() })
    expect(result.exitCode).toBe(1)
    expect(result.errors).toEqual([expect.stringMatching(message)])
    expect(world.front.changingCalls()).toEqual([])
    expect(world.front.calls.map((call) => call.action)).toEqual(['DescribeRegions'])
  })

  it('says while it retries an endpoint that does not answer, rather than falling silent', async () => {
    // A port nothing listens on: every attempt is refused at once.
    const closed = 'http://127.0.0.1:9'
    const result = await runAction(
      { mode: 'wait', 'image-id': 'ami-04681a1dbd79675a5' },
      {
        env: { ...env(), AWS_ENDPOINT_URL_EC2: closed, AWS_ENDPOINT_URL_SSM: closed, AWS_ENDPOINT_URL_AUTO_SCALING: closed },
        // Once it has said so, the job is cancelled: the rest of its backoff would take half a minute.
        cancelWhen: (log) => log.includes('has failed 3 times')
      }
    )
    expect(result.exitCode).not.toBe(0)
    expect(result.log).toMatch(
      /A call to EC2 in us-east-1 has failed 3 times \(the last: .*ECONNREFUSED.*\); trying again, 12 times in all\./
    )
  })

  it('sets the outputs for what exists when the step fails', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    world.front.configure({ pendingMs: 60_000 })
    const result = await runAction(
      { mode: 'build, wait', 'instance-id': instanceId, name: 'web-2.0.2', 'wait-timeout': '2s' },
      { env: env() }
    )
    expect(result.exitCode).toBe(1)
    expect(result.errors[0]).toMatch(/Timed out after 2s/)
    const [image] = await ownImages(world.moto.endpoint, 'us-east-1')
    expect(result.outputs['image-id']).toBe(image!.ImageId)
    expect(result.summary).toMatch(/\[!CAUTION\]\n> Timed out/)
  })

  it('stops within seconds when the runner cancels the job, reporting what exists', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    world.front.configure({ pendingMs: 600_000 })
    const started = Date.now()
    const result = await runAction(
      { mode: 'build, wait', 'instance-id': instanceId, name: 'web-2.0.3' },
      { env: env(), cancelAfterMs: { ms: 2500, signal: 'SIGINT' } }
    )
    expect(Date.now() - started).toBeLessThan(8000)
    expect(result.exitCode).not.toBe(0)
    expect(result.errors[0]).toMatch(/The job was cancelled \(SIGINT\)/)
    expect(result.outputs['image-id']).toMatch(/^ami-/)
  })

  it('never writes the credentials to the log, even with step debug logging on', async () => {
    const result = await runAction(
      // One of moto's stock images: every call of the step is traced in the debug log.
      { mode: 'wait', 'image-id': 'ami-04681a1dbd79675a5' },
      { env: env({ RUNNER_DEBUG: '1', ACTIONS_STEP_DEBUG: 'true', AWS_SESSION_TOKEN: 'session-token-secret' }) }
    )
    expect(result.exitCode).toBe(0)
    // The runner consumes ::add-mask:: commands; everything else is what the log shows.
    const visible = result.log.split('\n').filter((line) => !line.startsWith('::add-mask::'))
    expect(visible.join('\n')).toContain('::debug::')
    expect(visible.join('\n')).not.toMatch(/very-secret-access-key-value|session-token-secret/)
    expect(result.log).toContain('::add-mask::very-secret-access-key-value')
  })
})
