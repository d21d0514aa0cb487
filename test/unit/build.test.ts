import { beforeEach, describe, expect, it } from '@jest/globals'
import { CreateImageCommand, DeregisterImageCommand, DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { POLLING } from '../../src/time.ts'

const VISIBILITY_PAUSES_MS = POLLING.visibility
import { build as buildMode } from '../../src/modes/build/build.ts'
import { awsError } from '../support/aws-error.ts'
import { testStep, type TestStep } from '../support/step.ts'

const build = (step: TestStep) => buildMode(step, step.plan.build!, step.plan.copy)

const ec2 = mockClient(EC2Client)
const INSTANCE = 'i-0123456789abcdef0'
const NEW = 'ami-0aaaaaaaaaaaaaaaa'
const OLD = 'ami-0bbbbbbbbbbbbbbbb'

function existing(state: string, tags: Record<string, string>): Image {
  return {
    ImageId: OLD,
    Name: 'web-1.0.0',
    State: state as Image['State'],
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))
  }
}
const THIS_RUN = { 'ami-pipeline:repository': 'acme/images', 'ami-pipeline:run-id': '42' }
const OTHER_RUN = { 'ami-pipeline:repository': 'acme/images', 'ami-pipeline:run-id': '41' }

const buildStep = (extra: Record<string, string> = {}) =>
  testStep({ mode: 'build', 'instance-id': INSTANCE, name: 'web-1.0.0', tags: 'Team=web', ...extra })

beforeEach(() => {
  ec2.reset()
})

describe('build', () => {
  it('creates the image with its tags and provenance on the image and its snapshots at creation', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [] })
    ec2.on(CreateImageCommand).resolves({ ImageId: NEW })
    const step = buildStep({ description: 'web server', 'no-reboot': 'true' })
    await build(step)
    const input = ec2.commandCalls(CreateImageCommand)[0]!.args[0].input
    expect(input).toMatchObject({ InstanceId: INSTANCE, Name: 'web-1.0.0', Description: 'web server', NoReboot: true })
    const [imageTags, snapshotTags] = input.TagSpecifications!
    expect(imageTags!.ResourceType).toBe('image')
    expect(snapshotTags!.ResourceType).toBe('snapshot')
    expect(imageTags!.Tags).toEqual(snapshotTags!.Tags)
    expect(Object.fromEntries(imageTags!.Tags!.map((t) => [t.Key, t.Value]))).toEqual({
      Team: 'web',
      'ami-pipeline:repository': 'acme/images',
      'ami-pipeline:commit': 'abc123',
      'ami-pipeline:run-id': '42',
      'ami-pipeline:run-attempt': '1',
      'ami-pipeline:workflow': 'release',
      'ami-pipeline:ref': 'refs/heads/main'
    })
    expect(step.release.source).toMatchObject({ imageId: NEW, origin: 'built', state: 'pending' })
  })

  it('reuses the image an earlier attempt of the same workflow run made, creating nothing', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [existing('pending', THIS_RUN)] })
    const step = buildStep()
    await build(step)
    expect(ec2.commandCalls(CreateImageCommand)).toHaveLength(0)
    expect(step.release.source).toMatchObject({ imageId: OLD, origin: 'built', state: 'pending' })
    expect(step.log.text()).toMatch(/earlier attempt of this workflow run made it/)
  })

  it('fails naming the existing image when another run has the name', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [existing('available', OTHER_RUN)] })
    await expect(build(buildStep())).rejects.toThrow(
      `An image named 'web-1.0.0' already exists in us-east-1: ${OLD} (available), not made by this workflow run`
    )
    expect(ec2.commandCalls(CreateImageCommand)).toHaveLength(0)
  })

  it('adopts another run’s image with if-exists: reuse', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [existing('available', OTHER_RUN)] })
    const step = buildStep({ 'if-exists': 'reuse' })
    await build(step)
    expect(step.release.source).toMatchObject({ imageId: OLD, origin: 'reused', state: 'available' })
  })

  it('adopts its own image when a lost reply makes the retried CreateImage see the name taken', async () => {
    ec2
      .on(DescribeImagesCommand)
      .resolvesOnce({ Images: [] })
      .resolves({ Images: [existing('pending', THIS_RUN)] })
    ec2.on(CreateImageCommand).rejects(awsError('InvalidAMIName.Duplicate'))
    const step = buildStep()
    await build(step)
    expect(step.release.source).toMatchObject({ imageId: OLD, origin: 'built' })
  })

  // The lost reply itself, which the SDK's retries mark, is pinned through the bundle (promises.test.ts).
  it('does not take, without provenance tags, a recent image of the builder when its CreateImage was refused at once', async () => {
    const theirs: Image = {
      ImageId: NEW,
      Name: 'web-1.0.0',
      State: 'pending',
      SourceInstanceId: INSTANCE,
      CreationDate: '2026-11-24T10:00:01.000Z'
    }
    ec2
      .on(DescribeImagesCommand)
      .resolvesOnce({ Images: [] })
      .resolvesOnce({ Images: [] })
      .resolves({ Images: [theirs] })
    ec2.on(CreateImageCommand).rejects(awsError('InvalidAMIName.Duplicate'))
    const step = buildStep({ 'provenance-tags': 'false' })
    await expect(build(step)).rejects.toThrow(/already exists in us-east-1: ami-\w+ \(pending\), not made by this workflow run/)
    expect(step.release.source).toBeUndefined()
    expect(ec2.commandCalls(DescribeImagesCommand).every((call) => call.args[0].input.IncludeDisabled === true)).toBe(true)
  })

  it('refuses, on a re-run without provenance tags, an earlier image of the same builder it cannot tell is this run’s', async () => {
    const earlier: Image = {
      ImageId: OLD,
      Name: 'web-1.0.0',
      State: 'available',
      SourceInstanceId: INSTANCE,
      CreationDate: '2026-11-23T09:00:00.000Z'
    }
    ec2.on(DescribeImagesCommand).resolves({ Images: [earlier] })
    const step = buildStep({ 'provenance-tags': 'false' })
    step.run = { ...step.run, runAttempt: '2' }
    await expect(build(step)).rejects.toThrow(
      /ami-0bbbbbbbbbbbbbbbb \(available\), made from this builder instance at 2026-11-23T09:00:00.000Z, before this step\. It has no provenance tags .* Set if-exists: reuse/
    )
    expect(ec2.commandCalls(CreateImageCommand)).toHaveLength(0)
    expect(step.release.source).toBeUndefined()
  })

  it('adopts such an image with if-exists: reuse, as someone else’s', async () => {
    const earlier: Image = {
      ImageId: OLD,
      Name: 'web-1.0.0',
      State: 'available',
      SourceInstanceId: INSTANCE,
      CreationDate: '2026-11-23T09:00:00.000Z'
    }
    ec2.on(DescribeImagesCommand).resolves({ Images: [earlier] })
    const step = buildStep({ 'provenance-tags': 'false', 'if-exists': 'reuse' })
    step.run = { ...step.run, runAttempt: '2' }
    await build(step)
    expect(step.release.source).toMatchObject({ imageId: OLD, origin: 'reused' })
  })

  it('does not take an older image of the same builder and name for its own on a first attempt without provenance tags', async () => {
    const older: Image = {
      ImageId: OLD,
      Name: 'web-1.0.0',
      State: 'available',
      SourceInstanceId: INSTANCE,
      CreationDate: '2026-10-01T09:00:00.000Z'
    }
    ec2.on(DescribeImagesCommand).resolves({ Images: [older] })
    await expect(build(buildStep({ 'provenance-tags': 'false' }))).rejects.toThrow(
      /already exists in us-east-1: ami-0bbbbbbbbbbbbbbbb \(available\), not made/
    )
  })

  it('says so when CreateImage finds the name taken but no image with it is listed even after waiting', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [] })
    ec2.on(CreateImageCommand).rejects(awsError('InvalidAMIName.Duplicate'))
    const step = buildStep()
    await expect(build(step)).rejects.toThrow(/says the name 'web-1.0.0' is taken, but no image of this account with that name is listed/)
    expect(step.sleeps).toEqual([...VISIBILITY_PAUSES_MS])
  })

  it('refuses a disabled image that holds the name, saying how to free it', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [existing('disabled', THIS_RUN)] })
    await expect(build(buildStep({ 'if-exists': 'reuse' }))).rejects.toThrow(
      /ami-0bbbbbbbbbbbbbbbb, and it is disabled. Enable it again \(EnableImage\)/
    )
    expect(ec2.commandCalls(CreateImageCommand)).toHaveLength(0)
  })

  it('fails when the name was taken by someone else between the look-up and CreateImage', async () => {
    ec2
      .on(DescribeImagesCommand)
      .resolvesOnce({ Images: [] })
      .resolves({ Images: [existing('pending', OTHER_RUN)] })
    ec2.on(CreateImageCommand).rejects(awsError('InvalidAMIName.Duplicate'))
    await expect(build(buildStep())).rejects.toThrow(/already exists in us-east-1/)
  })

  it('removes a failed image an earlier attempt left, then builds again', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [existing('failed', THIS_RUN)] })
    ec2.on(DeregisterImageCommand).resolves({ Return: true, DeleteSnapshotResults: [] })
    ec2.on(CreateImageCommand).resolves({ ImageId: NEW })
    const step = buildStep()
    await build(step)
    expect(ec2.commandCalls(DeregisterImageCommand)[0]!.args[0].input).toEqual({ ImageId: OLD, DeleteAssociatedSnapshots: true })
    expect(step.release.source?.imageId).toBe(NEW)
    expect(step.journal.removedFailed.get('us-east-1')?.imageIds).toEqual([OLD])
  })

  it('only checks permission in a dry run: CreateImage with DryRun, and no image', async () => {
    ec2.on(CreateImageCommand).rejects(awsError('DryRunOperation'))
    const step = buildStep({ 'dry-run': 'true' })
    await build(step)
    expect(ec2.commandCalls(CreateImageCommand)[0]!.args[0].input.DryRun).toBe(true)
    expect(step.release.all()).toEqual([])
  })

  it('names the missing IAM permission when the dry run is refused', async () => {
    ec2.on(CreateImageCommand).rejects(awsError('UnauthorizedOperation'))
    await expect(build(buildStep({ 'dry-run': 'true' }))).rejects.toThrow(
      /CreateImage in us-east-1 for instance i-0123456789abcdef0 failed: UnauthorizedOperation.*ec2:CreateImage/
    )
  })
})
