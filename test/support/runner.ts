// Runs the bundle the way the GitHub runner does: `node dist/index.js` in a child process, inputs
// as INPUT_* variables with action.yml's defaults filled in, and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY
// files to read back. Each step gets its own temporary directory (RUNNER_TEMP too), read and
// removed when the step has ended, so hundreds of test steps leave nothing behind.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface StepResult {
  exitCode: number | null
  outputs: Record<string, string>
  summary: string
  /**
   * What the file the `manifest` output names held when the step ended: it was in the step's
   * RUNNER_TEMP, which is gone once runAction returns.
   */
  manifest?: string
  /** stdout and stderr together, as the job log shows them. */
  log: string
  /** `::error::` annotations, decoded. */
  errors: string[]
  /** When SIGINT was sent (ms since the epoch), if it was. */
  cancelledAt?: number
}

export interface RunOptions {
  /** Extra environment: credentials, endpoint, GITHUB_* context. */
  env?: Record<string, string>
  /** Send this signal after the given delay (ms), as the runner does to cancel a job. */
  cancelAfterMs?: { ms: number; signal: NodeJS.Signals }
  /** Send SIGINT, as the runner does to cancel a job, as soon as this returns true (checked every 10 ms). */
  cancelWhen?: (logSoFar: string) => boolean
  timeoutMs?: number
  /** Also print the step's log as it runs (the demo). */
  echo?: boolean
}

/** Every input of action.yml with its default, as the runner would set them for a `uses:` step. */
export function inputEnv(given: Record<string, string>): Record<string, string> {
  const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, { default?: string }> }
  const env: Record<string, string> = {}
  for (const [name, spec] of Object.entries(action.inputs)) env[inputVar(name)] = spec.default ?? ''
  for (const [name, value] of Object.entries(given)) {
    if (!(name in action.inputs)) throw new Error(`action.yml has no input '${name}'`)
    env[inputVar(name)] = value
  }
  return env
}

function inputVar(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

export async function runAction(inputs: Record<string, string>, options: RunOptions = {}): Promise<StepResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ami-pipeline-step-'))
  try {
    return await runIn(dir, inputs, options)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function runIn(dir: string, inputs: Record<string, string>, options: RunOptions): Promise<StepResult> {
  const outputFile = join(dir, 'output')
  const summaryFile = join(dir, 'summary')
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'index.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      RUNNER_TEMP: dir,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      ...inputEnv(inputs),
      ...options.env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let log = ''
  const collect = (chunk: Buffer): void => {
    log += chunk.toString()
    if (options.echo) process.stdout.write(asTheLogShowsIt(chunk.toString()))
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const cancel = options.cancelAfterMs
  const cancelTimer = cancel ? setTimeout(() => child.kill(cancel.signal), cancel.ms) : undefined
  let cancelledAt: number | undefined
  const when = options.cancelWhen
  const watch = when
    ? setInterval(() => {
        if (cancelledAt !== undefined || !when(log)) return
        cancelledAt = Date.now()
        child.kill('SIGINT')
      }, 10)
    : undefined
  const killTimer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  clearTimeout(cancelTimer)
  clearInterval(watch)
  clearTimeout(killTimer)
  const outputs = readOutputs(readFileSync(outputFile, 'utf8'))
  const manifest = outputs.manifest && existsSync(outputs.manifest) ? readFileSync(outputs.manifest, 'utf8') : undefined
  return {
    ...(cancelledAt !== undefined && { cancelledAt }),
    exitCode,
    outputs,
    summary: readFileSync(summaryFile, 'utf8'),
    ...(manifest !== undefined && { manifest }),
    log,
    errors: [...log.matchAll(/^::error::(.*)$/gm)].map((match) => decodeCommand(match[1]!))
  }
}

/** The `name<<DELIMITER` blocks @actions/core writes to GITHUB_OUTPUT. */
export function readOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const pattern = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n?\2$/gm
  for (const match of text.matchAll(pattern)) outputs[match[1]!] = match[3]!
  return outputs
}

/** Workflow commands as the job log renders them: annotations titled, debug and masks hidden. */
function asTheLogShowsIt(text: string): string {
  return text
    .split(/(?<=\n)/)
    .filter((line) => !/^::(debug|add-mask)::/.test(line))
    .map((line) =>
      line.replace(
        /^::(error|warning|notice)(?: [^:]*)?::(.*)$/,
        (_, level: string, message: string) => `${level[0]!.toUpperCase()}${level.slice(1)}: ${decodeCommand(message)}`
      )
    )
    .join('')
}

function decodeCommand(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

/** Test credentials, a region, and every service's endpoint at one local server. */
export function endpointEnv(endpoint: string, region: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: region,
    AWS_ENDPOINT_URL_EC2: endpoint,
    AWS_ENDPOINT_URL_SSM: endpoint,
    AWS_ENDPOINT_URL_AUTO_SCALING: endpoint,
    AWS_ENDPOINT_URL_STS: endpoint,
    AWS_ENDPOINT_URL_KMS: endpoint,
    AWS_ENDPOINT_URL_RBIN: endpoint
  }
}

/**
 * The demo's and the screenshots' step: the front as AWS, and a release workflow run of
 * acme/web-images, as the runner describes it.
 */
export function releaseRunEnv(endpoint: string, region: string): Record<string, string> {
  return {
    ...endpointEnv(endpoint, region),
    AWS_EC2_METADATA_DISABLED: 'true',
    GITHUB_REPOSITORY: 'acme/web-images',
    GITHUB_RUN_ID: '7001',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SHA: '3f2c1a9e8d7b6a5c4f3e2d1c0b9a8f7e6d5c4b3a',
    GITHUB_REF: 'refs/tags/v2.0.0',
    GITHUB_WORKFLOW: 'Release image'
  }
}
