import { beforeEach, describe, expect, it } from '@jest/globals'
import { DeregisterImageCommand, DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { waitForImages } from '../../src/images/waiter.ts'
import { POLLING, realClock } from '../../src/time.ts'
import { testStep } from '../support/step.ts'

const ec2 = mockClient(EC2Client)
const SOURCE = 'ami-0123456789abcdef0'
const COPY = 'ami-0fedcba9876543210'
const POLL_SCHEDULE_MS = POLLING.wait

function image(id: string, state: string, extra: Partial<Image> = {}): Image {
  return {
    ImageId: id,
    Name: 'web-1',
    State: state as Image['State'],
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: `snap-${id.slice(4)}` } }],
    ...extra
  }
}

function stepWithTwoImages(timeout = '60m') {
  const step = testStep({ mode: 'wait', 'image-id': SOURCE, 'wait-timeout': timeout })
  step.release.add({ region: 'us-east-1', imageId: SOURCE, name: 'web-1', origin: 'built', state: 'pending', snapshotIds: [] })
  step.release.add({ region: 'eu-west-1', imageId: COPY, name: 'web-1', origin: 'copied', state: 'pending', snapshotIds: [] })
  return step
}

beforeEach(() => {
  ec2.reset()
})

describe('waiting for images', () => {
  it('polls each region with one DescribeImages for all of its images, backing off to a cap', async () => {
    let polls = 0
    ec2.on(DescribeImagesCommand).callsFake((input: { Filters: { Values: string[] }[] }) => {
      polls++
      const id = input.Filters[0]!.Values[0]!
      return { Images: [image(id, polls > 12 ? 'available' : 'pending')] }
    })
    const step = stepWithTwoImages()
    await waitForImages(step, step.release.all())
    expect(step.sleeps.slice(0, 5)).toEqual([...POLL_SCHEDULE_MS, POLL_SCHEDULE_MS.at(-1)])
    const calls = ec2.commandCalls(DescribeImagesCommand)
    expect(calls.every((call) => call.args[0].input.Filters?.[0]?.Values?.length === 1)).toBe(true)
    expect(step.release.get('us-east-1')).toMatchObject({ state: 'available', snapshotIds: ['snap-0123456789abcdef0'] })
  })

  it('treats an image missing from DescribeImages as not listed yet, not as an error', async () => {
    let polls = 0
    ec2.on(DescribeImagesCommand).callsFake((input: { Filters: { Values: string[] }[] }) => {
      polls++
      return { Images: polls <= 2 ? [] : [image(input.Filters[0]!.Values[0]!, 'available')] }
    })
    const step = stepWithTwoImages()
    await waitForImages(step, step.release.all())
    expect(step.release.all().map((i) => i.state)).toEqual(['available', 'available'])
  })

  it('logs progress at least every 30 seconds, naming each pending image and its state', async () => {
    let polls = 0
    ec2.on(DescribeImagesCommand).callsFake((input: { Filters: { Values: string[] }[] }) => {
      polls++
      return { Images: [image(input.Filters[0]!.Values[0]!, polls > 30 ? 'available' : 'pending')] }
    })
    const step = stepWithTwoImages()
    await waitForImages(step, step.release.all())
    const progress = step.log.lines.filter((line) => line.message.startsWith('Still waiting'))
    expect(progress.length).toBeGreaterThanOrEqual(2)
    expect(progress[0]!.message).toMatch(new RegExp(`${SOURCE} in us-east-1 pending`))
  })

  it('fails past wait-timeout, naming every image still pending', async () => {
    ec2
      .on(DescribeImagesCommand)
      .callsFake((input: { Filters: { Values: string[] }[] }) => ({ Images: [image(input.Filters[0]!.Values[0]!, 'pending')] }))
    const step = stepWithTwoImages('1m')
    await expect(waitForImages(step, step.release.all())).rejects.toThrow(
      new RegExp(
        `Timed out after 1m00s \\(wait-timeout 1m00s\\) with images still pending: ${SOURCE} in us-east-1 \\(pending\\), ${COPY} in eu-west-1 \\(pending\\)`
      )
    )
  })

  it('fails with AWS’s reason when an image ends failed, after removing it and its snapshots', async () => {
    ec2.on(DescribeImagesCommand).callsFake((input: { Filters: { Values: string[] }[] }) => {
      const id = input.Filters[0]!.Values[0]!
      return {
        Images: [
          id === COPY
            ? image(id, 'failed', { StateReason: { Code: 'Client.InternalError', Message: 'Copy failed: snapshot error' } })
            : image(id, 'available')
        ]
      }
    })
    ec2.on(DeregisterImageCommand).resolves({ DeleteSnapshotResults: [{ SnapshotId: 'snap-0fedcba9876543210', ReturnCode: 'success' }] })
    const step = stepWithTwoImages()
    await expect(waitForImages(step, step.release.all())).rejects.toThrow(
      `An image failed: ${COPY} 'web-1' in eu-west-1: Copy failed: snapshot error`
    )
    expect(ec2.commandCalls(DeregisterImageCommand)[0]!.args[0].input).toEqual({ ImageId: COPY, DeleteAssociatedSnapshots: true })
    expect(step.release.get('eu-west-1')).toBeUndefined()
    expect(step.journal.removedFailed.get('eu-west-1')).toEqual({ imageIds: [COPY], snapshotIds: ['snap-0fedcba9876543210'] })
    expect(step.release.get('us-east-1')?.state).toBe('available')
  })

  it('reports a failed copy and another still pending at wait-timeout together, removing the failed one', async () => {
    ec2.on(DescribeImagesCommand).callsFake((input: { Filters: { Values: string[] }[] }) => {
      const id = input.Filters[0]!.Values[0]!
      return {
        Images: [
          id === COPY
            ? image(id, 'failed', { StateReason: { Code: 'Client.InternalError', Message: 'Copy failed' } })
            : image(id, 'pending')
        ]
      }
    })
    ec2.on(DeregisterImageCommand).resolves({ DeleteSnapshotResults: [{ SnapshotId: 'snap-0fedcba9876543210', ReturnCode: 'success' }] })
    const step = stepWithTwoImages('1m')
    const failure = waitForImages(step, step.release.all())
    await expect(failure).rejects.toThrow(`An image failed: ${COPY} 'web-1' in eu-west-1: Copy failed.`)
    await expect(failure).rejects.toThrow(/Timed out after 1m00s .* still pending: ami-0123456789abcdef0 in us-east-1 \(pending\)/)
    expect(ec2.commandCalls(DeregisterImageCommand)).toHaveLength(1)
    // Not offered as usable: the outputs are drawn from the release.
    expect(step.release.regions()).toEqual(['us-east-1'])
    expect(step.journal.removedFailed.get('eu-west-1')?.imageIds).toEqual([COPY])
  })

  it('fails at once for a disabled image, naming it, without deregistering it', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image(SOURCE, 'disabled')] })
    const step = testStep({ mode: 'wait', 'image-id': SOURCE })
    step.release.add({ region: 'us-east-1', imageId: SOURCE, name: 'web-1', origin: 'given', state: 'pending', snapshotIds: [] })
    await expect(waitForImages(step, step.release.all())).rejects.toThrow(`${SOURCE} 'web-1' in us-east-1 is disabled`)
    expect(ec2.commandCalls(DescribeImagesCommand)[0]!.args[0].input.IncludeDisabled).toBe(true)
    expect(ec2.commandCalls(DeregisterImageCommand)).toHaveLength(0)
    expect(step.sleeps).toEqual([])
  })

  it('never deregisters a failed image that the step was given', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image(SOURCE, 'failed')] })
    const step = testStep({ mode: 'wait', 'image-id': SOURCE })
    step.release.add({ region: 'us-east-1', imageId: SOURCE, name: 'web-1', origin: 'given', state: 'pending', snapshotIds: [] })
    await expect(waitForImages(step, step.release.all())).rejects.toThrow(/An image failed/)
    expect(ec2.commandCalls(DeregisterImageCommand)).toHaveLength(0)
  })

  it('stops at once when the job is cancelled', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image(SOURCE, 'pending')] })
    const step = testStep({ mode: 'wait', 'image-id': SOURCE })
    step.release.add({ region: 'us-east-1', imageId: SOURCE, name: 'web-1', origin: 'given', state: 'pending', snapshotIds: [] })
    const controller = new AbortController()
    step.signal = controller.signal
    // Real time: what this pins is that a cancel ends a real sleep at once.
    step.clock = realClock
    const waiting = waitForImages(step, step.release.all())
    setTimeout(() => controller.abort(new Error('cancelled')), 50)
    const started = Date.now()
    await expect(waiting).rejects.toThrow('cancelled')
    expect(Date.now() - started).toBeLessThan(POLL_SCHEDULE_MS[0]!)
  })
})
