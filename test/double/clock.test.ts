// The double's clocks: a virtual one moves only when asked, and its sleeps still yield to what
// they race against; both honour an abort.
import { describe, expect, it } from '@jest/globals'
import { realClock, virtualClock } from '../../tools/ec2-double/index.ts'

describe('the virtual clock', () => {
  it('starts where it is told and moves on only by advance and sleep', async () => {
    const clock = virtualClock(1_000)
    expect(clock.now()).toBe(1_000)
    clock.advance(500)
    await clock.sleep(60_000)
    expect(clock.now()).toBe(61_500)
    expect(() => clock.advance(-1)).toThrow(/only moves forward/)
  })

  it('resolves a sleep on a later macrotask, after what was already due', async () => {
    const clock = virtualClock()
    const order: string[] = []
    setImmediate(() => order.push('immediate'))
    const slept = clock.sleep(10).then(() => order.push('slept'))
    void Promise.resolve().then(() => order.push('microtask'))
    await slept
    expect(order).toEqual(['microtask', 'immediate', 'slept'])
  })

  it('moves once for sleeps that overlap, and wakes them in the order they end', async () => {
    const clock = virtualClock(0)
    const woke: number[] = []
    await Promise.all([700, 300, 700, 700].map((ms) => clock.sleep(ms).then(() => woke.push(ms))))
    expect(woke).toEqual([300, 700, 700, 700])
    expect(clock.now()).toBe(700)
  })

  it('rejects a sleep with the abort reason, whether aborted before or during it', async () => {
    const clock = virtualClock(0)
    const before = new AbortController()
    before.abort(new Error('cancelled before'))
    await expect(clock.sleep(5, before.signal)).rejects.toThrow('cancelled before')
    expect(clock.now()).toBe(0)
    const during = new AbortController()
    const sleeping = clock.sleep(5, during.signal)
    during.abort(new Error('cancelled during'))
    await expect(sleeping).rejects.toThrow('cancelled during')
  })
})

describe('the real clock', () => {
  it('ends a sleep early with the abort reason', async () => {
    const controller = new AbortController()
    const started = Date.now()
    const sleeping = realClock.sleep(60_000, controller.signal)
    controller.abort(new Error('job cancelled'))
    await expect(sleeping).rejects.toThrow('job cancelled')
    expect(Date.now() - started).toBeLessThan(1_000)
  })
})
