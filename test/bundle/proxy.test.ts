// Behind a proxy, as on many self-hosted runners: HTTPS_PROXY / HTTP_PROXY carry every EC2 call,
// and NO_PROXY exempts hosts, as the runner and the AWS CLI honour them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { runAction } from '../support/runner.ts'
import { startProxy, type Proxy } from '../support/proxy.ts'
import { launchBuilder, useWorld, awsEnv } from '../support/world.ts'

const world = useWorld()
let proxy: Proxy
beforeAll(async () => {
  proxy = await startProxy()
})
afterAll(async () => {
  await proxy.stop()
})

const env = (extra: Record<string, string>) => ({
  ...awsEnv(world),
  ...extra
})

describe('behind a proxy', () => {
  it('sends every EC2 call through HTTP_PROXY', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    proxy.seen.length = 0
    const result = await runAction(
      { mode: 'build', 'instance-id': builder, name: 'proxied-1' },
      { env: env({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url }) }
    )
    expect(result.errors).toEqual([])
    expect(proxy.seen.length).toBe(world.front.calls.length)
    expect(proxy.seen.every((line) => line === `POST ${world.front.endpoint}/`)).toBe(true)
  })

  it('goes direct to hosts in NO_PROXY', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    proxy.seen.length = 0
    const result = await runAction(
      { mode: 'build', 'instance-id': builder, name: 'direct-1' },
      { env: env({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }) }
    )
    expect(result.errors).toEqual([])
    expect(world.front.calls.length).toBeGreaterThan(0)
    expect(proxy.seen).toEqual([])
  })
})
