// Users of an image that are neither instances nor launch templates — Auto Scaling launch
// configurations (attached to a group or not), a `maintain` Spot Fleet and a persistent Spot request
// whose instances were interrupted — against moto, which models them, behind the double. None is in
// DescribeImageReferences: prune and if-exists: replace keep each image, naming its user.
import { describe, expect, it } from '@jest/globals'
import { AutoScalingClient, CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand } from '@aws-sdk/client-auto-scaling'
import {
  DescribeInstancesCommand,
  RequestSpotFleetCommand,
  RequestSpotInstancesCommand,
  TerminateInstancesCommand
} from '@aws-sdk/client-ec2'
import { inspector, ownImages } from '../support/ec2-env.ts'
import { seedImage, type Seeded } from '../support/seed.ts'
import { runAgainst } from '../support/step.ts'
import { launchBuilder, useWorld } from '../support/world.ts'

const world = useWorld({}, { virtual: true })
const REGION = 'us-east-1'
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' }

/** Six releases, 60 to 10 days old: the newest is kept by keep: 1, each of the next four has a launcher, the oldest none. */
async function seedSix(): Promise<Seeded[]> {
  const builder = await launchBuilder(world.moto.endpoint)
  const images: Seeded[] = []
  for (let i = 0; i < 6; i++) images.push(await seedImage(world.front, REGION, builder, `web-${i}`, 60 - i * 10, { App: 'web' }))
  return images
}

async function launchersFor(images: readonly Seeded[]): Promise<void> {
  const autoScaling = new AutoScalingClient({ region: REGION, endpoint: world.front.endpoint, credentials })
  const ec2 = inspector(world.front.endpoint, REGION)
  try {
    await autoScaling.send(
      new CreateLaunchConfigurationCommand({
        LaunchConfigurationName: 'web-grouped',
        ImageId: images[1]!.imageId,
        InstanceType: 't3.micro'
      })
    )
    await autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'web',
        LaunchConfigurationName: 'web-grouped',
        MinSize: 0,
        MaxSize: 2,
        AvailabilityZones: ['us-east-1a']
      })
    )
    await autoScaling.send(
      new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'web-spare', ImageId: images[2]!.imageId, InstanceType: 't3.micro' })
    )
    await ec2.send(
      new RequestSpotFleetCommand({
        SpotFleetRequestConfig: {
          IamFleetRole: 'arn:aws:iam::123456789012:role/fleet',
          AllocationStrategy: 'lowestPrice',
          SpotPrice: '0.1',
          TargetCapacity: 1,
          Type: 'maintain',
          LaunchSpecifications: [{ ImageId: images[3]!.imageId, InstanceType: 't3.micro' }]
        }
      })
    )
    await ec2.send(
      new RequestSpotInstancesCommand({
        Type: 'persistent',
        InstanceCount: 1,
        LaunchSpecification: { ImageId: images[4]!.imageId, InstanceType: 't3.micro' }
      })
    )
    // Interrupted: the fleet's and the request's instances are gone; both launch again when they can.
    const spotInstances = (await ec2.send(new DescribeInstancesCommand({}))).Reservations?.flatMap((r) => r.Instances ?? [])
    const ids = (spotInstances ?? [])
      .filter((i) => [images[3]!.imageId, images[4]!.imageId].includes(i.ImageId ?? ''))
      .map((i) => i.InstanceId!)
    if (ids.length > 0) await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }))
  } finally {
    autoScaling.destroy()
    ec2.destroy()
  }
}

describe('users that launch from an image without being an instance or a launch template', () => {
  it('keep it from prune, each named', async () => {
    const images = await seedSix()
    await launchersFor(images)
    const { step, failure } = await runAgainst(world.front, { mode: 'prune', 'prune-tags': 'App=web', keep: '1', 'max-deletions': '10' })
    expect(failure).toBeUndefined()
    const reason = (image: Seeded) => step.journal.prunePlan.find((d) => d.imageId === image.imageId)?.reason
    expect(reason(images[1]!)).toBe('in use by launch configuration web-grouped')
    expect(reason(images[2]!)).toBe('in use by launch configuration web-spare')
    // The fleet's own Spot requests (EC2 makes them for a request-type fleet) are named after it.
    expect(reason(images[3]!)).toMatch(/^in use by Spot Fleet request sfr-[\w-]+ \((submitted|active|modifying)\)/)
    expect(reason(images[4]!)).toMatch(/^in use by Spot request sir-\w+ \(persistent, (open|active)\)$/)
    expect(step.journal.retired.get(REGION)?.imageIds).toEqual([images[0]!.imageId])
    const left = (await ownImages(world.moto.endpoint, REGION)).map((image) => image.ImageId)
    for (const kept of images.slice(1)) expect(left).toContain(kept.imageId)
  })

  it('keep every candidate when launch configurations cannot be listed, saying which permission to add', async () => {
    const images = await seedSix()
    world.front.configure({ faults: [{ actions: ['DescribeLaunchConfigurations'], denied: true }] })
    const { step, failure } = await runAgainst(world.front, { mode: 'prune', 'prune-tags': 'App=web', keep: '1', 'max-deletions': '10' })
    expect(failure).toBeUndefined()
    expect(step.journal.retired.size).toBe(0)
    expect(step.journal.prunePlan.find((d) => d.imageId === images[0]!.imageId)?.reason).toBe(
      'not checked against launch configurations: allow autoscaling:DescribeLaunchConfigurations'
    )
    expect(step.log.lines.filter((line) => line.level === 'warning').map((line) => line.message)).toEqual([
      expect.stringMatching(/^launch configurations could not be listed in us-east-1 .* Allow autoscaling:DescribeLaunchConfigurations\.$/)
    ])
  })

  it('refuse if-exists: replace of an image a launch configuration launches, changing nothing', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    const old = await seedImage(world.front, REGION, builder, 'web-2.0.0', 3, { App: 'web' })
    const autoScaling = new AutoScalingClient({ region: REGION, endpoint: world.front.endpoint, credentials })
    try {
      await autoScaling.send(
        new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'web', ImageId: old.imageId, InstanceType: 't3.micro' })
      )
    } finally {
      autoScaling.destroy()
    }
    const { failure } = await runAgainst(world.front, { mode: 'build', 'instance-id': builder, name: 'web-2.0.0', 'if-exists': 'replace' })
    expect(String(failure)).toMatch(new RegExp(`${old.imageId} in us-east-1 is in use by launch configuration web\\. Nothing was changed`))
    expect((await ownImages(world.moto.endpoint, REGION)).map((image) => image.ImageId)).toEqual([old.imageId])
  })
})
