import { describe, expect, it } from '@jest/globals'
import { EC2_BUCKETS, kindOf, pacingFor, TokenBucket } from '../../src/aws/pacing.ts'
import { virtualClock } from '../../tools/ec2-double/index.ts'

describe('pacing', () => {
  it('lets a burst through at once, then holds calls to the refill rate', async () => {
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 20 })
    const started = Date.now()
    for (let i = 0; i < 3; i++) await bucket.take()
    const burst = Date.now() - started
    for (let i = 0; i < 4; i++) await bucket.take()
    // Four more tokens at 20 a second take at least 200 ms; only a lower bound, so a busy machine cannot fail it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    expect(burst).toBeLessThan(190)
  })

  it('serves callers in the order they asked', async () => {
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 50 })
    const order: number[] = []
    await Promise.all([0, 1, 2, 3].map((n) => bucket.take().then(() => order.push(n))))
    expect(order).toEqual([0, 1, 2, 3])
  })

  it('paces by EC2’s refill rates, leaving a tenth of each burst for jitter', () => {
    expect(pacingFor(EC2_BUCKETS.change)).toEqual({ capacity: 180, refillPerSecond: 5 })
    expect(pacingFor(EC2_BUCKETS.describe)).toEqual({ capacity: 90, refillPerSecond: 20 })
  })

  it('counts Describe calls against the describe bucket and everything else as changing', () => {
    expect(kindOf('DescribeImages')).toBe('describe')
    expect(kindOf('DeregisterImage')).toBe('change')
    expect(kindOf('CreateTags')).toBe('change')
  })

  it('empties when AWS says its bucket is, and refills from then', async () => {
    const clock = virtualClock(0)
    const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 5 }, clock)
    await bucket.take()
    bucket.drain()
    await bucket.take()
    // Without the drain nine tokens were left: no wait. After it, a token takes a fifth of a second.
    expect(clock.now()).toBe(200)
  })

  it('refuses every caller still queued once the job is cancelled, without waiting for the refill', async () => {
    const clock = virtualClock(0)
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1 }, clock)
    const controller = new AbortController()
    await bucket.take(controller.signal)
    const queued = [bucket.take(controller.signal), bucket.take(controller.signal)]
    controller.abort(new Error('cancelled'))
    for (const taking of queued) await expect(taking).rejects.toThrow('cancelled')
    expect(clock.now()).toBeLessThan(2000)
  })
})
