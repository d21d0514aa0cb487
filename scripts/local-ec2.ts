// Starts a local EC2 API for a workflow's later steps (CI's `uses: ./` job): moto behind the EC2
// double's front (tools/ec2-double), plus a running builder instance. Prints `endpoint=…` and `instance-id=…` lines for
// $GITHUB_OUTPUT, and `pid=…` (kill it to stop), and keeps serving in the background until the job
// ends, or for LOCAL_EC2_STOP_AFTER_SECONDS (an hour by default).
//   node scripts/local-ec2.ts >> "$GITHUB_OUTPUT"
import { spawn } from 'node:child_process'
import { openSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { launchBuilder } from '../test/support/ec2-env.ts'
import { startFront, startMoto } from '../tools/ec2-double/index.ts'

if (process.argv[2] === '--serve') {
  const moto = await startMoto()
  const front = await startFront(moto.endpoint, { pendingMs: 3000 })
  const instanceId = await launchBuilder(front.endpoint)
  process.send?.({ endpoint: front.endpoint, instanceId })
  const stop = async (): Promise<void> => {
    await front.stop()
    await moto.stop()
    process.exit(0)
  }
  process.once('SIGTERM', () => void stop())
  const stopAfter = Number(process.env.LOCAL_EC2_STOP_AFTER_SECONDS ?? 3600)
  setTimeout(() => void stop(), stopAfter * 1000)
} else {
  // The server outlives this command: detach it, wait for its address, print, and return.
  const log = openSync(join(tmpdir(), 'local-ec2.log'), 'a')
  const server = spawn(process.execPath, [process.argv[1]!, '--serve'], { detached: true, stdio: ['ignore', log, log, 'ipc'] })
  const ready = await new Promise<{ endpoint: string; instanceId: string }>((resolve, reject) => {
    server.once('message', (message) => resolve(message as { endpoint: string; instanceId: string }))
    server.once('exit', (code) => reject(new Error(`the local EC2 API exited (${code}); see ${join(tmpdir(), 'local-ec2.log')}`)))
  })
  server.disconnect()
  server.unref()
  console.log(`endpoint=${ready.endpoint}`)
  console.log(`instance-id=${ready.instanceId}`)
  console.log(`pid=${server.pid}`)
}
