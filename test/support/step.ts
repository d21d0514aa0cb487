// Steps for tests that run modes in-process: a plan from inputs with action.yml's defaults filled
// in, as the runner passes them; a unit-test step with a fake clock and a recording log; and a
// real step pointed at a local EC2 endpoint.
import { Aws } from '../../src/aws/client.ts'
import { INPUTS, readPlan, type InputName, type Plan } from '../../src/inputs.ts'
import { runPipeline } from '../../src/pipeline.ts'
import type { Run } from '../../src/provenance.ts'
import { Release } from '../../src/release.ts'
import { sleep, type Log, type Step } from '../../src/step.ts'
import { useEndpoint } from './ec2-env.ts'

export interface RecordedLog extends Log {
  lines: { level: string; message: string }[]
  text(): string
}

export type Given = Partial<Record<InputName, string>>

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
    text: () => lines.map((l) => l.message).join('\n')
  }
}

/** Reads inputs as the runner passes them: every action.yml default, then the step's `with:`. */
export function planOf(given: Given, env: NodeJS.ProcessEnv = { AWS_REGION: 'us-east-1' }): Plan {
  const values: Record<string, string> = Object.fromEntries(Object.entries(INPUTS).map(([name, spec]) => [name, spec.default]))
  Object.assign(values, given)
  return readPlan((name) => values[name] ?? '', env)
}

/** A unit-test step: the SDK client is mocked by the test; sleeping advances a fake clock at once. */
export function testStep(given: Given): Step & { log: RecordedLog; sleeps: number[] } {
  const plan = planOf(given)
  let clock = Date.parse('2026-11-24T10:00:00Z')
  const sleeps: number[] = []
  return {
    plan,
    aws: new Aws({ maxAttempts: 1 }),
    release: new Release(plan.region),
    log: recordingLog(),
    run: TEST_RUN,
    signal: new AbortController().signal,
    sleeps,
    sleep: async (ms) => {
      sleeps.push(ms)
      clock += ms
    },
    now: () => clock
  }
}

/** Runs the pipeline for real against a local EC2 endpoint; returns the step and what it threw. */
export async function runAgainst(
  endpoint: string,
  given: Given,
  run: Run = TEST_RUN
): Promise<{ step: Step & { log: RecordedLog }; failure: unknown }> {
  useEndpoint(endpoint)
  const plan = planOf(given, process.env)
  const aws = new Aws({ maxAttempts: 4 })
  const step = {
    plan,
    aws,
    release: new Release(plan.region),
    log: recordingLog(),
    run,
    signal: new AbortController().signal,
    sleep,
    now: Date.now
  }
  let failure: unknown
  try {
    await runPipeline(step)
  } catch (error) {
    failure = error
  } finally {
    aws.destroy()
  }
  return { step, failure }
}
