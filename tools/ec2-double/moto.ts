// moto in server mode on a free loopback port: the local EC2 API that AMI Pipeline's integration
// tests, the demo and the benchmark run against. moto is a Python package that cannot come from the
// npm registry, so when it is missing this says so plainly. Plain Node (no jest), so that
// `node scripts/demo.ts` can import it too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'

export interface Moto {
  /** http://127.0.0.1:PORT */
  endpoint: string
  /** Where moto's output goes (a temporary directory's, removed when moto stops). */
  logFile: string
  /** Stops moto and waits until it has exited. */
  stop(): Promise<void>
  /** Forgets every resource in every region, as a fresh moto would. */
  reset(): Promise<void>
}

export interface MotoOptions {
  /**
   * `few` (default): two of moto's stock images (Amazon Linux 2 x86_64, AL2022 arm64) in every
   * region. `all`: moto's full stock, over a thousand images per region, each with a snapshot,
   * which moto builds again the first time a region is used after every reset (about 0.7 s).
   */
  stockImages?: 'few' | 'all'
}

const STARTUP_MS = 30_000

// Entries of moto's own resources/amis.json, in the form MOTO_AMIS_PATH takes.
const STOCK = {
  image_type: 'machine',
  public: true,
  owner_id: '137112412989',
  platform: 'Linux/UNIX',
  state: 'available',
  hypervisor: 'xen'
}
const DEVICES = { root_device_name: '/dev/xvda', root_device_type: 'ebs', sriov: 'simple', virtualization_type: 'hvm' }
const FEW_STOCK_IMAGES = [
  {
    ...STOCK,
    ...DEVICES,
    ami_id: 'ami-04681a1dbd79675a5',
    name: 'amzn2-ami-hvm-2.0.20180810-x86_64-gp2',
    description: 'Amazon Linux 2 AMI 2.0.20180810 x86_64 HVM gp2',
    image_location: 'amazon/amzn2-ami-hvm-2.0.20180810-x86_64-gp2',
    architecture: 'x86_64'
  },
  {
    ...STOCK,
    ...DEVICES,
    ami_id: 'ami-0e9271c829888680e',
    name: 'al2022-ami-2022.0.20220728.1-kernel-5.15-arm64',
    description: 'Amazon Linux 2022 AMI 2022.0.20220728.1 arm64 HVM kernel-5.15',
    image_location: 'amazon/al2022-ami-2022.0.20220728.1-kernel-5.15-arm64',
    architecture: 'arm64'
  }
]

// moto runs under a small sh that kills it when our end of its stdin closes. The kernel closes
// that pipe however this process ends, SIGKILL included, so a crashed test or a killed jest worker
// never leaves moto behind; the 'exit' hook below only makes the ordinary case immediate.
const WATCHDOG = `exec 3<&0
"$@" </dev/null &
pid=$!
(read _ <&3; kill $pid 2>/dev/null) &
wait $pid`

// Each moto running, and its temporary directory (its log, the stock images file): both go when
// it stops, or when this process exits without stopping it.
const running = new Map<ChildProcess, string>()
process.once('exit', () => {
  for (const [child, dir] of running) {
    killGroup(child, 'SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

export async function startMoto(options: MotoOptions = {}): Promise<Moto> {
  const commands = motoCommands()
  const dir = mkdtempSync(join(tmpdir(), 'moto-'))
  const env = { ...process.env }
  if ((options.stockImages ?? 'few') === 'few') {
    env.MOTO_AMIS_PATH = join(dir, 'stock-images.json')
    writeFileSync(env.MOTO_AMIS_PATH, JSON.stringify(FEW_STOCK_IMAGES))
  }
  const failures: string[] = []
  let tries = 0
  try {
    for (const command of commands) {
      // The free port may be taken between finding it and moto binding it: try again on another.
      for (let attempt = 0; attempt < 3; attempt++) {
        const started = await tryStart(command, await freePort(), join(dir, `moto-${++tries}.log`), env)
        if ('moto' in started) return started.moto
        failures.push(started.failure)
        if (!/address already in use/i.test(started.failure)) break
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  // The failures quote the logs' last lines, so the directory can go.
  rmSync(dir, { recursive: true, force: true })
  throw new Error(`moto_server did not start:\n${failures.join('\n\n')}`)
}

async function tryStart(
  command: string[],
  port: number,
  logFile: string,
  env: NodeJS.ProcessEnv
): Promise<{ moto: Moto } | { failure: string }> {
  const log = openSync(logFile, 'w')
  const child = spawn('sh', ['-c', WATCHDOG, 'sh', ...command, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['pipe', log, log],
    env,
    detached: true
  })
  closeSync(log)
  running.set(child, dirname(logFile))
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
          rmSync(dirname(logFile), { recursive: true, force: true })
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
