// One moto and one front for a test file: `const world = useWorld()` at the top of a describe,
// then world.front / world.moto in tests. moto is reset and the front cleared before each test.
import { afterAll, beforeAll, beforeEach } from '@jest/globals'
import { startFront, startMoto, virtualClock, type Front, type FrontOptions, type Moto } from '../../tools/ec2-double/index.ts'

export { launchBuilder } from './ec2-env.ts'
import { endpointEnv } from './runner.ts'

export interface World {
  moto: Moto
  front: Front
}

/**
 * `virtual`: the front runs on a virtual clock, which an in-process step shares (world.front.clock),
 * so nothing the step waits for — pending images, images listed late, SSM's check — takes real time.
 */
export function useWorld(options: FrontOptions = {}, { virtual = false }: { virtual?: boolean } = {}): World {
  const world = {} as World
  beforeAll(async () => {
    world.moto = await startMoto()
    world.front = await startFront(world.moto.endpoint, virtual ? { ...options, clock: virtualClock() } : options)
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

/** What a step needs to reach this world's front as AWS: test credentials, a region, and the EC2 and SSM endpoints. */
export function awsEnv(world: World, region = 'us-east-1'): Record<string, string> {
  return endpointEnv(world.front.endpoint, region)
}
