import { beforeEach, describe, expect, it } from '@jest/globals'
import { CopyImageCommand, DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { copy, copyToken } from '../src/modes/copy.ts'
import { awsError } from './support/aws-error.ts'
import { testStep } from './support/step.ts'

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

const available: Image = { ImageId: SOURCE, Name: 'web-1', Description: 'web', State: 'available' }

beforeEach(() => {
  ec2.reset()
})

describe('copy', () => {
  it('waits for the source, then copies to every other region with a deterministic token and tags at creation', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [available] })
    ec2.on(CopyImageCommand).callsFake((input: { ClientToken: string }) => ({ ImageId: `ami-${input.ClientToken.slice(0, 17)}` }))
    const step = copyStep()
    await copy(step)
    const requests = ec2.commandCalls(CopyImageCommand).map((call) => call.args[0].input)
    expect(requests.map((r) => r.ClientToken).sort()).toEqual(
      [copyToken(step.run, SOURCE, 'eu-west-1'), copyToken(step.run, SOURCE, 'us-west-2')].sort()
    )
    for (const request of requests) {
      expect(request).toMatchObject({ SourceRegion: 'us-east-1', SourceImageId: SOURCE, Name: 'web-1', Description: 'web' })
      const tags = Object.fromEntries(request.TagSpecifications![1]!.Tags!.map((t) => [t.Key, t.Value]))
      expect(tags).toMatchObject({
        Team: 'web',
        'ami-pipeline:source-image': SOURCE,
        'ami-pipeline:source-region': 'us-east-1',
        'ami-pipeline:run-id': '42'
      })
    }
    expect(step.release.regions()).toEqual(['us-east-1', 'eu-west-1', 'us-west-2'])
    expect(step.log.lines).toContainEqual({ level: 'notice', message: expect.stringMatching(/regions lists the source region us-east-1/) })
  })

  it('derives the same token on every attempt of a run, and a new one for another run, source or region', () => {
    const run = { repository: 'acme/images', commit: 'a', runId: '42', runAttempt: '1', workflow: 'w', ref: 'r' }
    const token = copyToken(run, SOURCE, 'eu-west-1')
    expect(token).toHaveLength(64)
    expect(copyToken({ ...run, runAttempt: '2', commit: 'b' }, SOURCE, 'eu-west-1')).toBe(token)
    expect(copyToken({ ...run, runId: '43' }, SOURCE, 'eu-west-1')).not.toBe(token)
    expect(copyToken(run, 'ami-0fedcba9876543210', 'eu-west-1')).not.toBe(token)
    expect(copyToken(run, SOURCE, 'us-west-2')).not.toBe(token)
  })

  it('encrypts each copy with its region’s key', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [available] })
    ec2.on(CopyImageCommand).resolves({ ImageId: 'ami-0cccccccccccccccc' })
    await copy(copyStep({ encrypted: 'true', 'kms-key-ids': 'eu-west-1=alias/eu-images' }))
    const byRegion = Object.fromEntries(
      ec2.commandCalls(CopyImageCommand).map((call) => [call.args[0].input.KmsKeyId ?? 'default', call.args[0].input.Encrypted])
    )
    expect(byRegion).toEqual({ 'alias/eu-images': true, default: true })
  })

  it('adopts its own earlier copy when the destination already has the name', async () => {
    const earlier: Image = {
      ImageId: 'ami-0dddddddddddddddd',
      Name: 'web-1',
      State: 'available',
      Tags: [{ Key: 'ami-pipeline:source-image', Value: SOURCE }]
    }
    ec2.on(DescribeImagesCommand).resolves({ Images: [available] })
    ec2.on(DescribeImagesCommand, { Owners: ['self'] }).resolves({ Images: [earlier] })
    ec2.on(CopyImageCommand).rejects(awsError('InvalidAMIName.Duplicate'))
    const step = copyStep({ regions: 'eu-west-1' })
    await copy(step)
    expect(step.release.get('eu-west-1')).toMatchObject({ imageId: 'ami-0dddddddddddddddd', origin: 'copied' })
  })

  it('keeps and reports the copies that succeeded when another region fails', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [available] })
    ec2.on(CopyImageCommand).resolves({ ImageId: 'ami-0cccccccccccccccc' })
    ec2.on(CopyImageCommand, { KmsKeyId: 'alias/broken' }).rejects(awsError('InvalidParameterValue'))
    const step = copyStep({ 'kms-key-ids': 'eu-west-1=alias/broken' })
    await expect(copy(step)).rejects.toThrow(
      /failed for 1 of 2 regions — eu-west-1: CopyImage in eu-west-1 .*Copies made: ami-0cccccccccccccccc in us-west-2/
    )
    expect(step.release.get('us-west-2')?.imageId).toBe('ami-0cccccccccccccccc')
  })

  it('checks CopyImage permission per region in a dry run, copying nothing', async () => {
    ec2.on(CopyImageCommand).rejects(awsError('DryRunOperation'))
    const step = copyStep({ 'dry-run': 'true' })
    await copy(step)
    expect(ec2.commandCalls(CopyImageCommand).map((call) => call.args[0].input.DryRun)).toEqual([true, true])
    expect(step.release.regions()).toEqual(['us-east-1'])
  })
})
