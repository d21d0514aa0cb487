// Disabling and deprecating in place (retire: disable / deprecate), with the SDK mocked: a lost
// reply, the disabled-at tag, and the deprecation time EC2 will accept.
import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  EC2Client,
  EnableImageDeprecationCommand
} from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { retireImages } from '../../src/images/retire.ts'
import { Aws } from '../../src/aws/client.ts'
import { afterAttempts, awsError } from '../support/aws-error.ts'
import { testStep } from '../support/step.ts'

const ec2 = mockClient(EC2Client)
const IMAGE = 'ami-0123456789abcdef0'

beforeEach(() => {
  ec2.reset()
})

describe('retiring in place', () => {
  it('counts a DisableImage whose reply was lost as done once the image shows disabled, and tags when it was disabled', async () => {
    const step = testStep({ mode: 'prune', 'prune-name': 'web-*', retire: 'disable' })
    ec2.on(DisableImageCommand).rejects(awsError('InternalError'))
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: IMAGE, State: 'disabled' }] })
    ec2.on(CreateTagsCommand).resolves({})
    const result = await retireImages(step, 'us-east-1', [{ imageId: IMAGE, name: 'web-1', snapshotIds: [] }], 'disable')
    expect(result.failures).toEqual([])
    expect(result.retired.imageIds).toEqual([IMAGE])
    const tags = ec2.commandCalls(CreateTagsCommand)[0]!.args[0].input.Tags!
    expect(tags.map((tag) => tag.Key)).toEqual(['ami-pipeline:disabled-at'])
    expect(Math.abs(Date.parse(tags[0]!.Value!) - step.clock.now())).toBeLessThan(60_000)
  })

  it('reports a DisableImage that really failed, naming the image, and retires nothing', async () => {
    const step = testStep({ mode: 'prune', 'prune-name': 'web-*', retire: 'disable' })
    ec2.on(DisableImageCommand).rejects(awsError('UnauthorizedOperation'))
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: IMAGE, State: 'available' }] })
    ec2.on(CreateTagsCommand).resolves({})
    const result = await retireImages(step, 'us-east-1', [{ imageId: IMAGE, name: 'web-1', snapshotIds: [] }], 'disable')
    expect(result.failures).toEqual([expect.stringMatching(new RegExp(`^${IMAGE} 'web-1' in us-east-1: DisableImage .* ec2:DisableImage`))])
    expect(result.retired.imageIds).toEqual([])
    // The tag went first, so that a disabled image always says when; refused, it is taken off again.
    expect(ec2.commandCalls(CreateTagsCommand)).toHaveLength(1)
    const written = ec2.commandCalls(CreateTagsCommand)[0]!.args[0].input.Tags
    expect(ec2.commandCalls(DeleteTagsCommand).map((call) => call.args[0].input)).toEqual([{ Resources: [IMAGE], Tags: written }])
    expect(result.failures[0]).toMatch(/\(its ami-pipeline:disabled-at tag was removed again\)$/)
  })

  it('leaves the tag on when EC2 did not answer DisableImage: it may have disabled the image all the same', async () => {
    const step = testStep({ mode: 'prune', 'prune-name': 'web-*', retire: 'disable' })
    const unanswered = await afterAttempts({
      error: awsError('InternalError', 'An internal error has occurred.', { httpStatusCode: 500 }),
      errorType: 'TRANSIENT'
    })
    ec2.on(DisableImageCommand).rejects(unanswered)
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: IMAGE, State: 'available' }] })
    ec2.on(CreateTagsCommand).resolves({})
    const result = await retireImages(step, 'us-east-1', [{ imageId: IMAGE, name: 'web-1', snapshotIds: [] }], 'disable')
    expect(ec2.commandCalls(DeleteTagsCommand)).toHaveLength(0)
    expect(result.failures[0]).toMatch(/EC2 may have disabled it all the same: its ami-pipeline:disabled-at tag stays/)
  })

  it('says so when the disabled-at tag of a refused DisableImage cannot be taken off', async () => {
    const step = testStep({ mode: 'prune', 'prune-name': 'web-*', retire: 'disable' })
    ec2.on(DisableImageCommand).rejects(awsError('UnauthorizedOperation'))
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: IMAGE, State: 'available' }] })
    ec2.on(CreateTagsCommand).resolves({})
    ec2.on(DeleteTagsCommand).rejects(awsError('UnauthorizedOperation'))
    const result = await retireImages(step, 'us-east-1', [{ imageId: IMAGE, name: 'web-1', snapshotIds: [] }], 'disable')
    expect(result.failures[0]).toMatch(/its ami-pipeline:disabled-at tag could not be removed .*ec2:DeleteTags.*: delete it/)
  })

  it('deprecates at a whole minute at least a minute ahead, which EC2 accepts as "now"', async () => {
    const step = testStep({ mode: 'prune', 'prune-name': 'web-*', retire: 'deprecate' })
    ec2.on(EnableImageDeprecationCommand).resolves({ Return: true })
    await retireImages(step, 'us-east-1', [{ imageId: IMAGE, name: 'web-1', snapshotIds: [] }], 'deprecate')
    const at = ec2.commandCalls(EnableImageDeprecationCommand)[0]!.args[0].input.DeprecateAt!.getTime()
    expect(at % 60_000).toBe(0)
    expect(at - step.clock.now()).toBeGreaterThanOrEqual(60_000)
    expect(at - step.clock.now()).toBeLessThan(120_000)
  })

  it('reports an image tagged disabled-at whose DisableImage the cancel kept from being sent', async () => {
    const step = testStep({ mode: 'prune', 'prune-name': 'web-*', retire: 'disable' })
    const controller = new AbortController()
    step.signal = controller.signal
    step.aws = new Aws({ maxAttempts: 1, signal: controller.signal, clock: step.clock })
    ec2.on(CreateTagsCommand).callsFake(() => {
      controller.abort(new Error('cancelled'))
      return {}
    })
    const result = await retireImages(step, 'us-east-1', [{ imageId: IMAGE, name: 'web-1', snapshotIds: [] }], 'disable')
    expect(ec2.commandCalls(DisableImageCommand)).toHaveLength(0)
    expect(result.retired.imageIds).toEqual([])
    expect(result.unsettled.imageIds).toEqual([IMAGE])
    expect(result.failures).toEqual([
      expect.stringMatching(/tagged ami-pipeline:disabled-at, then the job was cancelled before DisableImage/)
    ])
  })

  it('reports a DisableImage cut off by the cancel as unsettled, though the look that follows is refused', async () => {
    const step = testStep({ mode: 'prune', 'prune-name': 'web-*', retire: 'disable' })
    const controller = new AbortController()
    step.signal = controller.signal
    step.aws = new Aws({ maxAttempts: 1, signal: controller.signal, clock: step.clock })
    ec2.on(CreateTagsCommand).resolves({})
    ec2.on(DisableImageCommand).callsFake(() => {
      controller.abort(new Error('cancelled'))
      throw awsError('InternalError')
    })
    const result = await retireImages(step, 'us-east-1', [{ imageId: IMAGE, name: 'web-1', snapshotIds: [] }], 'disable')
    expect(ec2.commandCalls(DescribeImagesCommand)).toHaveLength(0)
    expect(result.unsettled.imageIds).toEqual([IMAGE])
    expect(result.failures).toEqual([expect.stringMatching(/the job was cancelled before EC2 answered: DisableImage/)])
  })
})

describe('retiring by deregistering', () => {
  it('lists the deleted snapshots in the order of the images that had them, whenever each went', async () => {
    const step = testStep({ mode: 'prune', 'prune-name': 'web-*' })
    // EC2 deletes the second snapshot at once and fails the first, which is then deleted here.
    ec2.on(DeregisterImageCommand).resolves({
      Return: true,
      DeleteSnapshotResults: [
        { SnapshotId: 'snap-0000000000000000b', ReturnCode: 'success' },
        { SnapshotId: 'snap-0000000000000000a', ReturnCode: 'internal-error' }
      ]
    })
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-0000000000000000a' }] })
    ec2.on(DescribeImagesCommand).resolves({ Images: [] })
    ec2.on(DeleteSnapshotCommand).resolves({})
    const result = await retireImages(
      step,
      'us-east-1',
      [{ imageId: IMAGE, name: 'web-1', snapshotIds: ['snap-0000000000000000a', 'snap-0000000000000000b'] }],
      'deregister'
    )
    expect(result.failures).toEqual([])
    expect(result.retired).toEqual({ imageIds: [IMAGE], snapshotIds: ['snap-0000000000000000a', 'snap-0000000000000000b'] })
  })
})
