// The bundle under the faults EC2 really produces — throttling, 5xx, lost replies — once, on real
// time, as the runner runs it: the release ends with exactly the images asked for, nothing
// orphaned, correct outputs, and a re-run makes nothing. Every seed, and prune under the same
// faults, run in-process in virtual time (test/integration/faults.test.ts).
import { describe, expect, it } from '@jest/globals'
import { ownImages, ownSnapshots, snapshotIdsOf, tagsOf } from '../support/ec2-env.ts'
import { FAULT_REGIONS, FAULTS, snapshotsEverywhere } from '../support/faults.ts'
import { runAction } from '../support/runner.ts'
import { launchBuilder, useWorld, awsEnv } from '../support/world.ts'

const world = useWorld()
const REGIONS = FAULT_REGIONS
const SEEDS = [1]

const env = (runAttempt = '1') => ({
  ...awsEnv(world),
  GITHUB_REPOSITORY: 'acme/images',
  GITHUB_RUN_ID: '5150',
  GITHUB_RUN_ATTEMPT: runAttempt
})

describe.each(SEEDS)('under injected faults (seed %i)', (seed) => {
  it('a release ends with exactly one tagged image per region, nothing orphaned; re-running it makes nothing; tagging later still lands', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    const snapshotsBefore = await snapshotsEverywhere(world.moto.endpoint)
    world.front.configure({ seed, pendingMs: 800, faults: FAULTS })
    const inputs = {
      mode: 'build, copy, wait, tag',
      'instance-id': builder,
      name: `web-${seed}`,
      regions: 'us-west-2, eu-west-1',
      tags: 'App=web\nTier=front'
    }

    const first = await runAction(inputs, { env: env('1') })
    expect(first.errors).toEqual([])
    const injected = world.front.calls.filter((call) => call.errorCode === 'RequestLimitExceeded' || call.errorCode === 'InternalError')
    expect(injected.length).toBeGreaterThan(0)
    // The lost CreateImage reply came back as a taken name on retry, and the image was adopted.
    expect(world.front.calls.some((call) => call.action === 'CreateImage' && call.errorCode === 'InvalidAMIName.Duplicate')).toBe(true)

    const imageIds = JSON.parse(first.outputs['image-ids']!) as Record<string, string>
    const made = new Set<string>()
    for (const region of REGIONS) {
      const images = await ownImages(world.moto.endpoint, region)
      expect(images.map((image) => image.ImageId)).toEqual([imageIds[region]])
      expect(tagsOf(images[0]!)).toMatchObject({ App: 'web', Tier: 'front', 'ami-pipeline:run-id': '5150' })
      for (const id of snapshotIdsOf(images[0]!)) made.add(id)
      const snapshots = (await ownSnapshots(world.moto.endpoint, region)).filter((s) => snapshotIdsOf(images[0]!).includes(s.SnapshotId!))
      for (const snapshot of snapshots) expect(tagsOf(snapshot)).toMatchObject({ App: 'web', Tier: 'front' })
    }
    // Every new snapshot belongs to one of the images: none orphaned by a retried call.
    const newSnapshots = [...(await snapshotsEverywhere(world.moto.endpoint))].filter((id) => !snapshotsBefore.has(id))
    expect(newSnapshots.sort()).toEqual([...made].sort())

    world.front.calls.length = 0
    const again = await runAction(inputs, { env: env('2') })
    expect(again.errors).toEqual([])
    expect(again.outputs['image-ids']).toBe(first.outputs['image-ids'])
    expect(world.front.calls.filter((call) => call.action === 'CreateImage')).toEqual([])
    for (const region of REGIONS) expect(await ownImages(world.moto.endpoint, region)).toHaveLength(1)

    // A later tag step on the same images: CreateTags under the same faults, its first reply lost.
    const tagged = await runAction({ mode: 'tag', 'image-ids': first.outputs['image-ids']!, tags: 'Stage=released' }, { env: env('2') })
    expect(tagged.errors).toEqual([])
    expect(world.front.calls.some((call) => call.action === 'CreateTags' && call.errorCode === 'InternalError')).toBe(true)
    for (const region of REGIONS) {
      const [image] = await ownImages(world.moto.endpoint, region)
      expect(tagsOf(image!)).toMatchObject({ Stage: 'released', App: 'web' })
      const snapshots = (await ownSnapshots(world.moto.endpoint, region)).filter((s) => snapshotIdsOf(image!).includes(s.SnapshotId!))
      for (const snapshot of snapshots) expect(tagsOf(snapshot)).toMatchObject({ Stage: 'released' })
    }
  })
})
