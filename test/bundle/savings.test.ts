// What retiring saves, through the bundle: each retired image's snapshots that go (not one another
// image keeps using), their full size from DescribeSnapshots priced at snapshot-price (archived ones
// at the archive tier's quarter), in the output, the plan and the summary — the same in a dry run —
// and how long a Recycle Bin rule keeps an image recoverable and its snapshots billed.
import { describe, expect, it } from '@jest/globals'
import { CreateTagsCommand, DisableImageCommand, RegisterImageCommand } from '@aws-sdk/client-ec2'
import { inspector, ownImages, snapshotIdsOf } from '../support/ec2-env.ts'
import { runAction } from '../support/runner.ts'
import { seedImage, type Seeded } from '../support/seed.ts'
import { awsEnv, launchBuilder, useWorld } from '../support/world.ts'

const world = useWorld()
const REGION = 'us-east-1'
const ACCOUNT = '123456789012'
const GIB = 2 ** 30

async function snapshotOf(image: Seeded): Promise<string> {
  const [found] = (await ownImages(world.moto.endpoint, REGION)).filter((i) => i.ImageId === image.imageId)
  return snapshotIdsOf(found!)[0]!
}

/**
 * Four releases, oldest first: the newest (kept: keep: 1) is registered from web-1's snapshot, and
 * web-2 is disabled with its snapshot archived.
 */
async function seed(): Promise<{ images: Seeded[]; snapshots: string[] }> {
  const builder = await launchBuilder(world.moto.endpoint)
  const images: Seeded[] = []
  for (let i = 0; i < 3; i++) images.push(await seedImage(world.front, REGION, builder, `web-${i}`, 40 - i * 10, { App: 'web' }))
  const snapshots = await Promise.all(images.map(snapshotOf))
  // The newest image, kept, is registered from web-1's snapshot: retiring web-1 frees nothing.
  const client = inspector(world.front.endpoint, REGION)
  try {
    const kept = await client.send(
      new RegisterImageCommand({
        Name: 'web-3',
        Architecture: 'x86_64',
        RootDeviceName: '/dev/xvda',
        VirtualizationType: 'hvm',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshots[1]! } }]
      })
    )
    await client.send(new CreateTagsCommand({ Resources: [kept.ImageId!], Tags: [{ Key: 'App', Value: 'web' }] }))
    world.front.setCreationDate(kept.ImageId!, REGION, new Date(Date.now() - 86_400_000).toISOString())
    // EBS User Guide, "Archive Amazon EBS snapshots": a snapshot an AMI uses is archived only once
    // the AMI is disabled. web-2 was, and its snapshot archived.
    await client.send(new DisableImageCommand({ ImageId: images[2]!.imageId }))
  } finally {
    client.destroy()
  }
  world.front.setSnapshot(snapshots[0]!, REGION, { fullSizeBytes: 8 * GIB })
  world.front.setSnapshot(snapshots[1]!, REGION, { fullSizeBytes: 6 * GIB })
  world.front.setSnapshot(snapshots[2]!, REGION, { fullSizeBytes: 4 * GIB, storageTier: 'archive' })
  return { images, snapshots }
}

const inputs = { mode: 'prune', 'prune-tags': 'App=web', 'prune-regions': REGION, keep: '1', 'snapshot-price': '0.05' }

describe('what retiring saves, through the bundle', () => {
  it('reports the freed GiB and dollars exactly, the shared snapshot adding nothing, and the dry run agrees', async () => {
    const { images, snapshots } = await seed()
    const env = awsEnv(world, REGION)
    const dry = await runAction({ ...inputs, 'dry-run': 'true' }, { env })
    expect(dry.errors).toEqual([])
    const real = await runAction(inputs, { env })
    expect(real.errors).toEqual([])
    // web-0: 8 GiB at $0.05; web-2: 4 GiB archived at a quarter of it; web-1's snapshot stays (web-3 uses it).
    const expected = { gib: 12, 'usd-per-month': 0.45, regions: { [REGION]: { gib: 12, 'usd-per-month': 0.45 } } }
    expect(JSON.parse(real.outputs.savings!)).toEqual(expected)
    expect(dry.outputs.savings).toBe(real.outputs.savings)
    for (const summary of [dry.summary, real.summary]) {
      expect(summary).toMatch(new RegExp(`${images[0]!.imageId}.*\\*\\*retire\\*\\*.*\\| 8\\.00 GiB, \\$0\\.40/month \\|`))
      expect(summary).toMatch(new RegExp(`${images[1]!.imageId}.*\\*\\*retire\\*\\*.*\\| no snapshot: other images keep using them \\|`))
      expect(summary).toMatch(
        new RegExp(
          `${images[2]!.imageId}.*\\*\\*retire\\*\\*.*\\| 4\\.00 GiB, \\$0\\.05/month; archived: deleting within 90 days of archiving is billed for the rest of them \\|`
        )
      )
      expect(summary).toContain('Retiring these frees **12.00 GiB of snapshots, $0.45 a month**')
      expect(summary).toContain('`FullSnapshotSizeInBytes`')
    }
    const deleted = (JSON.parse(real.outputs['pruned-snapshot-ids']!) as Record<string, string[]>)[REGION]!
    expect([...deleted].sort()).toEqual([snapshots[0]!, snapshots[2]!].sort())
  }, 60_000)

  it('says "size unknown" where DescribeSnapshots gives no size, and never counts the volume size', async () => {
    const { snapshots } = await seed()
    world.front.setSnapshot(snapshots[0]!, REGION, { fullSizeBytes: null })
    const result = await runAction({ ...inputs, 'dry-run': 'true' }, { env: awsEnv(world, REGION) })
    expect(result.errors).toEqual([])
    expect(result.summary).toContain(`size unknown for ${snapshots[0]}`)
    expect(JSON.parse(result.outputs.savings!)).toMatchObject({ gib: 4, 'usd-per-month': 0.05 })
  }, 60_000)

  it('shows "recoverable until" under a region-level Recycle Bin rule, and delays the savings while a snapshot rule bills them', async () => {
    await seed()
    world.front.recycleBinRule(ACCOUNT, REGION, { resourceType: 'EC2_IMAGE', retentionDays: 7 })
    const snapshotRule = world.front.recycleBinRule(ACCOUNT, REGION, { resourceType: 'EBS_SNAPSHOT', retentionDays: 10 })
    const started = Date.now()
    const result = await runAction(inputs, { env: awsEnv(world, REGION) })
    expect(result.errors).toEqual([])
    const day = (days: number) => new Date(started + days * 86_400_000).toISOString().slice(0, 10)
    expect(result.summary).toMatch(new RegExp(`recoverable until ${day(7)} \\d\\d:\\d\\d UTC \\(rule \\w+\\)`))
    expect(result.summary).toContain(`snapshots may be billed until ${day(10)}`)
    expect(result.summary).toContain(`(rule ${snapshotRule}): the savings start then`)
    expect(result.log).not.toMatch(/stays in the Recycle Bin for/)
  }, 60_000)

  it('warns when an image rule keeps an image longer than a snapshot rule keeps its snapshots, naming both', async () => {
    await seed()
    const imageRule = world.front.recycleBinRule(ACCOUNT, REGION, { resourceType: 'EC2_IMAGE', retentionDays: 30 })
    const snapshotRule = world.front.recycleBinRule(ACCOUNT, REGION, { resourceType: 'EBS_SNAPSHOT', retentionDays: 7 })
    const result = await runAction({ ...inputs, 'dry-run': 'true' }, { env: awsEnv(world, REGION) })
    expect(result.errors).toEqual([])
    expect(result.log).toContain(
      `stays in the Recycle Bin for 30 days (rule ${imageRule}) but its snapshots for only 7 (snapshot rule ${snapshotRule})`
    )
    // Recoverable only while its snapshots are: 7 days, not 30.
    expect(result.summary).toContain(`(rule ${imageRule})`)
  }, 60_000)

  it('never claims an image recoverable whose snapshots go for good, even one counted with another image', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    const first = await seedImage(world.front, REGION, builder, 'pair-a', 30, { App: 'web' })
    const snapshot = await snapshotOf(first)
    const client = inspector(world.front.endpoint, REGION)
    let second: string
    try {
      const made = await client.send(
        new RegisterImageCommand({
          Name: 'pair-b',
          Architecture: 'x86_64',
          RootDeviceName: '/dev/xvda',
          VirtualizationType: 'hvm',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshot } }]
        })
      )
      second = made.ImageId!
      await client.send(new CreateTagsCommand({ Resources: [second], Tags: [{ Key: 'App', Value: 'web' }] }))
      world.front.setCreationDate(second, REGION, new Date(Date.now() - 29 * 86_400_000).toISOString())
    } finally {
      client.destroy()
    }
    await seedImage(world.front, REGION, builder, 'newest', 1, { App: 'web' })
    world.front.recycleBinRule(ACCOUNT, REGION, { resourceType: 'EC2_IMAGE', retentionDays: 7 })
    const result = await runAction({ ...inputs, 'dry-run': 'true' }, { env: awsEnv(world, REGION) })
    expect(result.errors).toEqual([])
    expect(result.summary).not.toContain('recoverable until')
    // The one planned second of the two has its snapshot counted with the first.
    expect(result.summary).toContain(`its snapshots are counted with another image of the plan (${snapshot})`)
    expect(result.log).toContain(`${first.imageId} in ${REGION} stays in the Recycle Bin for 7 days`)
    expect(result.log).toContain(`${second} in ${REGION} stays in the Recycle Bin for 7 days`)
  }, 60_000)

  it('reads a region-level rule’s exclusion tags: an excluded image is not claimed recoverable', async () => {
    const { images } = await seed()
    const client = inspector(world.front.endpoint, REGION)
    try {
      await client.send(new CreateTagsCommand({ Resources: [images[0]!.imageId], Tags: [{ Key: 'Bin', Value: 'skip' }] }))
    } finally {
      client.destroy()
    }
    const imageRule = world.front.recycleBinRule(ACCOUNT, REGION, {
      resourceType: 'EC2_IMAGE',
      retentionDays: 7,
      excludeResourceTags: [{ key: 'Bin', value: 'skip' }]
    })
    world.front.recycleBinRule(ACCOUNT, REGION, { resourceType: 'EBS_SNAPSHOT', retentionDays: 7 })
    const result = await runAction({ ...inputs, 'dry-run': 'true' }, { env: awsEnv(world, REGION) })
    expect(result.errors).toEqual([])
    const row = (imageId: string) => result.summary.split('\n').find((line) => line.includes(imageId) && line.includes('**retire**')) ?? ''
    expect(row(images[0]!.imageId)).not.toContain('recoverable until')
    expect(row(images[2]!.imageId)).toContain(`recoverable until`)
    expect(row(images[2]!.imageId)).toContain(`(rule ${imageRule})`)
  }, 60_000)
})
