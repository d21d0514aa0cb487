// Images that share a snapshot (one registered from the other's snapshot), retired together by the
// bundle: EC2 skips a snapshot another image uses at the moment of each DeregisterImage, so pairs
// retired concurrently would both skip theirs. Nothing may be left behind, and the dry run must list
// exactly what the real run deletes.
import { describe, expect, it } from '@jest/globals'
import { CreateTagsCommand, RegisterImageCommand } from '@aws-sdk/client-ec2'
import { inspector, ownImages, ownSnapshots, snapshotIdsOf } from '../support/ec2-env.ts'
import { runAction } from '../support/runner.ts'
import { seedImage } from '../support/seed.ts'
import { launchBuilder, useWorld, awsEnv } from '../support/world.ts'

const world = useWorld()
const REGION = 'us-east-1'
const DAY = 86_400_000

/** An image made by CreateImage, and a second one registered from its snapshot: the two share it. */
async function seedPair(instanceId: string, n: number): Promise<{ images: string[]; snapshot: string }> {
  const first = await seedImage(world.front, REGION, instanceId, `pair-${n}-a`, 10 * n + 1, { App: 'pair' })
  const [image] = (await ownImages(world.moto.endpoint, REGION)).filter((i) => i.ImageId === first.imageId)
  const snapshot = snapshotIdsOf(image!)[0]!
  // Through the front: moto would register the image on a new snapshot of its own.
  const client = inspector(world.front.endpoint, REGION)
  try {
    const second = await client.send(
      new RegisterImageCommand({
        Name: `pair-${n}-b`,
        Architecture: 'x86_64',
        RootDeviceName: '/dev/xvda',
        VirtualizationType: 'hvm',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshot } }]
      })
    )
    await client.send(new CreateTagsCommand({ Resources: [second.ImageId!], Tags: [{ Key: 'App', Value: 'pair' }] }))
    world.front.setCreationDate(second.ImageId!, REGION, new Date(Date.now() - (10 * n + 2) * DAY).toISOString())
    return { images: [first.imageId, second.ImageId!], snapshot }
  } finally {
    client.destroy()
  }
}

describe('images that share snapshots, retired together', () => {
  it('leave no snapshot behind, and the dry run lists exactly the snapshots the real run deletes', async () => {
    const instanceId = await launchBuilder(world.moto.endpoint)
    const pairs = []
    for (let n = 0; n < 5; n++) pairs.push(await seedPair(instanceId, n))
    const env = awsEnv(world, REGION)
    // keep: 1 keeps the newest image, pair 0's first; its partner goes, but their snapshot stays.
    const inputs = { mode: 'prune', 'prune-tags': 'App=pair', 'prune-regions': REGION, keep: '1' }

    const dry = await runAction({ ...inputs, 'dry-run': 'true' }, { env })
    expect(dry.errors).toEqual([])
    const real = await runAction(inputs, { env })
    expect(real.errors).toEqual([])

    const gone = pairs.slice(1).map((pair) => pair.snapshot)
    const deleted = (JSON.parse(real.outputs['pruned-snapshot-ids']!) as Record<string, string[]>)[REGION]!
    expect([...deleted].sort()).toEqual([...gone].sort())
    expect(dry.outputs['pruned-snapshot-ids']).toBe(real.outputs['pruned-snapshot-ids'])
    expect(dry.outputs['pruned-image-ids']).toBe(real.outputs['pruned-image-ids'])

    const left = new Set((await ownSnapshots(world.moto.endpoint, REGION)).map((snapshot) => snapshot.SnapshotId))
    for (const snapshot of gone) expect(left.has(snapshot)).toBe(false)
    expect(left.has(pairs[0]!.snapshot)).toBe(true)
    expect((await ownImages(world.moto.endpoint, REGION)).map((image) => image.ImageId)).toEqual([pairs[0]!.images[0]])
    expect(real.log).toMatch(
      new RegExp(`Kept snapshot ${pairs[0]!.snapshot} of ami-\\w+ in us-east-1: ${pairs[0]!.images[0]} still uses it`)
    )
  })
})
