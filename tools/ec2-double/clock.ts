// The double's sense of time. Everything it times — pending images, new images listed late, call
// timestamps, token buckets, deregistration protection's cooldown, SSM's check of aws:ec2:image
// values and its five-minute lockout, latency faults — reads one clock, so a test that hands the
// same virtual clock to the double (and to an in-process step) waits for nothing real.
import { setImmediate } from 'node:timers'

/** The shape the action's own steps take a clock in, so one clock can serve both. */
export interface Clock {
  now(): number
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason)
      const aborted = (): void => {
        clearTimeout(timer)
        reject(signal!.reason)
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', aborted)
        resolve()
      }, ms)
      signal?.addEventListener('abort', aborted, { once: true })
    })
}

export interface VirtualClock extends Clock {
  /** Moves time on by `ms` at once (a test's "and then five minutes pass"). */
  advance(ms: number): void
}

/**
 * Time that passes only when asked: sleep(ms) moves it on by ms at once. A sleep still resolves on
 * a later macrotask, not at once, so that whatever it races against — a reply already on its way,
 * another sleeper — gets its turn first, as it would in real time.
 */
export function virtualClock(startMs = Date.now()): VirtualClock {
  let now = startMs
  const advance = (ms: number): void => {
    if (!(ms >= 0)) throw new Error(`a virtual clock only moves forward; asked to move ${ms} ms`)
    now += ms
  }
  return {
    now: () => now,
    advance,
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason)
        advance(Math.max(0, ms))
        setImmediate(() => (signal?.aborted ? reject(signal.reason) : resolve()))
      })
  }
}
