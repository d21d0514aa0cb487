// prune with an SDK-level mock, for what a local EC2 server cannot show: EC2's per-snapshot
// results, snapshots shared between images, an image that fails to retire half-way.
import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  type Image
} from '@aws-sdk/client-ec2'
import { inUseMocks } from '../support/in-use-mocks.ts'
import { Aws } from '../../src/aws/client.ts'
import { prune as pruneMode } from '../../src/modes/prune/prune.ts'
import { IN_FLIGHT } from '../../src/pool.ts'
import { testStep, type TestStep } from '../support/step.ts'
import { awsError } from '../support/aws-error.ts'

// Nothing in use unless a test says so (launch configurations, Spot, SSM parameters).
const { ec2, reset: resetMocks } = inUseMocks()

const prune = (step: TestStep) => pruneMode(step, step.plan.prune!)

const DAY = 86_400_000
const NOW = Date.parse('2026-11-24T10:00:00Z')

function image(n: number, daysOld: number): Image {
  const hex = n.toString(16).padStart(17, '0')
  return {
    ImageId: `ami-${hex}`,
    Name: `web-${n}`,
    State: 'available',
    CreationDate: new Date(NOW - daysOld * DAY).toISOString(),
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: `snap-${hex}` } }]
  }
}

const pruneStep = (extra: Record<string, string> = {}) => testStep({ mode: 'prune', 'prune-name': 'web-*', keep: '1', ...extra })

beforeEach(() => {
  resetMocks()
  ec2.on(DescribeImageReferencesCommand).resolves({ ImageReferences: [] })
  ec2.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [] })
  ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [] })
})

describe('retiring', () => {
  it('reports the snapshots EC2 deleted and keeps one that another image still uses, naming it', async () => {
    const sharing: Image = {
      ImageId: 'ami-0ffffffffffffffff',
      State: 'disabled',
      BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-00000000000000001' } }]
    }
    ec2.on(DescribeImagesCommand).callsFake((input: { Filters: { Name: string }[] }) => ({
      Images: input.Filters[0]?.Name === 'block-device-mapping.snapshot-id' ? [sharing] : [image(1, 30), image(2, 20), image(3, 10)]
    }))
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-00000000000000001' }] })
    ec2.on(DeregisterImageCommand).callsFake((input: { ImageId: string }) => ({
      Return: true,
      DeleteSnapshotResults: [
        { SnapshotId: input.ImageId.replace('ami-', 'snap-'), ReturnCode: input.ImageId.endsWith('1') ? 'skipped' : 'success' }
      ]
    }))
    const step = pruneStep()
    await prune(step)
    expect(step.journal.retired.get('us-east-1')).toEqual({
      imageIds: ['ami-00000000000000002', 'ami-00000000000000001'],
      snapshotIds: ['snap-00000000000000002']
    })
    expect(step.log.text()).toMatch(
      /Kept snapshot snap-00000000000000001 of ami-00000000000000001 in us-east-1: ami-0ffffffffffffffff still uses it/
    )
    // A disabled image still uses its snapshots: the check must see it.
    const check = ec2
      .commandCalls(DescribeImagesCommand)
      .find((call) => call.args[0].input.Filters?.[0]?.Name === 'block-device-mapping.snapshot-id')
    expect(check!.args[0].input.IncludeDisabled).toBe(true)
    expect(ec2.commandCalls(DeleteSnapshotCommand)).toHaveLength(0)
  })

  it('deletes a snapshot that two retired images shared and both DeregisterImage calls skipped', async () => {
    const shared = 'snap-0aaaaaaaaaaaaaaaa'
    const pair = [image(1, 30), image(2, 20)].map((i) => ({
      ...i,
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: shared } }]
    }))
    ec2.on(DescribeImagesCommand).callsFake((input: { Filters: { Name: string }[] }) => ({
      // EC2 still lists the images just deregistered, for a while: they use nothing any more.
      Images:
        input.Filters[0]?.Name === 'block-device-mapping.snapshot-id'
          ? pair.map((i) => ({ ...i, State: 'deregistered' as const }))
          : [...pair, image(3, 10)]
    }))
    ec2.on(DeregisterImageCommand).resolves({ Return: true, DeleteSnapshotResults: [{ SnapshotId: shared, ReturnCode: 'skipped' }] })
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: shared }] })
    ec2.on(DeleteSnapshotCommand).resolves({})
    const step = pruneStep()
    await prune(step)
    expect(ec2.commandCalls(DeleteSnapshotCommand).map((call) => call.args[0].input.SnapshotId)).toEqual([shared])
    expect(step.journal.retired.get('us-east-1')).toEqual({
      imageIds: ['ami-00000000000000002', 'ami-00000000000000001'],
      snapshotIds: [shared]
    })
  })

  it.each([
    ['internal-error' as const, undefined, true],
    ['client-error' as const, undefined, true],
    ['missing-permissions' as const, awsError('UnauthorizedOperation', 'You are not authorized'), false]
  ])(
    'settles a snapshot DeregisterImage reports as %s by deleting it itself, reporting what EC2 then says',
    async (code, refusal, deleted) => {
      ec2.on(DescribeImagesCommand).callsFake((input: { Filters: { Name: string }[] }) => ({
        Images: input.Filters[0]?.Name === 'block-device-mapping.snapshot-id' ? [] : [image(1, 30), image(2, 10)]
      }))
      ec2
        .on(DeregisterImageCommand)
        .resolves({ Return: true, DeleteSnapshotResults: [{ SnapshotId: 'snap-00000000000000001', ReturnCode: code }] })
      ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-00000000000000001' }] })
      if (refusal) ec2.on(DeleteSnapshotCommand).rejects(refusal)
      else ec2.on(DeleteSnapshotCommand).resolves({})
      const step = pruneStep()
      const result = prune(step)
      if (deleted) await result
      else
        await expect(result).rejects.toThrow(
          /snapshot snap-00000000000000001 of ami-00000000000000001 in us-east-1: DeleteSnapshot .*ec2:DeleteSnapshot/
        )
      expect(step.journal.retired.get('us-east-1')?.imageIds).toEqual(['ami-00000000000000001'])
      expect(step.journal.retired.get('us-east-1')?.snapshotIds).toEqual(deleted ? ['snap-00000000000000001'] : [])
    }
  )

  it('stops retiring at once when the job is cancelled, and records exactly what was retired', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: Array.from({ length: 3 * IN_FLIGHT }, (_, i) => image(i + 1, 30 + i)) })
    const controller = new AbortController()
    const step = pruneStep({ 'max-deletions': '100' })
    step.signal = controller.signal
    step.aws = new Aws({ maxAttempts: 1, signal: controller.signal })
    const answers: (() => void)[] = []
    ec2.on(DeregisterImageCommand).callsFake(
      (input: { ImageId: string }) =>
        new Promise((resolve) => {
          const answer = () =>
            resolve({
              Return: true,
              DeleteSnapshotResults: [{ SnapshotId: input.ImageId.replace('ami-', 'snap-'), ReturnCode: 'success' }]
            })
          answers.push(answer)
          // Once a pool's worth of calls is on the wire, the job is cancelled; those calls then finish.
          if (answers.length === IN_FLIGHT) {
            controller.abort(new Error('cancelled'))
            for (const done of answers) done()
          }
        })
    )
    await expect(prune(step)).rejects.toThrow('cancelled')
    const sent = ec2.commandCalls(DeregisterImageCommand).map((call) => call.args[0].input.ImageId)
    expect(sent).toHaveLength(IN_FLIGHT)
    expect(step.journal.retired.get('us-east-1')?.imageIds.sort()).toEqual([...sent].sort())
  })
  it('deletes snapshots itself where the server does not, except one another image uses', async () => {
    const sharing: Image = { ImageId: 'ami-0ffffffffffffffff', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-00000000000000001' } }] }
    ec2.on(DescribeImagesCommand).callsFake((input: { Filters: { Name: string }[] }) => ({
      Images: input.Filters[0]?.Name === 'block-device-mapping.snapshot-id' ? [sharing] : [image(1, 30), image(2, 20), image(3, 10)]
    }))
    ec2.on(DeregisterImageCommand).resolves({ Return: true })
    ec2
      .on(DescribeSnapshotsCommand)
      .resolves({ Snapshots: [{ SnapshotId: 'snap-00000000000000001' }, { SnapshotId: 'snap-00000000000000002' }] })
    ec2.on(DeleteSnapshotCommand).resolves({})
    const step = pruneStep()
    await prune(step)
    expect(ec2.commandCalls(DeleteSnapshotCommand).map((call) => call.args[0].input.SnapshotId)).toEqual(['snap-00000000000000002'])
    expect(step.journal.retired.get('us-east-1')?.snapshotIds).toEqual(['snap-00000000000000002'])
  })

  it('retires the rest when one image fails, then fails listing it', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image(1, 30), image(2, 20), image(3, 10)] })
    ec2.on(DeregisterImageCommand).resolves({ Return: true, DeleteSnapshotResults: [] })
    ec2.on(DeregisterImageCommand, { ImageId: 'ami-00000000000000001' }).rejects(awsError('InvalidParameterValue'))
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] })
    const step = pruneStep()
    await expect(prune(step)).rejects.toThrow(
      /1 of 2 images could not be retired \(the rest were\): ami-00000000000000001 'web-1' in us-east-1: DeregisterImage in us-east-1 for image ami-00000000000000001 failed: InvalidParameterValue/
    )
    expect(step.journal.retired.get('us-east-1')?.imageIds).toEqual(['ami-00000000000000002'])
  })

  it('counts an image already gone after a lost reply as retired', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image(1, 30), image(2, 10)] })
    ec2.on(DeregisterImageCommand).rejects(awsError('InvalidAMIID.Unavailable'))
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] })
    const step = pruneStep()
    await prune(step)
    expect(step.journal.retired.get('us-east-1')).toEqual({ imageIds: ['ami-00000000000000001'], snapshotIds: ['snap-00000000000000001'] })
  })
})

describe('failures', () => {
  it('names the first failures in the message and every one in the log', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: Array.from({ length: 13 }, (_, i) => image(i + 1, 30 - i)) })
    ec2.on(DeregisterImageCommand).rejects(awsError('UnauthorizedOperation'))
    const step = pruneStep({ keep: '0' })
    const failure = await prune(step).catch((error: unknown) => error)
    expect(String(failure)).toMatch(/13 of 13 images could not be retired \(the rest were\): .*; and 3 more \(see the log\)$/)
    expect(String(failure)).toMatch(/the IAM permission ec2:DeregisterImage/)
    expect(step.log.lines.filter((line) => line.message.startsWith('Could not retire'))).toHaveLength(13)
    expect(step.journal.retired.size).toBe(0)
  })

  it('retires nothing when the in-use check fails for a reason other than permissions', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image(1, 30), image(2, 10)] })
    ec2.on(DescribeImageReferencesCommand).rejects(awsError('InternalError'))
    await expect(prune(pruneStep())).rejects.toThrow(/DescribeImageReferences in us-east-1 .* failed: InternalError/)
    expect(ec2.commandCalls(DeregisterImageCommand)).toHaveLength(0)
  })
})

describe('a cancel before the snapshots are settled', () => {
  it('names the snapshots it left, which no later prune could find, in the release', async () => {
    const shared = 'snap-0aaaaaaaaaaaaaaaa'
    const pair = [image(1, 30), image(2, 20)].map((i) => ({
      ...i,
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: shared } }]
    }))
    ec2.on(DescribeImagesCommand).resolves({ Images: [...pair, image(3, 10)] })
    const controller = new AbortController()
    const step = pruneStep()
    step.signal = controller.signal
    step.aws = new Aws({ maxAttempts: 1, signal: controller.signal })
    let answered = 0
    ec2.on(DeregisterImageCommand).callsFake(() => {
      // The job is cancelled once both images are deregistered, before their shared snapshot is settled.
      if (++answered === 2) controller.abort(new Error('cancelled'))
      return { Return: true, DeleteSnapshotResults: [{ SnapshotId: shared, ReturnCode: 'skipped' }] }
    })
    await expect(prune(step)).rejects.toThrow('cancelled')
    expect(step.journal.retired.get('us-east-1')?.imageIds.sort()).toEqual(['ami-00000000000000001', 'ami-00000000000000002'])
    expect(step.journal.unsettled.get('us-east-1')).toEqual({ imageIds: [], snapshotIds: [shared] })
    expect(ec2.commandCalls(DeleteSnapshotCommand)).toHaveLength(0)
    expect(step.log.lines).toContainEqual({
      level: 'warning',
      message: expect.stringContaining(`delete any that no image uses: ${shared}`)
    })
  })
})

describe('a region that fails while settling', () => {
  it('does not cut short the other regions: each finishes and is recorded before the step fails', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image(1, 30), image(2, 10)] })
    ec2.on(DeregisterImageCommand).resolves({ Return: true })
    // eu-west-1's settling fails (DescribeSnapshots refused); us-east-1's finds its snapshot gone.
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] })
    const step = pruneStep({ 'prune-regions': 'us-east-1, eu-west-1' })
    const original = step.aws.call.bind(step.aws)
    // The plan's own look at the snapshots' sizes goes through; settling's, after the deregistration, fails.
    let looks = 0
    step.aws.call = (async (region: string, operation: string, resource: string, send: never) => {
      if (region === 'eu-west-1' && operation === 'DescribeSnapshots' && looks++ > 0) throw new Error('DescribeSnapshots refused')
      return original(region, operation, resource, send)
    }) as typeof step.aws.call
    await expect(prune(step)).rejects.toThrow(/settling the snapshots of the removed images in eu-west-1: DescribeSnapshots refused/)
    expect(step.journal.retired.get('us-east-1')).toEqual({ imageIds: ['ami-00000000000000001'], snapshotIds: ['snap-00000000000000001'] })
    expect(step.journal.retired.get('eu-west-1')?.imageIds).toEqual(['ami-00000000000000001'])
  })
})

describe('dry run', () => {
  it('reports the images and snapshots that would go, not a snapshot another image shares, and checks permissions', async () => {
    const sharing: Image = { ImageId: 'ami-0ffffffffffffffff', BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-00000000000000001' } }] }
    ec2.on(DescribeImagesCommand).callsFake((input: { Filters: { Name: string }[] }) => ({
      Images:
        input.Filters[0]?.Name === 'block-device-mapping.snapshot-id'
          ? [sharing, image(1, 30), image(2, 20)]
          : [image(1, 30), image(2, 20), image(3, 10)]
    }))
    ec2.on(DeregisterImageCommand).rejects(awsError('DryRunOperation'))
    ec2.on(DeleteSnapshotCommand).rejects(awsError('DryRunOperation'))
    const step = pruneStep({ 'dry-run': 'true' })
    await prune(step)
    expect(step.journal.retired.get('us-east-1')).toEqual({
      imageIds: ['ami-00000000000000002', 'ami-00000000000000001'],
      snapshotIds: ['snap-00000000000000002']
    })
    expect(ec2.commandCalls(DeregisterImageCommand).map((call) => call.args[0].input)).toEqual([
      { ImageId: 'ami-00000000000000002', DeleteAssociatedSnapshots: true, DryRun: true }
    ])
    expect(ec2.commandCalls(DeleteSnapshotCommand).map((call) => call.args[0].input)).toEqual([
      { SnapshotId: 'snap-00000000000000002', DryRun: true }
    ])
    expect(step.log.text()).toMatch(/Would keep snapshot snap-00000000000000001 in us-east-1: ami-0ffffffffffffffff uses it/)
  })

  it('fails when the permission to deregister is missing, after recording the plan', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image(1, 30), image(2, 10)] })
    ec2.on(DeregisterImageCommand).rejects(awsError('UnauthorizedOperation'))
    const step = pruneStep({ 'dry-run': 'true', 'delete-snapshots': 'false' })
    await expect(prune(step)).rejects.toThrow(/Dry run: the plan stands, but retiring in us-east-1 would fail: .*ec2:DeregisterImage/)
    expect(step.journal.prunePlan.map((d) => d.action)).toEqual(['keep', 'retire'])
    expect(step.journal.retired.get('us-east-1')).toEqual({ imageIds: ['ami-00000000000000001'], snapshotIds: [] })
  })
})

describe('in-use checks without DescribeImageReferences', () => {
  it('batches instances by image id, lists every version of every launch template, and keeps what either uses', async () => {
    const images = Array.from({ length: 450 }, (_, i) => image(i + 1, 100 - i / 10))
    ec2.on(DescribeImagesCommand).resolves({ Images: images })
    ec2.on(DescribeImageReferencesCommand).rejects(awsError('UnauthorizedOperation'))
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: 'i-0123456789abcdef0', ImageId: 'ami-00000000000000005', State: { Name: 'stopped' } }] }]
    })
    ec2.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [{ LaunchTemplateId: 'lt-1' }, { LaunchTemplateId: 'lt-2' }] })
    ec2.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-1' }).resolves({
      LaunchTemplateVersions: [
        { LaunchTemplateId: 'lt-1', VersionNumber: 9, DefaultVersion: true, LaunchTemplateData: { ImageId: 'ami-00000000000000009' } },
        { LaunchTemplateId: 'lt-1', VersionNumber: 3, DefaultVersion: false, LaunchTemplateData: { ImageId: 'ami-00000000000000007' } }
      ]
    })
    ec2.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-2' }).resolves({ LaunchTemplateVersions: [] })
    const step = pruneStep({ 'dry-run': 'true', 'max-deletions': '1000' })
    ec2.on(DeregisterImageCommand).rejects(awsError('DryRunOperation'))
    ec2.on(DeleteSnapshotCommand).rejects(awsError('DryRunOperation'))
    await prune(step)
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(3)
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'image-id', Values: expect.any(Array) },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] }
    ])
    expect(ec2.commandCalls(DescribeLaunchTemplateVersionsCommand)).toHaveLength(2)
    const reasons = Object.fromEntries(step.journal.prunePlan.map((d) => [d.imageId, d.reason]))
    expect(reasons['ami-00000000000000005']).toBe('in use by instance i-0123456789abcdef0 (stopped)')
    expect(reasons['ami-00000000000000007']).toBe('in use by launch template lt-1 version 3')
    expect(reasons['ami-00000000000000009']).toBe('in use by launch template lt-1 version 9 (default)')
  })
})
