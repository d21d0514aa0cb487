// Seeds images the way the action makes them (tags at creation, through the front), with the
// creation dates a test needs: moto stamps every image with "now".
import { CreateImageCommand, EC2Client, type Tag } from '@aws-sdk/client-ec2'
import type { Front } from './ec2-front.ts'

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
    front.setCreationDate(imageId, region, new Date(Date.now() - daysOld * DAY).toISOString())
    // Seeded images are old: never pending.
    front.overlay(imageId, region).pendingMs = 0
    return { region, imageId, name }
  } finally {
    client.destroy()
  }
}
