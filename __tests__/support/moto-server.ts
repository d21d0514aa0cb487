// Starts moto in server mode on a free loopback port for a test file (or the demo), and stops it.
// moto is a Python package that cannot come from the npm registry: when it is missing, say so.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Moto {
  endpoint: string
  /** Forgets every resource, as a fresh server would. */
  reset(): Promise<void>
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export async function startMoto(): Promise<Moto> {
  const command = motoCommand()
  const port = await freePort()
  const logFile = join(tmpdir(), `moto-${port}.log`)
  const log = openSync(logFile, 'w')
  const child = spawn(command[0]!, [...command.slice(1), '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', log, log] })
  closeSync(log)
  running.add(child)
  const endpoint = `http://127.0.0.1:${port}`
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    await waitUntilAnswering(endpoint, child, logFile)
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  return {
    endpoint,
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' })
      if (!response.ok) throw new Error(`moto reset failed: ${response.status}`)
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
      running.delete(child)
    }
  }
}

function motoCommand(): string[] {
  if (spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0) return ['moto_server']
  if (spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0) return ['python3', '-m', 'moto.server']
  throw new Error(
    "moto_server not found: AMI Pipeline's integration tests and demo run against moto in server mode, a local EC2 API. " +
      "Install it with pip install 'moto[server]' (it is not on the npm registry)."
  )
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}):\n${tail(logFile)}`)
    try {
      const response = await fetch(`${endpoint}/moto-api/`)
      if (response.status < 500) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s:\n${tail(logFile)}`)
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n')
  } catch {
    return '(no log)'
  }
}
