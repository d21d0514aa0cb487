// The double's sense of time. Everything it times — pending images, new images listed late, call
// timestamps, token buckets, deregistration protection's cooldown, SSM's check of aws:ec2:image
// values and its five-minute lockout, latency faults — reads one clock, so a test that hands the
// same virtual clock to the double (and to an in-process step) waits for nothing real.
import { setImmediate } from 'node:timers'

// The action's own clock shape and real clock (src/time.ts): one clock serves the double and a step.
import { realClock, type Clock } from '../../src/time.ts'

export { realClock, type Clock }

export interface VirtualClock extends Clock {
  /** Moves time on by `ms` at once (a test's "and then five minutes pass"). */
  advance(ms: number): void
}

/**
 * Time that passes only when asked: a sleep moves it on to the moment the sleep ends, at once. Sleeps
 * that overlap end in order of their ends and move time once, as on a real clock: sixteen calls
 * that each sleep 700 ms at the same moment move it 700 ms, not 11 s. A sleep still resolves on a
 * later macrotask, not at once, so that whatever it races against — a reply already on its way,
 * another sleeper — gets its turn first, as it would in real time.
 */
export function virtualClock(startMs = Date.now()): VirtualClock {
  let now = startMs
  const advance = (ms: number): void => {
    if (!(ms >= 0)) throw new Error(`a virtual clock only moves forward; asked to move ${ms} ms`)
    now += ms
  }
  /** Sleeps not yet ended, soonest end first (in the order they began, for equal ends). */
  const sleepers: { ends: number; wake: () => void }[] = []
  let pumping = false
  const pump = (): void => {
    if (pumping) return
    pumping = true
    setImmediate(() => {
      pumping = false
      const first = sleepers[0]
      if (!first) return
      now = Math.max(now, first.ends)
      while (sleepers[0] && sleepers[0].ends <= now) sleepers.shift()!.wake()
      if (sleepers.length > 0) pump()
    })
  }
  return {
    now: () => now,
    advance,
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason)
        const sleeper = {
          ends: now + Math.max(0, ms),
          wake: (): void => {
            signal?.removeEventListener('abort', aborted)
            resolve()
          }
        }
        const aborted = (): void => {
          const at = sleepers.indexOf(sleeper)
          if (at >= 0) sleepers.splice(at, 1)
          reject(signal?.reason)
        }
        signal?.addEventListener('abort', aborted, { once: true })
        const at = sleepers.findIndex((other) => other.ends > sleeper.ends)
        sleepers.splice(at < 0 ? sleepers.length : at, 0, sleeper)
        pump()
      })
  }
}
