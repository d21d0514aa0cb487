// The front itself: the EC2 behaviours it adds to moto, pinned, since every integration test
// trusts them. A raw SDK client with one attempt, so faults show instead of being retried. The
// front runs on a virtual clock: a test moves time on instead of waiting for it.
import { afterAll, describe, expect, it } from '@jest/globals'
import {
  CopyImageCommand,
  CreateImageCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  DisableImageDeregistrationProtectionCommand,
  EnableImageCommand,
  EnableImageDeregistrationProtectionCommand,
  RegisterImageCommand,
  EC2Client,
  type Image
} from '@aws-sdk/client-ec2'
import { inspector, launchBuilder, snapshotIdsOf, tagsOf } from '../support/ec2-env.ts'
import { virtualClock } from '../../tools/ec2-double/index.ts'
import { useWorld } from '../support/world.ts'

const clock = virtualClock()
const world = useWorld({ clock })
const clients = new Map<string, EC2Client>()
const client = (region = 'us-east-1'): EC2Client => {
  if (!clients.has(region)) clients.set(region, inspector(world.front.endpoint, region))
  return clients.get(region)!
}
afterAll(() => {
  for (const c of clients.values()) c.destroy()
})
/** The image as DescribeImages lists it, once it is listed (a new image is not, for a moment). */
async function stateOf(imageId: string, region = 'us-east-1', extra: { IncludeDisabled?: boolean } = {}): Promise<Image> {
  for (let tries = 0; ; tries++) {
    const found = (await client(region).send(new DescribeImagesCommand({ ImageIds: [imageId], ...extra }))).Images?.[0]
    if (found || tries > 40) return found!
    clock.advance(100)
  }
}
const ownNames = async () => ((await client().send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).map((i) => i.Name)

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

/** An image made by CreateImage, and a second registered on its snapshot: the two share it. */
async function sharingPair(name: string) {
  const first = await stateOf(await image(`${name}-a`))
  const [snapshot] = snapshotIdsOf(first) as [string]
  const second = await client().send(
    new RegisterImageCommand({
      Name: `${name}-b`,
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshot } }]
    })
  )
  return { first, second, snapshot }
}

describe('the test front', () => {
  it('keeps a new image pending for pendingMs, then available', async () => {
    world.front.configure({ pendingMs: 2500 })
    const id = await image('pending-1')
    expect((await stateOf(id)).State).toBe('pending')
    clock.advance(2600)
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
    await stateOf(source)
    const tags = [{ ResourceType: 'image' as const, Tags: [{ Key: 'ami-pipeline:run-attempt', Value: '1' }] }]
    const copy = {
      SourceImageId: source,
      SourceRegion: 'us-east-1',
      Name: 'copied-1',
      ClientToken: 'token-1',
      Encrypted: true,
      KmsKeyId: 'alias/eu',
      TagSpecifications: tags
    }
    const first = await client('eu-west-1').send(new CopyImageCommand(copy))
    const again = await client('eu-west-1').send(new CopyImageCommand(copy))
    expect(again.ImageId).toBe(first.ImageId)
    await expect(client('eu-west-1').send(new CopyImageCommand({ ...copy, Name: 'other' }))).rejects.toMatchObject({
      name: 'IdempotentParameterMismatch'
    })
    // Every parameter counts, tags included: a re-run's attempt number makes the same token a mismatch.
    const retagged = [{ ResourceType: 'image' as const, Tags: [{ Key: 'ami-pipeline:run-attempt', Value: '2' }] }]
    await expect(client('eu-west-1').send(new CopyImageCommand({ ...copy, TagSpecifications: retagged }))).rejects.toMatchObject({
      name: 'IdempotentParameterMismatch'
    })
    const copied = await stateOf(first.ImageId!, 'eu-west-1')
    // EC2 reports the key as an ARN: an alias the double does not know is named in the caller's account and region.
    expect(copied.BlockDeviceMappings![0]!.Ebs).toMatchObject({ Encrypted: true, KmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:alias/eu' })
  })

  it('refuses to copy a pending image', async () => {
    world.front.configure({ pendingMs: 60_000 })
    const source = await image('pending-source')
    await stateOf(source)
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
    for (const n of [1, 2, 3]) await stateOf(await image(`paged-${n}`))
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
    clock.advance(1100)
    expect(await ownNames()).toContain('lost-1')

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

  it('lists a new image only after a moment, while its name is taken at once (eventual consistency)', async () => {
    const id = await image('late-1')
    expect((await client().send(new DescribeImagesCommand({ ImageIds: [id] }))).Images).toEqual([])
    await expect(image('late-1')).rejects.toMatchObject({ name: 'InvalidAMIName.Duplicate' })
    expect((await stateOf(id)).ImageId).toBe(id)
  })

  it('reports the builder instance of an image CreateImage made, and the source of a copy', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    const made = await client().send(new CreateImageCommand({ InstanceId: builder, Name: 'origin-1' }))
    expect((await stateOf(made.ImageId!)).SourceInstanceId).toBe(builder)
    const copy = await client('eu-west-1').send(
      new CopyImageCommand({ SourceImageId: made.ImageId!, SourceRegion: 'us-east-1', Name: 'origin-1' })
    )
    expect(await stateOf(copy.ImageId!, 'eu-west-1')).toMatchObject({ SourceImageId: made.ImageId, SourceImageRegion: 'us-east-1' })
  })

  it('hides a disabled image unless IncludeDisabled, shows it disabled with it, and EnableImage restores it', async () => {
    const id = await image('disabled-1')
    await stateOf(id)
    await client().send(new DisableImageCommand({ ImageId: id }))
    expect((await client().send(new DescribeImagesCommand({ ImageIds: [id] }))).Images).toEqual([])
    expect((await client().send(new DescribeImagesCommand({ Owners: ['self'] }))).Images).toEqual([])
    expect((await stateOf(id, 'us-east-1', { IncludeDisabled: true })).State).toBe('disabled')
    await expect(image('disabled-1')).rejects.toMatchObject({ name: 'InvalidAMIName.Duplicate' })
    await client().send(new EnableImageCommand({ ImageId: id }))
    expect((await stateOf(id)).State).toBe('available')
  })

  it('registers an image on the snapshot it is given, and refuses to delete a snapshot an image (even disabled) uses', async () => {
    const { first, second, snapshot } = await sharingPair('shared')
    expect(snapshotIdsOf(await stateOf(second.ImageId!))).toEqual([snapshot])
    await client().send(new DeregisterImageCommand({ ImageId: first.ImageId! }))
    await client().send(new DisableImageCommand({ ImageId: second.ImageId! }))
    await expect(client().send(new DeleteSnapshotCommand({ SnapshotId: snapshot }))).rejects.toMatchObject({
      name: 'InvalidSnapshot.InUse'
    })
  })

  it('skips a shared snapshot for both of two DeregisterImage calls sent together, judging each as of its request', async () => {
    const { first, second, snapshot } = await sharingPair('pair')
    const results = await Promise.all(
      [first.ImageId!, second.ImageId!].map((ImageId) =>
        client().send(new DeregisterImageCommand({ ImageId, DeleteAssociatedSnapshots: true }))
      )
    )
    expect(results.map((result) => result.DeleteSnapshotResults)).toEqual([
      [{ SnapshotId: snapshot, ReturnCode: 'skipped' }],
      [{ SnapshotId: snapshot, ReturnCode: 'skipped' }]
    ])
    const left = (await client().send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshot] }))).Snapshots
    expect(left?.map((s) => s.SnapshotId)).toEqual([snapshot])
  })

  it('keeps refusing DeregisterImage through the cooldown once protection with cooldown is turned off', async () => {
    const id = await image('cooling-1')
    await stateOf(id)
    await client().send(new EnableImageDeregistrationProtectionCommand({ ImageId: id, WithCooldown: true }))
    expect((await stateOf(id)).DeregistrationProtection).toBe('enabled-with-cooldown')
    await client().send(new DisableImageDeregistrationProtectionCommand({ ImageId: id }))
    expect((await stateOf(id)).DeregistrationProtection).toMatch(/^disabled-until-\d{4}-/)
    await expect(client().send(new DeregisterImageCommand({ ImageId: id }))).rejects.toMatchObject({ name: 'OperationNotPermitted' })
  })

  it('looks at the newest version-depth versions of each launch template (default 10, at most 10000)', async () => {
    const old = await image('lt-old')
    await stateOf(old)
    const template = await client().send(
      new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web', LaunchTemplateData: { ImageId: old, InstanceType: 't3.micro' } })
    )
    for (let v = 2; v <= 12; v++)
      await client().send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: template.LaunchTemplate!.LaunchTemplateId!,
          LaunchTemplateData: { ImageId: 'ami-0ffffffffffffffff', InstanceType: 't3.micro' }
        })
      )
    const references = async (depth?: string) =>
      (
        await client().send(
          new DescribeImageReferencesCommand({
            ImageIds: [old],
            ResourceTypes: [
              {
                ResourceType: 'ec2:LaunchTemplate',
                ...(depth && { ResourceTypeOptions: [{ OptionName: 'version-depth', OptionValues: [depth] }] })
              }
            ]
          })
        )
      ).ImageReferences ?? []
    expect(await references()).toEqual([])
    expect((await references('12')).map((r) => r.ResourceType)).toEqual(['ec2:LaunchTemplate'])
    await expect(references('10001')).rejects.toMatchObject({ name: 'InvalidParameterValue' })
  })

  it('resolves resolve:ssm: images with ResolveAlias, and lists only $Latest and $Default without a template', async () => {
    const id = await image('resolved-1')
    await world.front.caller('us-east-1').ssm('PutParameter', { Name: '/golden/web', Value: id, Type: 'String' })
    const template = await client().send(
      new CreateLaunchTemplateCommand({ LaunchTemplateName: 'ssm', LaunchTemplateData: { ImageId: 'resolve:ssm:/golden/web' } })
    )
    const LaunchTemplateId = template.LaunchTemplate!.LaunchTemplateId!
    const plain = await client().send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId }))
    expect(plain.LaunchTemplateVersions![0]!.LaunchTemplateData!.ImageId).toBe('resolve:ssm:/golden/web')
    const resolved = await client().send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId, ResolveAlias: true }))
    expect(resolved.LaunchTemplateVersions![0]!.LaunchTemplateData!.ImageId).toBe(id)
    await expect(client().send(new DescribeLaunchTemplateVersionsCommand({ Versions: ['1'] }))).rejects.toMatchObject({
      name: 'InvalidParameterValue'
    })
  })

  it('names what uses an image in ARNs of the caller’s account, which its access key decides', async () => {
    const id = await image('owned-1')
    const template = await client().send(
      new CreateLaunchTemplateCommand({ LaunchTemplateName: 'owned', LaunchTemplateData: { ImageId: id } })
    )
    const arn = (accessKeyId: string) => {
      const asked = new EC2Client({
        region: 'us-east-1',
        endpoint: world.front.endpoint,
        credentials: { accessKeyId, secretAccessKey: 'testing' },
        maxAttempts: 1
      })
      return asked
        .send(new DescribeImageReferencesCommand({ ImageIds: [id], ResourceTypes: [{ ResourceType: 'ec2:LaunchTemplate' }] }))
        .then((found) => found.ImageReferences?.map((reference) => reference.Arn))
        .finally(() => asked.destroy())
    }
    const templateId = template.LaunchTemplate!.LaunchTemplateId!
    expect(await arn('testing')).toEqual([`arn:aws:ec2:us-east-1:123456789012:launch-template/${templateId}`])
    // moto acts in its default account for a key it did not issue; the front names the account it maps the key to.
    world.front.state.accounts.byAccessKey.set('AKIAOTHERACCOUNT', '111122223333')
    expect(await arn('AKIAOTHERACCOUNT')).toEqual([`arn:aws:ec2:us-east-1:111122223333:launch-template/${templateId}`])
  })
})
