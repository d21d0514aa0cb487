// A scheduled cleanup as a new user would run it: the bundle, a dry run first, then for real, on a
// server seeded with a dozen releases in two regions, some in use and one protected.
import { describe, expect, it } from '@jest/globals'
import { ownImages, ownSnapshots, snapshotIdsOf } from '../support/ec2-env.ts'
import { runAction } from '../support/runner.ts'
import { seedDozenReleases } from '../support/seed.ts'
import { useWorld, awsEnv } from '../support/world.ts'

const world = useWorld({ pageSize: 7 })
const REGIONS = ['us-east-1', 'eu-west-1']

const inputs = {
  mode: 'prune',
  'prune-name': 'web-*',
  'prune-tags': 'App=web',
  'prune-regions': REGIONS.join(', '),
  keep: '3',
  'older-than': '30d'
}

async function state(): Promise<{ images: string[]; snapshots: string[] }> {
  const images: string[] = []
  const snapshots: string[] = []
  for (const region of REGIONS) {
    images.push(...(await ownImages(world.moto.endpoint, region)).map((image) => image.ImageId!))
    snapshots.push(...(await ownSnapshots(world.moto.endpoint, region)).map((snapshot) => snapshot.SnapshotId!))
  }
  return { images: images.sort(), snapshots: snapshots.sort() }
}

describe('the bundle pruning a dozen releases', () => {
  it('plans under a dry run without changing anything, then retires exactly that plan', async () => {
    const fixture = await seedDozenReleases(world.front, REGIONS)
    const env = awsEnv(world)
    const before = await state()
    const snapshotsOf = new Map<string, string[]>()
    for (const region of REGIONS)
      for (const image of await ownImages(world.moto.endpoint, region)) snapshotsOf.set(image.ImageId!, snapshotIdsOf(image))

    const dry = await runAction({ ...inputs, 'dry-run': 'true' }, { env })
    expect(dry.errors).toEqual([])
    expect(await state()).toEqual(before)
    expect(dry.summary).toContain('### Prune plan: 12 to retire, 12 kept')
    expect(dry.summary).toContain('### Would be retired')

    const real = await runAction(inputs, { env })
    expect(real.errors).toEqual([])
    expect(real.outputs['pruned-image-ids']).toBe(dry.outputs['pruned-image-ids'])
    expect(real.outputs['pruned-snapshot-ids']).toBe(dry.outputs['pruned-snapshot-ids'])
    expect(real.summary).toContain('### Retired')

    const retired = Object.values(JSON.parse(real.outputs['pruned-image-ids']!) as Record<string, string[]>).flat()
    const deleted = Object.values(JSON.parse(real.outputs['pruned-snapshot-ids']!) as Record<string, string[]>).flat()
    expect(retired).toHaveLength(12)
    expect(deleted.sort()).toEqual(retired.flatMap((id) => snapshotsOf.get(id)!).sort())
    const after = await state()
    expect(after.images).toEqual(before.images.filter((id) => !retired.includes(id)))
    expect(after.snapshots).toEqual(before.snapshots.filter((id) => !deleted.includes(id)))
    for (const kept of [
      fixture.instanceUser,
      fixture.defaultTemplateUser,
      fixture.latestTemplateUser,
      fixture.protectedImage,
      fixture.otherApp
    ]) {
      expect(after.images).toContain(kept.imageId)
    }
    // One notice sums up what was kept for its users; the plan's lines are grouped per region.
    expect(real.log.match(/::notice::/g)).toHaveLength(1)
    expect(real.log).toMatch(
      /::notice::Keeping \d+ images that are in use or shared \(\d+ in us-east-1.*ami-\w+ 'web-1.0' in us-east-1: in use by instance i-\w+/
    )
    expect(real.log).toMatch(/::group::Prune plan in us-east-1 for .*: \d+ to retire, \d+ kept/)
    expect(real.log).toMatch(/::endgroup::/)
  })

  it('retires nothing when a kind of use cannot be checked, saying which and the permission to add', async () => {
    await seedDozenReleases(world.front, REGIONS)
    const before = await state()
    // Without DescribeImageReferences the SSM parameters are read directly, and that is refused too.
    world.front.configure({ imageReferences: false, faults: [{ actions: ['DescribeParameters'], denied: true }] })
    const result = await runAction(inputs, { env: awsEnv(world) })
    expect(result.errors).toEqual([])
    expect(result.outputs['pruned-image-ids']).toBe('{}')
    expect(await state()).toEqual(before)
    expect(result.log).toMatch(
      /::warning::SSM parameters could not be checked in us-east-1 .* Allow ec2:DescribeImageReferences, or ssm:DescribeParameters and ssm:GetParameters\./
    )
    expect(result.summary).toContain('### Prune plan: 0 to retire, 24 kept')
    expect(result.summary).toContain('not checked against SSM parameters (permission denied)')
  })

  it('reads launch configurations from a local EC2 endpoint set with AWS_ENDPOINT_URL_EC2 alone', async () => {
    await seedDozenReleases(world.front, REGIONS)
    const env = awsEnv(world)
    delete env.AWS_ENDPOINT_URL_AUTO_SCALING
    const result = await runAction(inputs, { env })
    expect(result.errors).toEqual([])
    expect(Object.values(JSON.parse(result.outputs['pruned-image-ids']!) as Record<string, string[]>).flat()).toHaveLength(12)
    expect(world.front.calls.filter((call) => call.action === 'DescribeLaunchConfigurations')).toHaveLength(REGIONS.length)
  })
})
