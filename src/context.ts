// What every mode receives besides its own plan: the step's common settings, the one way into AWS,
// this release's images, the journal of what the step did, a log, the workflow run, the job's
// cancellation, and the one clock and polling configuration. Modes never touch @actions/core;
// main.ts wires this up, and tests make their own.
import type { Aws } from './aws/client.ts'
import type { StepPlan } from './inputs/index.ts'
import type { Journal } from './journal.ts'
import type { Release } from './release.ts'
import type { Run } from './run.ts'
import { eventually, formatDuration, type Clock, type Polling } from './time.ts'

export interface Log {
  info(message: string): void
  /** Something the user should see as an annotation (a skipped region, a kept image). */
  notice(message: string): void
  warning(message: string): void
  debug(message: string): void
  /**
   * Folds the lines `work` logs under a title (the runner's log groups). Groups do not nest in the
   * runner's log, so a mode is one group, and prune, whose plan is long, makes one per region.
   */
  group<T>(title: string, work: () => Promise<T>): Promise<T>
}

export interface Context {
  plan: StepPlan
  aws: Aws
  release: Release
  journal: Journal
  log: Log
  run: Run
  /** Aborted when the runner cancels the job: waits stop at once. */
  signal: AbortSignal
  clock: Clock
  polling: Polling
}

/**
 * Looks until `look` finds something, on the step's clock and one of its polling schedules. A look
 * that goes on for more than a few seconds says what it waits for (`what`), so a job is never silent.
 */
export function lookAgain<T>(
  context: Context,
  schedule: 'visibility' | 'parameter' | 'templateVersion' | 'given' | 'usageReport',
  look: () => Promise<T | undefined>,
  what?: string
): Promise<T | undefined> {
  const total = context.polling[schedule].reduce((sum, ms) => sum + ms, 0)
  const sayStill = what
    ? {
        afterMs: context.polling.sayAfterMs,
        say: (sofar: number) =>
          context.log.info(`Still looking for ${what} after ${formatDuration(sofar)} (for up to ${formatDuration(total)} in all).`)
      }
    : undefined
  return eventually(look, context.polling[schedule], context.clock, context.signal, sayStill)
}
