// Disabling and deprecating in place (retire: disable / deprecate), with the SDK mocked: a lost
// reply, the disabled-at tag, and the deprecation time EC2 will accept.
import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DisableImageCommand,
  EC2Client,
  EnableImageDeprecationCommand
} from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { retireImages } from '../../src/images/retire.ts'
import { awsError } from '../support/aws-error.ts'
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
    // The tag went first, so that a disabled image always says when; on an enabled one it means nothing.
    expect(ec2.commandCalls(CreateTagsCommand)).toHaveLength(1)
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
})
