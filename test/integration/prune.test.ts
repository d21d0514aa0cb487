// prune against moto behind the front: a dozen releases in two regions, some in use, one
// protected, paged listings, both ways of finding usage, dry runs and the max-deletions guard.
import { describe, expect, it } from '@jest/globals'
import { ownImages, ownSnapshots, snapshotIdsOf } from '../support/ec2-env.ts'
import { seedDozenReleases, seedImage } from '../support/seed.ts'
import { runAgainst, type Given } from '../support/step.ts'
import { launchBuilder, useWorld } from '../support/world.ts'

const world = useWorld({ pageSize: 5 }, { virtual: true })
const REGIONS = ['us-east-1', 'eu-west-1']
const NO_RUN = { repository: '', commit: '', runId: '', runAttempt: '', workflow: '', ref: '' }

function prune(given: Given) {
  const defaults: Given = {
    mode: 'prune',
    'prune-regions': REGIONS.join(' '),
    'prune-name': 'web-*',
    'prune-tags': 'App=web',
    keep: '3',
    'older-than': '30d'
  }
  return runAgainst(world.front, { ...defaults, ...given }, NO_RUN)
}

async function remainingImageIds(region: string): Promise<string[]> {
  return (await ownImages(world.moto.endpoint, region)).map((image) => image.ImageId!).sort()
}

describe('prune', () => {
  it('retires exactly the images the rules allow, with their snapshots, and nothing else', async () => {
    const fixture = await seedDozenReleases(world.front, REGIONS)
    const snapshotsBefore = new Map<string, string[]>()
    for (const region of REGIONS)
      for (const image of await ownImages(world.moto.endpoint, region)) snapshotsBefore.set(image.ImageId!, snapshotIdsOf(image))

    const { step, failure } = await prune({})
    expect(failure).toBeUndefined()

    // Newest 3 kept (weeks 1–3); weeks 4 (younger than 30d) kept; the in-use and protected ones kept.
    const east = fixture.releases.get('us-east-1')!.map((s) => s.imageId)
    const west = fixture.releases.get('eu-west-1')!.map((s) => s.imageId)
    const retiredEast = east.slice(4, 8)
    const retiredWest = west.slice(0, 8)
    expect(JSON.parse(JSON.stringify(Object.fromEntries([...step.journal.retired].map(([r, p]) => [r, [...p.imageIds].sort()]))))).toEqual({
      'us-east-1': [...retiredEast].sort(),
      'eu-west-1': [...retiredWest].sort()
    })
    expect(await remainingImageIds('us-east-1')).toEqual([...east.slice(0, 4), ...east.slice(8), fixture.otherApp.imageId].sort())
    expect(await remainingImageIds('eu-west-1')).toEqual(west.slice(8).sort())

    // Every snapshot of a retired image is gone and reported; every other snapshot is still there.
    for (const region of REGIONS) {
      const reported = step.journal.retired.get(region)!.snapshotIds
      const expected = step.journal.retired.get(region)!.imageIds.flatMap((id) => snapshotsBefore.get(id)!)
      expect([...reported].sort()).toEqual([...expected].sort())
      const left = new Set((await ownSnapshots(world.moto.endpoint, region)).map((s) => s.SnapshotId))
      for (const id of expected) expect(left.has(id)).toBe(false)
      for (const image of await ownImages(world.moto.endpoint, region))
        for (const id of snapshotIdsOf(image)) expect(left.has(id)).toBe(true)
    }

    const reasons = Object.fromEntries(step.journal.prunePlan.map((d) => [d.imageId, d.reason]))
    expect(reasons[fixture.instanceUser.imageId]).toMatch(/^in use by instance i-\w+$/)
    // A reference names the template; the listing of its versions says which version.
    expect(reasons[fixture.defaultTemplateUser.imageId]).toMatch(/^in use by launch template lt-\w+ version 1 \(default\)$/)
    expect(reasons[fixture.latestTemplateUser.imageId]).toMatch(/^in use by launch template lt-\w+ version 2$/)
    expect(reasons[fixture.protectedImage.imageId]).toBe('deregistration protection is on')
    expect(step.log.text()).toMatch(/In-use check in us-east-1 for \d+ candidates: DescribeImageReferences/)
    // The listing came in pages of 5 (the front caps them as EC2 may).
    expect(world.front.calls.filter((c) => c.action === 'DescribeImages' && c.params.NextToken).length).toBeGreaterThan(2)
  })

  it('finds the same images in use without DescribeImageReferences, and says why', async () => {
    const fixture = await seedDozenReleases(world.front, REGIONS)
    world.front.configure({ imageReferences: false })
    const { step, failure } = await prune({ 'prune-regions': 'us-east-1' })
    expect(failure).toBeUndefined()
    const reasons = Object.fromEntries(step.journal.prunePlan.map((d) => [d.imageId, d.reason]))
    expect(reasons[fixture.instanceUser.imageId]).toMatch(/^in use by instance i-\w+ \(running\)/)
    expect(reasons[fixture.defaultTemplateUser.imageId]).toMatch(/^in use by launch template lt-\w+ version 1 \(default\)/)
    expect(reasons[fixture.latestTemplateUser.imageId]).toMatch(/^in use by launch template lt-\w+ version 2/)
    expect(step.log.text()).toMatch(
      /DescribeInstances and SSM parameters of data type aws:ec2:image \(DescribeParameters, GetParameters\), because DescribeImageReferences failed: .*UnauthorizedOperation.* and every version of every launch template/s
    )
    expect(await remainingImageIds('us-east-1')).toContain(fixture.instanceUser.imageId)
    // Batched: one DescribeInstances, and one listing of each launch template's versions, not one per image.
    expect(world.front.calls.filter((c) => c.action === 'DescribeInstances')).toHaveLength(1)
    expect(world.front.calls.filter((c) => c.action === 'DescribeLaunchTemplates')).toHaveLength(1)
    expect(world.front.calls.filter((c) => c.action === 'DescribeLaunchTemplateVersions')).toHaveLength(1)
  })

  it('changes nothing in a dry run, reporting the same plan and checking permissions', async () => {
    await seedDozenReleases(world.front, REGIONS)
    const before = await remainingImageIds('us-east-1')
    const { step, failure } = await prune({ 'dry-run': 'true' })
    expect(failure).toBeUndefined()
    expect(await remainingImageIds('us-east-1')).toEqual(before)
    expect(step.journal.retired.get('us-east-1')!.imageIds).toHaveLength(4)
    expect(step.journal.retired.get('eu-west-1')!.imageIds).toHaveLength(8)
    const changing = world.front.changingCalls().filter((c) => c.action === 'DeregisterImage' || c.action === 'DeleteSnapshot')
    expect(changing.every((c) => c.params.DryRun === 'true')).toBe(true)
    // The image being retired still uses its snapshot: the front, judging use first, says so, and
    // the dry run takes that as no refusal of the permission.
    expect(changing.map((c) => [c.action, c.errorCode]).sort()).toEqual([
      ['DeleteSnapshot', 'InvalidSnapshot.InUse'],
      ['DeleteSnapshot', 'InvalidSnapshot.InUse'],
      ['DeregisterImage', 'DryRunOperation'],
      ['DeregisterImage', 'DryRunOperation']
    ])
    expect(changing.map((c) => c.action).sort()).toEqual(['DeleteSnapshot', 'DeleteSnapshot', 'DeregisterImage', 'DeregisterImage'])
  })

  it('refuses a plan larger than max-deletions whole, deleting nothing', async () => {
    await seedDozenReleases(world.front, REGIONS)
    const before = await remainingImageIds('eu-west-1')
    const { step, failure } = await prune({ 'max-deletions': '10' })
    expect(String(failure)).toMatch(/would retire 12 images, more than max-deletions \(10\): nothing was deregistered/)
    expect(await remainingImageIds('eu-west-1')).toEqual(before)
    expect(step.journal.prunePlan.filter((d) => d.action === 'retire')).toHaveLength(12)
  })

  it('never retires the images the same step built, even when they match', async () => {
    const builder = await launchBuilder(world.front.endpoint)
    await seedImage(world.front, 'us-east-1', builder, 'web-0.9', 100, { App: 'web' })
    const { step, failure } = await prune({
      mode: 'build, prune',
      'instance-id': builder,
      name: 'web-2.0',
      tags: 'App=web',
      'prune-regions': 'us-east-1',
      keep: '0',
      'older-than': '0s'
    })
    expect(failure).toBeUndefined()
    const built = step.release.source!.imageId
    expect(step.journal.prunePlan.find((d) => d.imageId === built)?.reason).toBe('made or given in this step')
    expect(await remainingImageIds('us-east-1')).toEqual([built])
  })
})
