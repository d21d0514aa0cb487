// One moto and one front for a test file: `const world = useWorld()` at the top of a describe,
// then world.front / world.moto in tests. moto is reset and the front cleared before each test.
import { afterAll, beforeAll, beforeEach } from '@jest/globals'
import { EC2Client, RunInstancesCommand, DescribeImagesCommand } from '@aws-sdk/client-ec2'
import { startFront, type Front, type FrontOptions } from './ec2-front.ts'
import { startMoto, type Moto } from './moto-server.ts'

export interface World {
  moto: Moto
  front: Front
}

export function useWorld(options: FrontOptions = {}): World {
  const world = {} as World
  beforeAll(async () => {
    world.moto = await startMoto()
    world.front = await startFront(world.moto.endpoint, options)
  }, 60_000)
  afterAll(async () => {
    await world.front?.stop()
    await world.moto?.stop()
  })
  beforeEach(async () => {
    await world.moto.reset()
    world.front.reset(options)
  })
  return world
}

/** A running builder instance in the region, launched from one of moto's stock images. */
export async function launchBuilder(endpoint: string, region = 'us-east-1'): Promise<string> {
  const client = new EC2Client({ region, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } })
  try {
    const stock = await client.send(
      new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'architecture', Values: ['x86_64'] }] })
    )
    const imageId = stock.Images?.[0]?.ImageId
    if (!imageId) throw new Error(`moto has no stock image in ${region}`)
    const run = await client.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))
    return run.Instances![0]!.InstanceId!
  } finally {
    client.destroy()
  }
}
