import { beforeEach, describe, expect, it } from '@jest/globals'
import { CopyImageCommand, DeregisterImageCommand, DescribeImagesCommand, EC2Client, type Image, type Tag } from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { copy as copyMode, copyToken } from '../../src/modes/copy/copy.ts'
import { awsError } from '../support/aws-error.ts'
import { testStep, type TestStep } from '../support/step.ts'

const copy = (step: TestStep) => copyMode(step, step.plan.copy!)

const ec2 = mockClient(EC2Client)
const SOURCE = 'ami-0123456789abcdef0'

function copyStep(extra: Record<string, string> = {}) {
  const step = testStep({ mode: 'copy', 'image-id': SOURCE, regions: 'us-east-1, us-west-2, eu-west-1', tags: 'Team=web', ...extra })
  step.release.add({
    region: 'us-east-1',
    imageId: SOURCE,
    name: 'web-1',
    description: 'web',
    origin: 'given',
    state: 'pending',
    snapshotIds: []
  })
  return step
}

const available: Image = {
  ImageId: SOURCE,
  Name: 'web-1',
  Description: 'web',
  State: 'available',
  Tags: [
    { Key: 'App', Value: 'web' },
    { Key: 'Team', Value: 'platform' },
    { Key: 'aws:cloudformation:stack-name', Value: 'images' },
    { Key: 'ami-pipeline:run-id', Value: '7' }
  ]
}

/** The source is described by id; the destinations are searched by name (Owners: self) and are empty. */
function sourceOnly(): void {
  ec2.on(DescribeImagesCommand).resolves({ Images: [available] })
  ec2.on(DescribeImagesCommand, { Owners: ['self'] }).resolves({ Images: [] })
  ownSource()
}

/** The given source is this account's own (copy asks: a shared image is copied as its own, in its region too). */
function ownSource(): void {
  ec2.on(DescribeImagesCommand, { Owners: ['self'], Filters: [{ Name: 'image-id', Values: [SOURCE] }] }).resolves({ Images: [available] })
}

beforeEach(() => {
  ec2.reset()
})

function tagsOf(tags: Tag[] | undefined): Record<string, string | undefined> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]))
}

describe('copy', () => {
  it('waits for the source, then copies to every other region with a token per attempt', async () => {
    sourceOnly()
    ec2.on(CopyImageCommand).callsFake((input: { ClientToken: string }) => ({ ImageId: `ami-${input.ClientToken.slice(0, 17)}` }))
    const step = copyStep()
    await copy(step)
    const requests = ec2.commandCalls(CopyImageCommand).map((call) => call.args[0].input)
    expect(requests.map((r) => r.ClientToken).sort()).toEqual(
      [copyToken(step.run, SOURCE, 'eu-west-1'), copyToken(step.run, SOURCE, 'us-west-2')].sort()
    )
    for (const request of requests)
      expect(request).toMatchObject({ SourceRegion: 'us-east-1', SourceImageId: SOURCE, Name: 'web-1', Description: 'web' })
    expect(step.release.regions()).toEqual(['us-east-1', 'eu-west-1', 'us-west-2'])
    expect(step.log.lines).toContainEqual({ level: 'notice', message: expect.stringMatching(/regions lists the source region us-east-1/) })
  })

  it("carries the source's own tags, then tags, then the copy's provenance, on the image and its snapshots", async () => {
    sourceOnly()
    ec2.on(CopyImageCommand).resolves({ ImageId: 'ami-0cccccccccccccccc' })
    await copy(copyStep({ regions: 'eu-west-1', tags: 'Team=web' }))
    const request = ec2.commandCalls(CopyImageCommand)[0]!.args[0].input
    expect(request.TagSpecifications!.map((spec) => spec.ResourceType)).toEqual(['image', 'snapshot'])
    for (const spec of request.TagSpecifications!) {
      const tags = tagsOf(spec.Tags)
      expect(tags).toMatchObject({
        App: 'web',
        Team: 'web',
        'ami-pipeline:source-image': SOURCE,
        'ami-pipeline:source-region': 'us-east-1',
        'ami-pipeline:run-id': '42'
      })
      // aws: tags are AWS's own; the source's provenance describes the source, not the copy.
      expect(Object.keys(tags).some((key) => key.startsWith('aws:'))).toBe(false)
    }
  })

  it('refuses, before copying anything, a copy that would carry more than 50 tags', async () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ Key: `Source${i}`, Value: 'x' }))
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ...available, Tags: many }] })
    ec2.on(DescribeImagesCommand, { Owners: ['self'] }).resolves({ Images: [] })
    const step = copyStep({ tags: 'Team=web\nApp=web\nStage=prod\nOwner=me' })
    await expect(copy(step)).rejects.toThrow(/would carry 52 tags .* EC2 allows 50.*Nothing was copied/)
    expect(ec2.commandCalls(CopyImageCommand)).toHaveLength(0)
  })

  it('derives one token per attempt of a run, source and region', () => {
    const run = { repository: 'acme/images', commit: 'a', runId: '42', runAttempt: '1', workflow: 'w', ref: 'r' }
    const token = copyToken(run, SOURCE, 'eu-west-1')
    expect(token).toHaveLength(64)
    expect(copyToken({ ...run, commit: 'b' }, SOURCE, 'eu-west-1')).toBe(token)
    expect(copyToken({ ...run, runAttempt: '2' }, SOURCE, 'eu-west-1')).not.toBe(token)
    expect(copyToken({ ...run, runId: '43' }, SOURCE, 'eu-west-1')).not.toBe(token)
    expect(copyToken(run, 'ami-0fedcba9876543210', 'eu-west-1')).not.toBe(token)
    expect(copyToken(run, SOURCE, 'us-west-2')).not.toBe(token)
  })

  it('encrypts each copy with its region’s key', async () => {
    sourceOnly()
    ec2.on(CopyImageCommand).resolves({ ImageId: 'ami-0cccccccccccccccc' })
    await copy(copyStep({ encrypted: 'true', 'kms-key-ids': 'eu-west-1=alias/eu-images' }))
    const byRegion = Object.fromEntries(
      ec2.commandCalls(CopyImageCommand).map((call) => [call.args[0].input.KmsKeyId ?? 'default', call.args[0].input.Encrypted])
    )
    expect(byRegion).toEqual({ 'alias/eu-images': true, default: true })
  })

  it('adopts the copy an earlier attempt made, found by name, without sending CopyImage again', async () => {
    // No provenance tags: EC2's own SourceImageId says it is a copy of this source.
    const earlier: Image = {
      ImageId: 'ami-0dddddddddddddddd',
      Name: 'web-1',
      State: 'available',
      SourceImageId: SOURCE,
      SourceImageRegion: 'us-east-1'
    }
    ec2.on(DescribeImagesCommand).resolves({ Images: [available] })
    ec2.on(DescribeImagesCommand, { Owners: ['self'] }).resolves({ Images: [earlier] })
    const step = copyStep({ regions: 'eu-west-1', 'provenance-tags': 'false' })
    await copy(step)
    expect(ec2.commandCalls(CopyImageCommand)).toHaveLength(0)
    expect(step.release.get('eu-west-1')).toMatchObject({ imageId: 'ami-0dddddddddddddddd', origin: 'copied', state: 'available' })
  })

  it.each(['InvalidAMIName.Duplicate', 'IdempotentParameterMismatch'])(
    'adopts its own copy that EC2 did not list yet when CopyImage answers %s',
    async (code) => {
      const made: Image = {
        ImageId: 'ami-0dddddddddddddddd',
        Name: 'web-1',
        State: 'pending',
        SourceImageId: SOURCE,
        SourceImageRegion: 'us-east-1'
      }
      ec2.on(DescribeImagesCommand).resolves({ Images: [available] })
      ec2
        .on(DescribeImagesCommand, { Owners: ['self'] })
        .resolvesOnce({ Images: [] })
        .resolvesOnce({ Images: [] })
        .resolvesOnce({ Images: [] })
        .resolves({ Images: [made] })
      ownSource()
      ec2.on(CopyImageCommand).rejects(awsError(code))
      const step = copyStep({ regions: 'eu-west-1' })
      await copy(step)
      expect(step.release.get('eu-west-1')).toMatchObject({ imageId: 'ami-0dddddddddddddddd', origin: 'copied' })
      expect(step.sleeps.length).toBeGreaterThan(0)
    }
  )

  it('refuses an image of the same name that is not a copy of the source, copying nothing', async () => {
    const other: Image = { ImageId: 'ami-0eeeeeeeeeeeeeeee', Name: 'web-1', State: 'available', SourceInstanceId: 'i-0123456789abcdef0' }
    ec2.on(DescribeImagesCommand).resolves({ Images: [available] })
    ec2.on(DescribeImagesCommand, { Owners: ['self'] }).resolves({ Images: [other] })
    ownSource()
    await expect(copy(copyStep({ regions: 'eu-west-1' }))).rejects.toThrow(
      /An image named 'web-1' already exists in eu-west-1: ami-0eeeeeeeeeeeeeeee, not a copy of ami-0123456789abcdef0/
    )
    expect(ec2.commandCalls(CopyImageCommand)).toHaveLength(0)
  })

  it("removes an earlier attempt's failed copy with its snapshots, then copies again", async () => {
    const failed: Image = {
      ImageId: 'ami-0dddddddddddddddd',
      Name: 'web-1',
      State: 'failed',
      SourceImageId: SOURCE,
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0dddddddddddddddd' } }]
    }
    ec2.on(DescribeImagesCommand).resolves({ Images: [available] })
    ec2.on(DescribeImagesCommand, { Owners: ['self'] }).resolves({ Images: [failed] })
    ownSource()
    ec2.on(DeregisterImageCommand).resolves({ DeleteSnapshotResults: [{ SnapshotId: 'snap-0dddddddddddddddd', ReturnCode: 'success' }] })
    ec2.on(CopyImageCommand).resolves({ ImageId: 'ami-0cccccccccccccccc' })
    const step = copyStep({ regions: 'eu-west-1' })
    await copy(step)
    expect(ec2.commandCalls(DeregisterImageCommand)[0]!.args[0].input).toEqual({
      ImageId: 'ami-0dddddddddddddddd',
      DeleteAssociatedSnapshots: true
    })
    expect(step.release.get('eu-west-1')?.imageId).toBe('ami-0cccccccccccccccc')
    expect(step.journal.removedFailed.get('eu-west-1')).toEqual({
      imageIds: ['ami-0dddddddddddddddd'],
      snapshotIds: ['snap-0dddddddddddddddd']
    })
  })

  it('keeps and reports the copies that succeeded when another region fails', async () => {
    sourceOnly()
    ec2.on(CopyImageCommand).resolves({ ImageId: 'ami-0cccccccccccccccc' })
    ec2.on(CopyImageCommand, { KmsKeyId: 'alias/broken' }).rejects(awsError('InvalidParameterValue'))
    const step = copyStep({ 'kms-key-ids': 'eu-west-1=alias/broken' })
    await expect(copy(step)).rejects.toThrow(
      /failed for 1 of 2 regions — eu-west-1: CopyImage in eu-west-1 .*Copies made: ami-0cccccccccccccccc in us-west-2/
    )
    expect(step.release.get('us-west-2')?.imageId).toBe('ami-0cccccccccccccccc')
  })

  it('checks CopyImage permission per region in a dry run, copying nothing', async () => {
    ownSource()
    ec2.on(CopyImageCommand).rejects(awsError('DryRunOperation'))
    const step = copyStep({ 'dry-run': 'true' })
    await copy(step)
    expect(ec2.commandCalls(CopyImageCommand).map((call) => call.args[0].input.DryRun)).toEqual([true, true])
    expect(step.release.regions()).toEqual(['us-east-1'])
  })
})
