// The front itself: the EC2 behaviours it adds to moto, pinned, since every integration test
// trusts them. A raw SDK client with one attempt, so faults show instead of being retried.
import { afterAll, describe, expect, it } from '@jest/globals'
import {
  CopyImageCommand,
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type EC2Client
} from '@aws-sdk/client-ec2'
import { inspector, launchBuilder, snapshotIdsOf, tagsOf } from './support/ec2-env.ts'
import { useWorld } from './support/world.ts'

const world = useWorld()
const clients = new Map<string, EC2Client>()
const client = (region = 'us-east-1'): EC2Client => {
  if (!clients.has(region)) clients.set(region, inspector(world.front.endpoint, region))
  return clients.get(region)!
}
afterAll(() => {
  for (const c of clients.values()) c.destroy()
})
const stateOf = async (imageId: string, region = 'us-east-1') =>
  (await client(region).send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!

async function image(name: string, tags: Record<string, string> = {}): Promise<string> {
  const builder = await launchBuilder(world.moto.endpoint)
  const list = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))
  const made = await client().send(
    new CreateImageCommand({
      InstanceId: builder,
      Name: name,
      ...(list.length && {
        TagSpecifications: [
          { ResourceType: 'image', Tags: list },
          { ResourceType: 'snapshot', Tags: list }
        ]
      })
    })
  )
  return made.ImageId!
}

describe('the test front', () => {
  it('keeps a new image pending for pendingMs, then available', async () => {
    world.front.configure({ pendingMs: 400 })
    const id = await image('pending-1')
    expect((await stateOf(id)).State).toBe('pending')
    await new Promise((resolve) => setTimeout(resolve, 450))
    expect((await stateOf(id)).State).toBe('available')
  })

  it('ends a failed image with its reason', async () => {
    const id = await image('failing-1')
    world.front.failImage(id, 'Snapshot failed')
    expect(await stateOf(id)).toMatchObject({ State: 'failed', StateReason: { Code: 'Client.InternalError', Message: 'Snapshot failed' } })
  })

  it('refuses a name already taken in the region, as EC2 does', async () => {
    const id = await image('taken-1')
    await expect(image('taken-1')).rejects.toMatchObject({
      name: 'InvalidAMIName.Duplicate',
      message: `AMI name taken-1 is already in use by AMI ${id}`
    })
  })

  it('tags the snapshots at creation, which moto cannot', async () => {
    const id = await image('tagged-1', { App: 'web' })
    const [snapshot] = (await client().send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIdsOf(await stateOf(id)) }))).Snapshots!
    expect(tagsOf(snapshot!)).toEqual({ App: 'web' })
  })

  it('answers a repeated CopyImage token with the first copy, and a changed request with a mismatch', async () => {
    const source = await image('copied-1')
    const copy = { SourceImageId: source, SourceRegion: 'us-east-1', Name: 'copied-1', ClientToken: 'token-1', KmsKeyId: 'alias/eu' }
    const first = await client('eu-west-1').send(new CopyImageCommand(copy))
    const again = await client('eu-west-1').send(new CopyImageCommand(copy))
    expect(again.ImageId).toBe(first.ImageId)
    await expect(client('eu-west-1').send(new CopyImageCommand({ ...copy, Name: 'other' }))).rejects.toMatchObject({
      name: 'IdempotentParameterMismatch'
    })
    const copied = await stateOf(first.ImageId!, 'eu-west-1')
    expect(copied.BlockDeviceMappings![0]!.Ebs).toMatchObject({ Encrypted: true, KmsKeyId: 'alias/eu' })
  })

  it('refuses to copy a pending image', async () => {
    world.front.configure({ pendingMs: 60_000 })
    const source = await image('pending-source')
    await expect(
      client('eu-west-1').send(new CopyImageCommand({ SourceImageId: source, SourceRegion: 'us-east-1', Name: 'x-1' }))
    ).rejects.toMatchObject({
      name: 'IncorrectState'
    })
  })

  it('deletes the snapshots with DeleteAssociatedSnapshots and reports each', async () => {
    const id = await image('retired-1')
    const snapshots = snapshotIdsOf(await stateOf(id))
    const result = await client().send(new DeregisterImageCommand({ ImageId: id, DeleteAssociatedSnapshots: true }))
    expect(result.DeleteSnapshotResults).toEqual(snapshots.map((SnapshotId) => ({ SnapshotId, ReturnCode: 'success' })))
  })

  it('serves at most pageSize items a page, as EC2 may', async () => {
    world.front.configure({ pageSize: 2 })
    for (const n of [1, 2, 3]) await image(`paged-${n}`)
    const page = await client().send(new DescribeImagesCommand({ Owners: ['self'], MaxResults: 5 }))
    expect(page.Images).toHaveLength(2)
    const next = await client().send(new DescribeImagesCommand({ Owners: ['self'], MaxResults: 5, NextToken: page.NextToken! }))
    expect(next.Images).toHaveLength(1)
    expect(next.NextToken).toBeUndefined()
  })

  it('takes at most 10 image ids in DescribeImageReferences, as EC2 does', async () => {
    const ids = Array.from({ length: 11 }, (_, i) => `ami-${String(i).padStart(17, '0')}`)
    await expect(client().send(new DescribeImageReferencesCommand({ ImageIds: ids, IncludeAllResourceTypes: true }))).rejects.toMatchObject(
      {
        name: 'InvalidParameterValue'
      }
    )
  })

  it('carries out a call whose reply it loses, and injects the same faults for the same seed', async () => {
    world.front.configure({ faults: [{ actions: ['CreateImage'], lostReplyFirst: 1 }] })
    await expect(image('lost-1')).rejects.toMatchObject({ name: 'InternalError' })
    expect((await client().send(new DescribeImagesCommand({ Owners: ['self'] }))).Images!.map((i) => i.Name)).toContain('lost-1')

    const outcomes = async (seed: number): Promise<string[]> => {
      world.front.configure({ seed, faults: [{ actions: ['DescribeImages'], throttleRate: 0.5 }] })
      const seen: string[] = []
      for (let i = 0; i < 12; i++)
        seen.push(
          await client()
            .send(new DescribeImagesCommand({ Owners: ['self'] }))
            .then(
              () => 'ok',
              (error: Error) => error.name
            )
        )
      return seen
    }
    const first = await outcomes(7)
    expect(first).toContain('RequestLimitExceeded')
    expect(await outcomes(7)).toEqual(first)
  })
})
