// Seeds images the way the action makes them (tags at creation, through the front), with the
// creation dates a test needs: moto stamps every image with "now".
import {
  CreateImageCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  EC2Client,
  EnableImageDeregistrationProtectionCommand,
  ModifyImageAttributeCommand,
  RunInstancesCommand,
  type Tag
} from '@aws-sdk/client-ec2'
import { launchBuilder } from './ec2-env.ts'
import type { Front } from '../../tools/ec2-double/index.ts'

const DAY = 86_400_000

export interface Seeded {
  region: string
  imageId: string
  name: string
}

export async function seedImage(
  front: Front,
  region: string,
  instanceId: string,
  name: string,
  daysOld: number,
  tags: Record<string, string> = {}
): Promise<Seeded> {
  const client = new EC2Client({
    region,
    endpoint: front.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1
  })
  try {
    const list: Tag[] = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))
    const made = await client.send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: name,
        ...(list.length > 0 && {
          TagSpecifications: [
            { ResourceType: 'image', Tags: list },
            { ResourceType: 'snapshot', Tags: list }
          ]
        })
      })
    )
    const imageId = made.ImageId!
    front.setCreationDate(imageId, region, new Date(front.clock.now() - daysOld * DAY).toISOString())
    // Seeded images are old: never pending.
    front.overlay(imageId, region).pendingMs = 0
    return { region, imageId, name }
  } finally {
    client.destroy()
  }
}

/** Gives another account launch permission on a seeded image, as the image's owner does (ModifyImageAttribute). */
export async function shareImage(front: Front, image: Seeded, account: string): Promise<void> {
  const client = new EC2Client({
    region: image.region,
    endpoint: front.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1
  })
  try {
    await client.send(new ModifyImageAttributeCommand({ ImageId: image.imageId, LaunchPermission: { Add: [{ UserId: account }] } }))
  } finally {
    client.destroy()
  }
}

export interface Releases {
  /** Per region, web-1.0 … web-1.11, oldest first. */
  releases: Map<string, Seeded[]>
  /** In the first region: used by a running instance, a template's default and its latest version. */
  instanceUser: Seeded
  defaultTemplateUser: Seeded
  latestTemplateUser: Seeded
  /** In the first region: deregistration protection on. */
  protectedImage: Seeded
  /** In the first region: another application's image that no selector matches. */
  otherApp: Seeded
}

/** Twelve releases, 12 to 1 weeks old, in every region; some of the first region's are in use. */
export async function seedDozenReleases(front: Front, regions: readonly string[]): Promise<Releases> {
  const releases = new Map<string, Seeded[]>()
  for (const region of regions) {
    const builder = await launchBuilder(front.endpoint, region)
    const images: Seeded[] = []
    for (let i = 0; i < 12; i++) images.push(await seedImage(front, region, builder, `web-1.${i}`, (12 - i) * 7, { App: 'web' }))
    releases.set(region, images)
  }
  const first = releases.get(regions[0]!)!
  const client = new EC2Client({
    region: regions[0]!,
    endpoint: front.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
  })
  try {
    await client.send(new RunInstancesCommand({ ImageId: first[0]!.imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))
    const template = await client.send(
      new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web', LaunchTemplateData: { ImageId: first[1]!.imageId } })
    )
    await client.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: template.LaunchTemplate!.LaunchTemplateId,
        LaunchTemplateData: { ImageId: first[2]!.imageId }
      })
    )
    await client.send(new EnableImageDeregistrationProtectionCommand({ ImageId: first[3]!.imageId }))
  } finally {
    client.destroy()
  }
  const otherApp = await seedImage(front, regions[0]!, await launchBuilder(front.endpoint, regions[0]!), 'api-1.0', 200, { App: 'api' })
  return {
    releases,
    instanceUser: first[0]!,
    defaultTemplateUser: first[1]!,
    latestTemplateUser: first[2]!,
    protectedImage: first[3]!,
    otherApp
  }
}
