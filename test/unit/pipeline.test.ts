// The pipeline's own work: the images a step is given are described before any mode runs, and an
// image an earlier step made moments ago, which EC2 may not list yet, is looked for again.
import { beforeEach, describe, expect, it } from '@jest/globals'
import { DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { POLLING } from '../../src/time.ts'

import { runPipeline as runAll } from '../../src/pipeline.ts'
import { testStep, type TestStep } from '../support/step.ts'

const runPipeline = (step: TestStep) => runAll(step, step.plan)

const ec2 = mockClient(EC2Client)
const IMAGE = 'ami-0123456789abcdef0'
const available: Image = { ImageId: IMAGE, Name: 'web-1', State: 'available' }

beforeEach(() => {
  ec2.reset()
})

describe('the images a step is given', () => {
  it('are looked for again while EC2 does not list them yet', async () => {
    ec2
      .on(DescribeImagesCommand)
      .resolvesOnce({ Images: [] })
      .resolvesOnce({ Images: [] })
      .resolves({ Images: [available] })
    const step = testStep({ mode: 'wait', 'image-id': IMAGE })
    await runPipeline(step)
    expect(step.release.source).toMatchObject({ imageId: IMAGE, origin: 'given', state: 'available' })
    expect(step.sleeps).toEqual(POLLING.given.slice(0, 2))
    expect(ec2.commandCalls(DescribeImagesCommand)[0]!.args[0].input.IncludeDisabled).toBe(true)
  })

  it('fail the step, naming the image and region, when EC2 never lists them', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [] })
    const step = testStep({ mode: 'wait', 'image-id': IMAGE })
    await expect(runPipeline(step)).rejects.toThrow(`The image ${IMAGE} is not visible in us-east-1`)
    // Within seconds, saying meanwhile what it is looking for.
    expect(step.sleeps).toEqual([...POLLING.given])
    expect(step.log.text()).toContain(
      `Still looking for ${IMAGE} in us-east-1 (an image made moments ago is listed within seconds) after 3s (for up to 7s in all).`
    )
  })
})
