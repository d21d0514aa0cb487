// The pipeline under the faults EC2 really produces — throttling, 5xx, lost replies — from seeded
// random sources, in virtual time (the SDK's backoff and the double's pending states alike):
// whatever happens, each run ends with exactly the images asked for, nothing orphaned, correct
// outputs; re-runs make nothing; prune retires exactly its plan. The bundle meets the same faults
// once, in test/bundle/faults.test.ts.
import { describe, expect, it } from '@jest/globals'
import { outputsOf } from '../../src/report.ts'
import type { Run } from '../../src/run.ts'
import { ownImages, ownSnapshots, snapshotIdsOf, tagsOf } from '../support/ec2-env.ts'
import { FAULT_REGIONS, FAULTS, snapshotsEverywhere } from '../support/faults.ts'
import { seedDozenReleases } from '../support/seed.ts'
import { runAgainst, TEST_RUN, type Given, type TestStep } from '../support/step.ts'
import { launchBuilder, useWorld } from '../support/world.ts'

const world = useWorld({}, { virtual: true })
const REGIONS = FAULT_REGIONS
const SEEDS = [1, 2, 3]

const run = (runAttempt = '1'): Run => ({ ...TEST_RUN, runId: '5150', runAttempt })

/** Runs the step in-process; fails the test with what the step failed with. */
async function step(given: Given, attempt = '1'): Promise<TestStep> {
  const { step, failure } = await runAgainst(world.front, given, run(attempt))
  if (failure) throw failure
  return step
}

const imageIdsOf = (done: TestStep) => JSON.parse(outputsOf(done.release, done.journal)['image-ids']) as Record<string, string>

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

    const first = await step(inputs)
    const injected = world.front.calls.filter((call) => call.errorCode === 'RequestLimitExceeded' || call.errorCode === 'InternalError')
    expect(injected.length).toBeGreaterThan(0)
    // The lost CreateImage reply came back as a taken name on retry, and the image was adopted.
    expect(world.front.calls.some((call) => call.action === 'CreateImage' && call.errorCode === 'InvalidAMIName.Duplicate')).toBe(true)

    const imageIds = imageIdsOf(first)
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
    const again = await step(inputs, '2')
    expect(imageIdsOf(again)).toEqual(imageIds)
    expect(world.front.calls.filter((call) => call.action === 'CreateImage')).toEqual([])
    for (const region of REGIONS) expect(await ownImages(world.moto.endpoint, region)).toHaveLength(1)

    // A later tag step on the same images: CreateTags under the same faults, its first reply lost.
    await step({ mode: 'tag', 'image-ids': JSON.stringify(imageIds), tags: 'Stage=released' }, '2')
    expect(world.front.calls.some((call) => call.action === 'CreateTags' && call.errorCode === 'InternalError')).toBe(true)
    for (const region of REGIONS) {
      const [image] = await ownImages(world.moto.endpoint, region)
      expect(tagsOf(image!)).toMatchObject({ Stage: 'released', App: 'web' })
      const snapshots = (await ownSnapshots(world.moto.endpoint, region)).filter((s) => snapshotIdsOf(image!).includes(s.SnapshotId!))
      for (const snapshot of snapshots) expect(tagsOf(snapshot)).toMatchObject({ Stage: 'released' })
    }
  })

  it('prune retires exactly the planned images, nothing else', async () => {
    await seedDozenReleases(world.front, ['us-east-1', 'eu-west-1'])
    const inputs = { mode: 'prune', 'prune-name': 'web-*', 'prune-regions': 'us-east-1 eu-west-1', keep: '3', 'older-than': '30d' }
    const plan = await step({ ...inputs, 'dry-run': 'true' })
    const planned = JSON.parse(outputsOf(plan.release, plan.journal)['pruned-image-ids']) as Record<string, string[]>
    const before = new Map<string, string[]>()
    for (const region of ['us-east-1', 'eu-west-1'])
      before.set(
        region,
        (await ownImages(world.moto.endpoint, region)).map((image) => image.ImageId!)
      )

    world.front.configure({ seed, faults: FAULTS })
    const result = await step(inputs)
    expect(JSON.parse(outputsOf(result.release, result.journal)['pruned-image-ids'])).toEqual(planned)
    for (const region of ['us-east-1', 'eu-west-1']) {
      const left = (await ownImages(world.moto.endpoint, region)).map((image) => image.ImageId!).sort()
      expect(left).toEqual(
        before
          .get(region)!
          .filter((id) => !planned[region]!.includes(id))
          .sort()
      )
    }
  })
})
