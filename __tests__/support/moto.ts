// moto in server mode on a free loopback port: the local EC2 API that AMI Pipeline's integration
// tests, the demo and the benchmark run against. moto is a Python package that cannot come from the
// npm registry, so when it is missing this says so plainly. Plain Node (no jest), so that
// `node scripts/demo.ts` can import it too.
import { DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

export interface Moto {
  /** http://127.0.0.1:PORT */
  endpoint: string
  /** Where moto's output goes. */
  logFile: string
  /** Stops moto and waits until it has exited. */
  stop(): Promise<void>
  /** Forgets every resource in every region, as a fresh moto would. */
  reset(): Promise<void>
}

const STARTUP_MS = 30_000

// moto runs under a small sh that kills it when our end of its stdin closes. The kernel closes
// that pipe however this process ends, SIGKILL included, so a crashed test or a killed jest worker
// never leaves moto behind; the 'exit' hook below only makes the ordinary case immediate.
const WATCHDOG = `exec 3<&0
"$@" </dev/null &
pid=$!
(read _ <&3; kill $pid 2>/dev/null) &
wait $pid`

const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL')
})

export async function startMoto(): Promise<Moto> {
  const failures: string[] = []
  for (const command of motoCommands()) {
    // The free port may be taken between finding it and moto binding it: try again on another.
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = await tryStart(command, await freePort())
      if ('moto' in started) return started.moto
      failures.push(started.failure)
      if (!/address already in use/i.test(started.failure)) break
    }
  }
  throw new Error(`moto_server did not start:\n${failures.join('\n\n')}`)
}

async function tryStart(command: string[], port: number): Promise<{ moto: Moto } | { failure: string }> {
  const logFile = join(mkdtempSync(join(tmpdir(), 'moto-')), 'moto.log')
  const log = openSync(logFile, 'w')
  const child = spawn('sh', ['-c', WATCHDOG, 'sh', ...command, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['pipe', log, log],
    detached: true
  })
  closeSync(log)
  running.add(child)
  // moto must not keep a script alive that forgot to stop it; stop() takes a reference again.
  child.unref()
  ;(child.stdin as Socket | null)?.unref()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.once('error', () => undefined)
  const endpoint = `http://127.0.0.1:${port}`
  const answered = await waitUntilAnswering(endpoint, child)
  if (answered !== true) {
    killGroup(child, 'SIGKILL')
    running.delete(child)
    return { failure: `${command.join(' ')} on port ${port}: ${answered}\n--- ${logFile} (last lines) ---\n${tail(logFile)}` }
  }
  let stopping: Promise<void> | undefined
  return {
    moto: {
      endpoint,
      logFile,
      stop: () => {
        stopping ??= (async () => {
          child.ref()
          child.stdin?.end()
          const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000)
          await exited
          clearTimeout(timer)
          running.delete(child)
        })()
        return stopping
      },
      reset: async () => {
        const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' })
        if (!response.ok) throw new Error(`moto reset failed with HTTP ${response.status}:\n${tail(logFile)}`)
      }
    }
  }
}

/** moto_server from PATH, else the module through python3; throws when neither is there. */
function motoCommands(): string[][] {
  const commands: string[][] = []
  if (onPath('moto_server')) commands.push(['moto_server'])
  if (spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0) commands.push(['python3', '-m', 'moto.server'])
  if (commands.length === 0) {
    throw new Error(
      "moto_server not found: AMI Pipeline's integration tests need moto in server mode, a local EC2 API. " +
        "Install it with `pip install 'moto[server]'` (it is a Python package, not on the npm registry); " +
        'it provides both moto_server and `python3 -m moto.server`.'
    )
  }
  return commands
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))))
    })
  })
}

/** true once moto answers, or why it never will. */
async function waitUntilAnswering(endpoint: string, child: ChildProcess): Promise<true | string> {
  const deadline = Date.now() + STARTUP_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return `exited (${child.exitCode ?? child.signalCode}) before answering`
    try {
      const response = await fetch(`${endpoint}/moto-api/`)
      await response.arrayBuffer()
      if (response.ok) return true
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return `did not answer on ${endpoint} within ${STARTUP_MS / 1000} s`
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** The environment an in-process or child-process run of the action needs to reach `endpoint`. */
export function testAwsEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_EC2: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true'
  }
}

/** A client for test setup and checks; one attempt, so an injected fault shows instead of being retried. */
export function ec2Client(endpoint: string, region = 'us-east-1'): EC2Client {
  return new EC2Client({ region, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 })
}

/** Runs one t3.micro builder instance from one of moto's stock images; returns its instance id. */
export async function launchBuilder(client: EC2Client): Promise<string> {
  const stock = await client.send(new DescribeImagesCommand({ Owners: ['amazon'] }))
  const imageId = stock.Images?.[0]?.ImageId
  if (!imageId) throw new Error(`moto has no stock image in ${await client.config.region()}`)
  const run = await client.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))
  const instanceId = run.Instances?.[0]?.InstanceId
  if (!instanceId) throw new Error('RunInstances returned no instance')
  return instanceId
}
