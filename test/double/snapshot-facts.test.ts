// What DescribeSnapshots reports that moto does not — each snapshot's full size and storage tier,
// and the state of one still being made with its image — pinned against the EC2 API Reference
// (DescribeSnapshots, Snapshot) and the EBS User Guide ("Archive Amazon EBS snapshots"), since the
// savings prune reports are reckoned from them. A raw SDK client with one attempt; the front on a
// virtual clock.
import { afterAll, describe, expect, it } from '@jest/globals'
import {
  CopyImageCommand,
  CreateImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  type EC2Client,
  type Snapshot
} from '@aws-sdk/client-ec2'
import { inspector, launchBuilder, snapshotIdsOf } from '../support/ec2-env.ts'
import { seedImage } from '../support/seed.ts'
import { defaultSnapshotBytes, virtualClock } from '../../tools/ec2-double/index.ts'
import { useWorld } from '../support/world.ts'

const clock = virtualClock()
const world = useWorld({ clock })
const REGION = 'us-east-1'
const OTHER = 'eu-west-1'
const GIB = 1024 ** 3
const clients = new Map<string, EC2Client>()
const client = (region = REGION): EC2Client => {
  if (!clients.has(region)) clients.set(region, inspector(world.front.endpoint, region))
  return clients.get(region)!
}
afterAll(() => {
  for (const c of clients.values()) c.destroy()
})

let made = 0
/** An available image of the default account, listed at once, and its snapshots. */
async function image(): Promise<{ imageId: string; snapshots: string[] }> {
  const builder = await launchBuilder(world.moto.endpoint)
  const { imageId } = await seedImage(world.front, REGION, builder, `sized-${++made}`, 1)
  return { imageId, snapshots: await snapshotsOf(imageId) }
}

/** The image's snapshots as DescribeImages names them, once the image is listed. */
async function snapshotsOf(imageId: string, region = REGION): Promise<string[]> {
  for (let tries = 0; ; tries++) {
    const found = (await client(region).send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0]
    if (found) return snapshotIdsOf(found)
    if (tries > 40) throw new Error(`${imageId} never listed`)
    clock.advance(100)
  }
}

async function snapshot(snapshotId: string, region = REGION): Promise<Snapshot> {
  return (await client(region).send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots![0]!
}

describe('the test front: snapshot sizes and tiers', () => {
  it('reports each snapshot’s full size (by default 40 % of its volume) and its storage tier, standard unless set', async () => {
    const { snapshots } = await image()
    const [id] = snapshots as [string]
    const before = await snapshot(id)
    expect(before).toMatchObject({ State: 'completed', Progress: '100%', StorageTier: 'standard', VolumeSize: 15 })
    expect(before.FullSnapshotSizeInBytes).toBe(defaultSnapshotBytes({ volumeSize: 15 }))
    expect(before.FullSnapshotSizeInBytes).toBe(6 * GIB)
    world.front.setSnapshot(id, REGION, { fullSizeBytes: 2_500_000_000 })
    expect((await snapshot(id)).FullSnapshotSizeInBytes).toBe(2_500_000_000)
  })

  it('leaves FullSnapshotSizeInBytes out when it is set to null, as an endpoint without the field answers', async () => {
    const { snapshots } = await image()
    const [id] = snapshots as [string]
    world.front.setSnapshot(id, REGION, { fullSizeBytes: null })
    const described = await snapshot(id)
    expect(described.FullSnapshotSizeInBytes).toBeUndefined()
    expect(described.StorageTier).toBe('standard')
  })

  it('takes the default full size from snapshotBytes, which may leave the field out', async () => {
    world.front.configure({ snapshotBytes: ({ volumeSize }) => volumeSize * GIB })
    const { snapshots } = await image()
    expect((await snapshot(snapshots[0]!)).FullSnapshotSizeInBytes).toBe(15 * GIB)
    world.front.configure({ snapshotBytes: () => undefined })
    expect((await snapshot(snapshots[0]!)).FullSnapshotSizeInBytes).toBeUndefined()
  })

  it('keeps a pending image’s snapshot pending, below 100 % and without a size, until the image is available', async () => {
    world.front.configure({ pendingMs: 10_000 })
    const builder = await launchBuilder(world.moto.endpoint)
    const { ImageId } = await client().send(new CreateImageCommand({ InstanceId: builder, Name: 'pending-sized' }))
    const [id] = (await snapshotsOf(ImageId!)) as [string]
    const pending = await snapshot(id)
    expect(pending.State).toBe('pending')
    expect(Number(pending.Progress!.replace('%', ''))).toBeLessThan(100)
    expect(pending.FullSnapshotSizeInBytes).toBeUndefined()
    const listed = await client().send(
      new DescribeSnapshotsCommand({ SnapshotIds: [id], Filters: [{ Name: 'status', Values: ['pending'] }] })
    )
    expect(listed.Snapshots?.map((s) => s.SnapshotId)).toEqual([id])
    clock.advance(10_000)
    expect(await snapshot(id)).toMatchObject({ State: 'completed', Progress: '100%', FullSnapshotSizeInBytes: 6 * GIB })
  })

  it('gives a copy’s snapshots the source’s full size, in the same region or another', async () => {
    const source = await image()
    world.front.setSnapshot(source.snapshots[0]!, REGION, { fullSizeBytes: 3 * GIB })
    const near = await client().send(new CopyImageCommand({ SourceImageId: source.imageId, SourceRegion: REGION, Name: 'copy-near' }))
    const far = await client(OTHER).send(new CopyImageCommand({ SourceImageId: source.imageId, SourceRegion: REGION, Name: 'copy-far' }))
    const [nearSnapshot] = (await snapshotsOf(near.ImageId!)) as [string]
    const [farSnapshot] = (await snapshotsOf(far.ImageId!, OTHER)) as [string]
    expect(nearSnapshot).not.toBe(source.snapshots[0])
    expect((await snapshot(nearSnapshot)).FullSnapshotSizeInBytes).toBe(3 * GIB)
    expect((await snapshot(farSnapshot, OTHER)).FullSnapshotSizeInBytes).toBe(3 * GIB)
    // With no size set on the source, the copy has the source's default, reckoned from the source.
    const plain = await image()
    world.front.configure({
      snapshotBytes: ({ snapshotId, volumeSize }) => (snapshotId === plain.snapshots[0] ? 2 * GIB : volumeSize * GIB)
    })
    const again = await client(OTHER).send(new CopyImageCommand({ SourceImageId: plain.imageId, SourceRegion: REGION, Name: 'copy-plain' }))
    const [againSnapshot] = (await snapshotsOf(again.ImageId!, OTHER)) as [string]
    expect((await snapshot(againSnapshot, OTHER)).FullSnapshotSizeInBytes).toBe(2 * GIB)
  })

  it('archives only the snapshot of a disabled AMI, and filters on storage-tier', async () => {
    const { imageId, snapshots } = await image()
    const [id] = snapshots as [string]
    expect(() => world.front.setSnapshot(id, REGION, { storageTier: 'archive' })).toThrow(/not disabled/)
    await client().send(new DisableImageCommand({ ImageId: imageId }))
    world.front.setSnapshot(id, REGION, { storageTier: 'archive' })
    expect((await snapshot(id)).StorageTier).toBe('archive')
    const archived = await client().send(
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'storage-tier', Values: ['archive'] }] })
    )
    expect(archived.Snapshots?.map((s) => s.SnapshotId)).toEqual([id])
    const standard = await client().send(
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'storage-tier', Values: ['standard'] }] })
    )
    expect(standard.Snapshots?.map((s) => s.SnapshotId)).not.toContain(id)
  })
})
