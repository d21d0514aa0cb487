// A Step for mode-level unit tests: a fake clock whose sleep advances time at once, a log that
// records, and the real Ec2 layer (its SDK client mocked by the test with aws-sdk-client-mock).
import { Ec2 } from '../../src/ec2/client.ts'
import { readPlan, INPUTS, type InputName } from '../../src/inputs.ts'
import { Release } from '../../src/release.ts'
import type { Log, Step } from '../../src/step.ts'

export interface RecordedLog extends Log {
  lines: { level: string; message: string }[]
  text(): string
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

export function testStep(given: Partial<Record<InputName, string>>): Step & { log: RecordedLog; sleeps: number[] } {
  const values: Record<string, string> = Object.fromEntries(Object.entries(INPUTS).map(([name, spec]) => [name, spec.default]))
  Object.assign(values, given)
  const plan = readPlan((name) => values[name] ?? '', { AWS_REGION: 'us-east-1' })
  let clock = Date.parse('2026-11-24T10:00:00Z')
  const sleeps: number[] = []
  return {
    plan,
    ec2: new Ec2({ maxAttempts: 1 }),
    release: new Release(plan.region),
    log: recordingLog(),
    run: { repository: 'acme/images', commit: 'abc123', runId: '42', runAttempt: '1', workflow: 'release', ref: 'refs/heads/main' },
    signal: new AbortController().signal,
    sleeps,
    sleep: async (ms) => {
      sleeps.push(ms)
      clock += ms
    },
    now: () => clock
  }
}
