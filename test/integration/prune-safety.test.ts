// Prune's promise — never an image in use — against moto behind the front, for the uses that
// default-and-latest checks miss: an old launch template version an Auto Scaling group pins, a
// launch template that takes its image from an SSM parameter; and disabled images, which EC2 hides.
import { describe, expect, it } from '@jest/globals'
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DisableImageCommand,
  ModifyLaunchTemplateCommand,
  RegisterImageCommand
} from '@aws-sdk/client-ec2'
import { inspector, ownImages, ownSnapshots, snapshotIdsOf } from '../support/ec2-env.ts'
import { seedImage, type Seeded } from '../support/seed.ts'
import { runAgainst } from '../support/step.ts'
import { launchBuilder, useWorld } from '../support/world.ts'

const world = useWorld({}, { virtual: true })
const REGION = 'us-east-1'

async function seedFive(): Promise<Seeded[]> {
  const builder = await launchBuilder(world.moto.endpoint)
  const images: Seeded[] = []
  for (let i = 0; i < 5; i++) images.push(await seedImage(world.front, REGION, builder, `web-${i}`, 50 - i * 10, { App: 'web' }))
  return images
}

function prune(extra: Record<string, string> = {}) {
  return runAgainst(world.front, { mode: 'prune', 'prune-tags': 'App=web', keep: '1', 'max-deletions': '10', ...extra })
}

const client = () => inspector(world.front.endpoint, REGION)

describe.each([
  ['with DescribeImageReferences', true],
  ['without DescribeImageReferences', false]
])('prune, %s,', (_, references) => {
  it('keeps an image that an old launch template version pins, twelve versions back from the default', async () => {
    world.front.configure({ imageReferences: references })
    const [pinned] = await seedFive()
    const ec2 = client()
    try {
      const template = await ec2.send(
        new CreateLaunchTemplateCommand({ LaunchTemplateName: 'asg', LaunchTemplateData: { ImageId: pinned!.imageId } })
      )
      const LaunchTemplateId = template.LaunchTemplate!.LaunchTemplateId!
      for (let v = 2; v <= 13; v++)
        await ec2.send(
          new CreateLaunchTemplateVersionCommand({ LaunchTemplateId, LaunchTemplateData: { ImageId: 'ami-0ffffffffffffffff' } })
        )
      // Version 1 is neither the default nor the latest any more; an Auto Scaling group may still pin it.
      await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId, DefaultVersion: '13' }))
    } finally {
      ec2.destroy()
    }
    const { step, failure } = await prune()
    expect(failure).toBeUndefined()
    const decision = step.journal.prunePlan.find((d) => d.imageId === pinned!.imageId)!
    expect(decision).toMatchObject({ action: 'keep', reason: expect.stringMatching(/^in use by launch template lt-\w+/) })
    expect((await ownImages(world.moto.endpoint, REGION)).map((image) => image.ImageId)).toContain(pinned!.imageId)
    expect(step.journal.retired.get(REGION)?.imageIds).toHaveLength(3)
  })

  it('keeps an image that a launch template takes from an SSM parameter', async () => {
    world.front.configure({ imageReferences: references })
    const [, viaParameter] = await seedFive()
    await world.front.caller(REGION).ssm('PutParameter', { Name: '/golden/web', Value: viaParameter!.imageId, Type: 'String' })
    const ec2 = client()
    try {
      await ec2.send(
        new CreateLaunchTemplateCommand({ LaunchTemplateName: 'ssm', LaunchTemplateData: { ImageId: 'resolve:ssm:/golden/web' } })
      )
    } finally {
      ec2.destroy()
    }
    const { step, failure } = await prune()
    expect(failure).toBeUndefined()
    const decision = step.journal.prunePlan.find((d) => d.imageId === viaParameter!.imageId)!
    expect(decision.action).toBe('keep')
    // A text parameter: whether DescribeImageReferences counts it is not documented (the front says
    // no), so it is the launch template, resolved, that keeps the image — on either path.
    expect(decision.reason).toMatch(/launch template lt-\w+ version 1 \(default\)/)
  })
})

describe('prune and disabled images', () => {
  it('sees a disabled image, gives it no place among the newest, and keeps a snapshot it shares', async () => {
    const images = await seedFive()
    const newest = images.at(-1)!
    const oldest = images[0]!
    const ec2 = client()
    let sharer: string
    let snapshot: string
    try {
      // The newest image is disabled: keep: 1 must keep the newest launchable one instead.
      await ec2.send(new DisableImageCommand({ ImageId: newest.imageId }))
      // A disabled image registered from the oldest image's snapshot keeps that snapshot alive.
      const [image] = (await ownImages(world.moto.endpoint, REGION)).filter((i) => i.ImageId === oldest.imageId)
      snapshot = snapshotIdsOf(image!)[0]!
      sharer = (
        await ec2.send(
          new RegisterImageCommand({
            Name: 'keeper',
            RootDeviceName: '/dev/xvda',
            BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshot } }]
          })
        )
      ).ImageId!
      // An image registered long ago (one just registered may not be listed yet).
      world.front.setCreationDate(sharer, REGION, '2026-01-01T00:00:00.000Z')
      await ec2.send(new DisableImageCommand({ ImageId: sharer }))
    } finally {
      ec2.destroy()
    }
    const { step, failure } = await prune()
    expect(failure).toBeUndefined()
    const decisions = Object.fromEntries(step.journal.prunePlan.map((d) => [d.imageId, `${d.action}: ${d.reason}`]))
    expect(decisions[newest.imageId]).toMatch(/^retire: disabled \(takes no place among the newest\)/)
    expect(decisions[images.at(-2)!.imageId]).toBe('keep: newest 1')
    // moto lists the sharer on a snapshot of its own; EC2 (the front) on the one it was given.
    expect(step.journal.retired.get(REGION)?.imageIds).toContain(oldest.imageId)
    expect(step.journal.retired.get(REGION)?.snapshotIds).not.toContain(snapshot!)
    expect((await ownSnapshots(world.moto.endpoint, REGION)).map((s) => s.SnapshotId)).toContain(snapshot!)
    expect(step.log.text()).toMatch(new RegExp(`Kept snapshot ${snapshot!} of ${oldest.imageId} in us-east-1: ${sharer!} still uses it`))
  })
})
