// Steps for tests that run modes in-process: a plan from inputs with action.yml's defaults filled
// in, as the runner passes them; a unit-test step with a virtual clock and a recording log; and a
// real step pointed at a local EC2 endpoint.
import { Aws } from '../../src/aws/client.ts'
import type { Context, Log } from '../../src/context.ts'
import { INPUTS, readPlan, type InputName, type Plan } from '../../src/inputs/index.ts'
import { Journal } from '../../src/journal.ts'
import { runPipeline } from '../../src/pipeline.ts'
import { Release } from '../../src/release.ts'
import type { Run } from '../../src/run.ts'
import { POLLING, type Clock } from '../../src/time.ts'
import { virtualClock as doubleClock } from '../../tools/ec2-double/index.ts'
import { useEndpoint } from './ec2-env.ts'

export interface RecordedLog extends Log {
  lines: { level: string; message: string }[]
  text(): string
}

export type Given = Partial<Record<InputName, string>>

/** A context whose plan is the whole step's, so a test can hand each mode its own part. */
export type TestStep = Context & { plan: Plan; log: RecordedLog }

export const TEST_RUN: Run = {
  repository: 'acme/images',
  commit: 'abc123',
  runId: '42',
  runAttempt: '1',
  workflow: 'release',
  ref: 'refs/heads/main'
}

export function recordingLog(): RecordedLog {
  const lines: { level: string; message: string }[] = []
  const record = (level: string) => (message: string) => void lines.push({ level, message })
  return {
    lines,
    info: record('info'),
    notice: record('notice'),
    warning: record('warning'),
    debug: record('debug'),
    group: async (title, work) => {
      lines.push({ level: 'group', message: title })
      try {
        return await work()
      } finally {
        lines.push({ level: 'endgroup', message: title })
      }
    },
    text: () => lines.map((l) => l.message).join('\n')
  }
}

/** Reads inputs as the runner passes them: every action.yml default, then the step's `with:`. */
export function planOf(given: Given, env: NodeJS.ProcessEnv = { AWS_REGION: 'us-east-1' }): Plan {
  const values: Record<string, string> = Object.fromEntries(Object.entries(INPUTS).map(([name, spec]) => [name, spec.default]))
  Object.assign(values, given)
  return readPlan((name) => values[name] ?? '', env)
}

/** The double's virtual clock (tools/ec2-double/clock.ts), recording every sleep. */
export function virtualClock(start = Date.parse('2026-11-24T10:00:00Z')): Clock & { sleeps: number[] } {
  const clock = doubleClock(start)
  const sleeps: number[] = []
  return {
    sleeps,
    now: () => clock.now(),
    sleep: (ms, signal) => {
      if (!signal?.aborted) sleeps.push(ms)
      return clock.sleep(ms, signal)
    }
  }
}

/** A unit-test step: the SDK client is mocked by the test; sleeping advances a virtual clock at once. */
export function testStep(given: Given): TestStep & { sleeps: number[] } {
  const plan = planOf(given)
  const clock = virtualClock()
  return {
    plan,
    aws: new Aws({ maxAttempts: 1, dryRun: plan.dryRun, clock }),
    release: new Release(plan.region),
    journal: new Journal(),
    log: recordingLog(),
    run: TEST_RUN,
    signal: new AbortController().signal,
    clock,
    polling: POLLING,
    sleeps: clock.sleeps
  }
}

/**
 * Runs the pipeline for real against a local EC2 endpoint, on the clock the endpoint runs on (a
 * world's front: see useWorld); returns the step and what it threw.
 */
export async function runAgainst(
  front: { endpoint: string; clock: Clock },
  given: Given,
  run: Run = TEST_RUN
): Promise<{ step: TestStep; failure: unknown }> {
  const { endpoint, clock } = front
  useEndpoint(endpoint)
  const plan = planOf(given, process.env)
  // As the action runs: the default attempts, backing off on the clock.
  const aws = new Aws({ dryRun: plan.dryRun, clock })
  const step: TestStep = {
    plan,
    aws,
    release: new Release(plan.region),
    journal: new Journal(),
    log: recordingLog(),
    run,
    signal: new AbortController().signal,
    clock,
    polling: POLLING
  }
  let failure: unknown
  try {
    await runPipeline(step, plan)
  } catch (error) {
    failure = error
  } finally {
    aws.destroy()
  }
  return { step, failure }
}
