// What the README promises — re-runs are no-ops, nothing half-done goes unreported, a cancelled
// prune reports exactly what it retired — held by the bundle as the runner runs it, against moto
// behind a front that behaves as EC2 documents (ClientToken replays compared in full, new images
// listed late, failed copies).
import { describe, expect, it } from '@jest/globals'
import { ownImages, ownSnapshots, snapshotIdsOf, tagsOf } from '../support/ec2-env.ts'
import { runAction } from '../support/runner.ts'
import { seedImage } from '../support/seed.ts'
import { launchBuilder, useWorld, awsEnv } from '../support/world.ts'

const world = useWorld({ pendingMs: 300 })

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...awsEnv(world),
    AWS_EC2_METADATA_DISABLED: 'true',
    GITHUB_REPOSITORY: 'acme/images',
    GITHUB_RUN_ID: '2001',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/tags/v3.0.0',
    GITHUB_WORKFLOW: 'release',
    ...extra
  }
}

async function imagesIn(region: string): Promise<string[]> {
  return (await ownImages(world.moto.endpoint, region)).map((image) => image.ImageId!).sort()
}

describe('re-runs', () => {
  it('adopt what earlier attempts made, at build and at copy, and make no second image', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const release = {
      mode: 'build, copy, wait, tag',
      'instance-id': instanceId,
      name: 'web-3.0.0',
      regions: 'us-west-2, eu-west-1',
      tags: 'App=web'
    }
    const first = await runAction(release, { env: env() })
    expect(first.errors).toEqual([])
    // Attempt 2 carries other provenance (run-attempt: 2), so a replayed ClientToken would not match.
    const second = await runAction(release, { env: env({ GITHUB_RUN_ATTEMPT: '2' }) })
    expect(second.errors).toEqual([])
    expect(second.outputs['image-ids']).toBe(first.outputs['image-ids'])
    const third = await runAction(release, { env: env({ GITHUB_RUN_ATTEMPT: '3' }) })
    expect(third.outputs['image-ids']).toBe(first.outputs['image-ids'])
    for (const region of ['us-east-1', 'us-west-2', 'eu-west-1']) expect(await imagesIn(region)).toHaveLength(1)
    expect(world.front.calls.filter((call) => call.action === 'CopyImage' && call.status === 200)).toHaveLength(2)
  })

  it('never takes, on a re-run without provenance tags, the image another run made on the same builder', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const inputs = { mode: 'build, wait', 'instance-id': instanceId, name: 'web-3.0.4', 'provenance-tags': 'false' }
    const yesterday = await runAction(inputs, { env: env({ GITHUB_RUN_ID: '100' }) })
    expect(yesterday.errors).toEqual([])
    const theirs = yesterday.outputs['image-id']!
    world.front.setCreationDate(theirs, 'us-east-1', new Date(Date.now() - 86_400_000).toISOString())

    const rerun = await runAction(inputs, { env: env({ GITHUB_RUN_ID: '101', GITHUB_RUN_ATTEMPT: '2' }) })
    expect(rerun.exitCode).toBe(1)
    expect(rerun.errors[0]).toMatch(new RegExp(`${theirs} \\(available\\), made from this builder instance .* cannot tell`))
    expect(rerun.outputs['image-id']).toBe('')
    expect(await imagesIn('us-east-1')).toEqual([theirs])

    // Nor is it replaced with if-exists: replace: it may be this run's own first attempt's.
    const replaced = await runAction({ ...inputs, 'if-exists': 'replace' }, { env: env({ GITHUB_RUN_ID: '101', GITHUB_RUN_ATTEMPT: '3' }) })
    expect(replaced.exitCode).toBe(1)
    expect(replaced.errors[0]).toMatch(/cannot tell whether an earlier attempt of this workflow run made it/)
    expect(await imagesIn('us-east-1')).toEqual([theirs])
  })

  it('never takes, on a re-run without provenance tags, the image another run made on the same builder minutes before', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const inputs = { mode: 'build, wait', 'instance-id': instanceId, name: 'web-3.0.5', 'provenance-tags': 'false' }
    const other = await runAction(inputs, { env: env({ GITHUB_RUN_ID: '200' }) })
    expect(other.errors).toEqual([])
    const theirs = other.outputs['image-id']!
    world.front.setCreationDate(theirs, 'us-east-1', new Date(Date.now() - 2 * 60_000).toISOString())
    const rerun = await runAction(inputs, { env: env({ GITHUB_RUN_ID: '201', GITHUB_RUN_ATTEMPT: '2' }) })
    expect(rerun.exitCode).toBe(1)
    expect(rerun.errors[0]).toMatch(/cannot tell whether an earlier attempt of this workflow run made it/)
    expect(rerun.outputs['image-id']).toBe('')
  })

  it('adopt, with provenance-tags: false, the image a lost CreateImage reply left behind', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    world.front.configure({ faults: [{ actions: ['CreateImage'], lostReplyFirst: 1 }] })
    const result = await runAction(
      { mode: 'build, wait', 'instance-id': instanceId, name: 'web-3.0.1', 'provenance-tags': 'false' },
      { env: env() }
    )
    expect(result.errors).toEqual([])
    expect(await imagesIn('us-east-1')).toEqual([result.outputs['image-id']])
    expect(world.front.calls.filter((call) => call.action === 'CreateImage')).toHaveLength(2)
  })
})

describe('copies made by a later step', () => {
  it("carry the source image's own tags on the image and its snapshots, so prune-tags finds them", async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const source = await seedImage(world.front, 'us-east-1', instanceId, 'api-7', 0, { App: 'api', Team: 'platform' })
    const copied = await runAction(
      { mode: 'copy, wait', 'image-id': source.imageId, regions: 'eu-west-1', tags: 'Stage=released' },
      { env: env() }
    )
    expect(copied.errors).toEqual([])
    const [copy] = await ownImages(world.moto.endpoint, 'eu-west-1')
    expect(tagsOf(copy!)).toMatchObject({ App: 'api', Team: 'platform', Stage: 'released', 'ami-pipeline:source-image': source.imageId })
    const snapshots = await ownSnapshots(world.moto.endpoint, 'eu-west-1')
    for (const id of snapshotIdsOf(copy!)) expect(tagsOf(snapshots.find((s) => s.SnapshotId === id)!)).toMatchObject({ App: 'api' })

    const plan = await runAction(
      { mode: 'prune', 'prune-tags': 'App=api', 'prune-regions': 'eu-west-1', keep: '0', 'dry-run': 'true' },
      { env: env() }
    )
    expect(plan.errors).toEqual([])
    expect(JSON.parse(plan.outputs['pruned-image-ids']!)).toEqual({ 'eu-west-1': [copy!.ImageId] })
  })
})

describe('a failed copy', () => {
  it('is removed and reported even when another copy times out first', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const snapshotIds = async () => (await ownSnapshots(world.moto.endpoint, 'us-west-2')).map((s) => s.SnapshotId).sort()
    const snapshotsBefore = await snapshotIds()
    world.front.configure({
      pendingMs: (image) => {
        if (image.action !== 'CopyImage') return 0
        if (image.region === 'us-west-2') {
          world.front.failImage(image.imageId, 'Copy of snapshot failed: KMS key disabled')
          return 200
        }
        return 600_000
      }
    })
    const result = await runAction(
      { mode: 'build, copy, wait', 'instance-id': instanceId, name: 'web-3.0.2', regions: 'us-west-2, eu-west-1', 'wait-timeout': '3s' },
      { env: env() }
    )
    expect(result.exitCode).toBe(1)
    expect(result.errors).toHaveLength(1)
    expect(result.errors[0]).toMatch(/An image failed: ami-\w+ 'web-3.0.2' in us-west-2: Copy of snapshot failed: KMS key disabled/)
    expect(result.errors[0]).toMatch(/Timed out after .* still pending: ami-\w+ in eu-west-1 \(pending\)/)
    const imageIds = JSON.parse(result.outputs['image-ids']!) as Record<string, string>
    expect(Object.keys(imageIds).sort()).toEqual(['eu-west-1', 'us-east-1'])
    expect(await imagesIn('us-west-2')).toEqual([])
    expect(await snapshotIds()).toEqual(snapshotsBefore)
    expect(result.summary).toContain('### Failed images removed')
  })
})

describe('a cancelled prune', () => {
  it('stops deregistering at once and reports exactly what it retired', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const seeded = []
    for (let i = 0; i < 40; i++) seeded.push(await seedImage(world.front, 'us-east-1', instanceId, `old-${i}`, 40 + i, { App: 'old' }))
    // Each DeregisterImage takes a while, as a busy region's may: the prune is still going when cancelled.
    world.front.configure({ faults: [{ actions: ['DeregisterImage'], latencyMs: 300 }] })
    const deregistered = () => world.front.calls.filter((call) => call.action === 'DeregisterImage')
    const result = await runAction(
      { mode: 'prune', 'prune-tags': 'App=old', keep: '0', 'prune-regions': 'us-east-1' },
      { env: env(), cancelWhen: () => deregistered().length >= 4 }
    )
    expect(result.cancelledAt).toBeDefined()
    expect(result.exitCode).toBe(1)
    expect(result.errors.join('\n')).toMatch(/The job was cancelled \(SIGINT\)/)
    const answered = deregistered().filter((call) => call.status === 200)
    // Only the calls already on the wire when the job was cancelled went through; no new one was sent.
    expect(deregistered().filter((call) => call.at > result.cancelledAt! + 1000)).toEqual([])
    expect(answered.length).toBeLessThan(seeded.length)
    const retired = (JSON.parse(result.outputs['pruned-image-ids']!) as Record<string, string[]>)['us-east-1']!
    expect(retired.sort()).toEqual(answered.map((call) => call.params.ImageId).sort())
    const left = await imagesIn('us-east-1')
    expect(left).toHaveLength(seeded.length - retired.length)
    for (const id of retired) expect(left).not.toContain(id)
    expect(result.summary).toContain('### Retired')
  })
})
