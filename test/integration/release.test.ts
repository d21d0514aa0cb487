// build, copy, wait and tag against moto behind the front: real EC2 API calls, real pending states.
import { describe, expect, it } from '@jest/globals'
import { ownImages, ownSnapshots, snapshotIdsOf, tagsOf } from '../support/ec2-env.ts'
import { runAgainst, type Given, type TestStep } from '../support/step.ts'
import { launchBuilder, useWorld } from '../support/world.ts'

const world = useWorld({ pendingMs: 1500 }, { virtual: true })
const RUN = { repository: 'acme/images', commit: 'abc123', runId: '42', runAttempt: '1', workflow: 'release', ref: 'refs/tags/v1' }

/** Runs the step in-process against the front; throws what the step would fail with. */
async function runStep(given: Given, run = RUN): Promise<TestStep> {
  const { step, failure } = await runAgainst(world.front, given, run)
  if (failure) throw failure
  return step
}

describe('a release against an EC2 API', () => {
  it('builds, copies to two regions, waits and tags every image and snapshot', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const step = await runStep({
      mode: 'tag, wait, copy, build',
      'instance-id': instanceId,
      name: 'web-1.0.0',
      regions: 'us-west-2 eu-west-1',
      tags: 'App=web'
    })

    expect(step.release.regions()).toEqual(['us-east-1', 'eu-west-1', 'us-west-2'])
    for (const region of ['us-east-1', 'eu-west-1', 'us-west-2']) {
      const images = await ownImages(world.moto.endpoint, region)
      expect(images).toHaveLength(1)
      const image = images[0]!
      expect(image.ImageId).toBe(step.release.get(region)!.imageId)
      expect(tagsOf(image)).toMatchObject({ App: 'web', 'ami-pipeline:run-id': '42' })
      const snapshotIds = snapshotIdsOf(image)
      expect(snapshotIds.length).toBeGreaterThan(0)
      expect(step.release.get(region)!.snapshotIds).toEqual(snapshotIds)
      const snapshots = (await ownSnapshots(world.moto.endpoint, region)).filter((s) => snapshotIds.includes(s.SnapshotId!))
      for (const snapshot of snapshots) expect(tagsOf(snapshot)).toMatchObject({ App: 'web', 'ami-pipeline:repository': 'acme/images' })
      expect(step.release.get(region)!.state).toBe('available')
    }
    const copyTags = tagsOf((await ownImages(world.moto.endpoint, 'eu-west-1'))[0]!)
    expect(copyTags).toMatchObject({ 'ami-pipeline:source-image': step.release.source!.imageId, 'ami-pipeline:source-region': 'us-east-1' })
    // The source was pending when copy started: copy waited rather than being refused.
    expect(world.front.calls.filter((c) => c.action === 'CopyImage').every((c) => c.status === 200)).toBe(true)
  })

  it('makes nothing new when the same workflow run runs again', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const given = { mode: 'build, copy, wait', 'instance-id': instanceId, name: 'web-1.0.1', regions: 'eu-west-1' }
    const first = await runStep(given)
    world.front.calls.length = 0
    const second = await runStep(given, { ...RUN, runAttempt: '2' })
    expect(second.release.all().map((i) => i.imageId)).toEqual(first.release.all().map((i) => i.imageId))
    expect(world.front.calls.filter((c) => c.action === 'CreateImage')).toHaveLength(0)
    expect((await ownImages(world.moto.endpoint, 'eu-west-1')).length).toBe(1)
  })

  it('refuses a name another run already used, naming the image', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const first = await runStep({ mode: 'build', 'instance-id': instanceId, name: 'web-1.0.2' })
    await expect(runStep({ mode: 'build', 'instance-id': instanceId, name: 'web-1.0.2' }, { ...RUN, runId: '43' })).rejects.toThrow(
      `An image named 'web-1.0.2' already exists in us-east-1: ${first.release.source!.imageId}`
    )
  })

  it('encrypts each copy with its region’s key', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const step = await runStep({
      mode: 'build, copy, wait',
      'instance-id': instanceId,
      name: 'web-1.0.3',
      regions: 'us-west-2 eu-west-1',
      encrypted: 'true',
      'kms-key-ids': 'eu-west-1=alias/eu-images'
    })
    const euSnapshots = (await ownSnapshots(world.front.endpoint, 'eu-west-1')).filter((s) =>
      step.release.get('eu-west-1')!.snapshotIds.includes(s.SnapshotId!)
    )
    expect(euSnapshots.map((s) => [s.Encrypted, s.KmsKeyId])).toEqual([[true, 'arn:aws:kms:eu-west-1:123456789012:alias/eu-images']])
    expect(step.release.get('us-west-2')!.encrypted).toBe(true)
    expect(step.release.get('us-east-1')!.encrypted).toBe(false)
  })

  it('removes a copy that failed, with its snapshots, keeps the others and fails with AWS’s reason', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    world.front.configure({ pendingMs: (image) => (image.region === 'eu-west-1' ? 1000 : 500) })
    const failing = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const copy = [...world.front.state.images].find(([, image]) => image.region === 'eu-west-1')
        if (copy) {
          world.front.failImage(copy[0], 'Copy of snapshot failed')
          clearInterval(timer)
          resolve()
        }
      }, 20)
    })
    const result = runStep({ mode: 'build, copy, wait', 'instance-id': instanceId, name: 'web-1.0.4', regions: 'us-west-2 eu-west-1' })
    await failing
    await expect(result).rejects.toThrow(/An image failed: ami-\w+ 'web-1.0.4' in eu-west-1: Copy of snapshot failed/)
    expect(await ownImages(world.moto.endpoint, 'eu-west-1')).toHaveLength(0)
    expect(await ownImages(world.moto.endpoint, 'us-west-2')).toHaveLength(1)
  })

  it('fails past wait-timeout naming the images still pending', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    world.front.configure({ pendingMs: 60_000 })
    await expect(runStep({ mode: 'build, wait', 'instance-id': instanceId, name: 'web-1.0.5', 'wait-timeout': '3s' })).rejects.toThrow(
      /Timed out after 3s \(wait-timeout 3s\) with images still pending: ami-\w+ in us-east-1 \(pending\)/
    )
  })

  it('changes nothing in a dry run, and checks each changing call with DryRun', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    await runStep({ mode: 'build', 'instance-id': instanceId, name: 'web-1.0.6', 'dry-run': 'true' })
    expect(await ownImages(world.moto.endpoint, 'us-east-1')).toHaveLength(0)
    expect(world.front.changingCalls().map((c) => [c.action, c.params.DryRun, c.errorCode])).toEqual([
      ['CreateImage', 'true', 'DryRunOperation']
    ])
  })
})
