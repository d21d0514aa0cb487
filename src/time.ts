// One clock and one polling configuration for the whole step. Both travel in the context, so that
// tests run in virtual time: a test's clock moves forward when the step sleeps, and nothing waits
// for real.

/** Now, and a sleep that ends early (rejecting with the abort reason) when the job is cancelled. */
export interface Clock {
  now(): number
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason)
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      const onAbort = (): void => {
        clearTimeout(timer)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
}

/** How long the step looks again for each thing EC2 and SSM do after they answer. */
export interface Polling {
  /**
   * EC2 is eventually consistent: an image just made (or whose name was just refused as taken) may
   * be missing from DescribeImages for a while. AWS's advice (EC2 developer guide, "Eventual
   * consistency") is to describe again with exponential backoff from a couple of seconds: about a
   * minute in all before "not there" is taken for an answer.
   */
  visibility: readonly number[]
  /** wait's intervals: short at first (a copy of a small image can be quick), then the last repeats. */
  wait: readonly number[]
  /** How often a long wait says what it is still waiting for. */
  progressEveryMs: number
  /**
   * SSM's check of an aws:ec2:image value "can take up to a few minutes" (SSM User Guide, "Native
   * parameter support for Amazon Machine Image IDs"): about five and a half minutes, every 30 s
   * after the first few seconds.
   */
  parameter: readonly number[]
  /** A launch template version EC2 may have made despite a failed answer: looked for a few seconds. */
  templateVersion: readonly number[]
  /**
   * An image the step is given that EC2 does not list: one an earlier step made moments ago shows
   * within seconds; a mistyped or foreign id never does, and fails the step in seconds, not a minute.
   */
  given: readonly number[]
  /**
   * An AMI usage report is pending while EC2 makes it (EC2 User Guide, "View your AMI usage"; no
   * duration documented): looked at every 30 s after the first minute, for about 20 minutes.
   */
  usageReport: readonly number[]
  /** A look that has gone on this long says so in the log. */
  sayAfterMs: number
}

export const POLLING: Polling = {
  visibility: [1000, 2000, 4000, 8000, 15_000, 30_000],
  wait: [2000, 4000, 8000, 10_000],
  progressEveryMs: 30_000,
  parameter: [1000, 2000, 4000, 8000, 15_000, ...Array<number>(10).fill(30_000)],
  templateVersion: [2000, 4000],
  given: [1000, 2000, 4000],
  usageReport: [5000, 10_000, 15_000, 30_000, ...Array<number>(38).fill(30_000)],
  sayAfterMs: 5000
}

/** Looks until `look` finds something or the pauses run out; the pauses are slept on the clock. */
export async function eventually<T>(
  look: () => Promise<T | undefined>,
  pauses: readonly number[],
  clock: Clock,
  signal?: AbortSignal,
  /** Called once, with the time looked so far, when the next pause would take the look past `sayAfterMs`. */
  sayStill?: { afterMs: number; say: (sofarMs: number) => void }
): Promise<T | undefined> {
  let waited = 0
  for (let attempt = 0; ; attempt++) {
    const found = await look()
    const wait = pauses[attempt]
    if (found !== undefined || wait === undefined) return found
    if (sayStill && waited < sayStill.afterMs && waited + wait >= sayStill.afterMs) sayStill.say(waited)
    await clock.sleep(wait, signal)
    waited += wait
  }
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000)
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`
  const days = Math.floor(hours / 24)
  return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`
}
