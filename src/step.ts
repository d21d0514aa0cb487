// What every mode receives: the plan, the EC2 layer, the release state, a log, the workflow run,
// and the job's cancellation signal. Modes never touch @actions/core; main.ts wires this up.
import type { Aws } from './aws/client.ts'
import type { Plan } from './inputs.ts'
import type { Run } from './provenance.ts'
import type { Release } from './release.ts'

export interface Log {
  info(message: string): void
  /** Something the user should see as an annotation (a skipped region, a kept image). */
  notice(message: string): void
  warning(message: string): void
  debug(message: string): void
}

export interface Step {
  plan: Plan
  aws: Aws
  release: Release
  log: Log
  run: Run
  /** Aborted when the runner cancels the job: waits stop at once. */
  signal: AbortSignal
  /** Injected so that tests of waiting need not sleep for real. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>
  now: () => number
}

/** A real sleep that ends early, with the abort reason, when the job is cancelled. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
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
