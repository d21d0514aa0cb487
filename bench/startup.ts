// Startup: the bundle against the floor, both preloaded with peak-rss.mjs, alternating runs.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { seedImage } from '../test/support/seed.ts'
import type { Bench } from './common.ts'

export interface StartupFigures {
  runs: number
  floor: { wallMs: number; rssMiB: number; bundleKiB: number }
  /** mode: wait — what every step that does not publish to SSM loads. */
  action: { wallMs: number; rssMiB: number; bundleKiB: number }
  /** mode: publish to an SSM parameter that already holds the image: the SSM chunks load too. */
  publish: { wallMs: number; rssMiB: number; bundleKiB: number }
}

const RUNS = 9

export async function measureStartup(bench: Bench, root: string): Promise<StartupFigures> {
  const floorDir = mkdtempSync(join(tmpdir(), 'ami-pipeline-floor-'))
  try {
    return await measure(bench, root, floorDir)
  } finally {
    rmSync(floorDir, { recursive: true, force: true })
  }
}

async function measure(bench: Bench, root: string, floorDir: string): Promise<StartupFigures> {
  const built = spawnSync(join(root, 'node_modules', '.bin', 'ncc'), ['build', join(root, 'bench', 'floor.ts'), '-o', floorDir], {
    cwd: root,
    encoding: 'utf8'
  })
  if (built.status !== 0) throw new Error(`could not bundle the floor: ${built.stderr}`)
  bench.front.configure({ pendingMs: 0, faults: [] })
  const { imageId } = await seedImage(bench.front, 'us-east-1', bench.builder, `startup-${Date.now()}`, 0)

  await publishOnce(bench, imageId)

  const floor: number[][] = []
  const action: number[][] = []
  const publish: number[][] = []
  const wait = { INPUT_MODE: 'wait' }
  // The parameter already holds the image: one GetParameter, no write, no wait for SSM's check.
  const publishing = { INPUT_MODE: 'publish', 'INPUT_SSM-PARAMETER': PARAMETER, 'INPUT_LAUNCH-TEMPLATE-DEFAULT': 'true' }
  for (let i = 0; i < RUNS; i++) {
    floor.push(await timed(join(floorDir, 'index.js'), imageId, bench, wait))
    action.push(await timed(join(root, 'dist', 'index.js'), imageId, bench, wait))
    publish.push(await timed(join(root, 'dist', 'index.js'), imageId, bench, publishing))
  }
  const dist = join(root, 'dist')
  return {
    runs: RUNS,
    floor: { wallMs: median(floor.map((r) => r[0]!)), rssMiB: median(floor.map((r) => r[1]!)) / 1024, bundleKiB: sizeKiB(floorDir) },
    action: {
      wallMs: median(action.map((r) => r[0]!)),
      rssMiB: median(action.map((r) => r[1]!)) / 1024,
      // What a step loads at start; the chunks load only when a step calls SSM.
      bundleKiB: sizeKiB(dist, (file) => file === 'index.js')
    },
    publish: {
      wallMs: median(publish.map((r) => r[0]!)),
      rssMiB: median(publish.map((r) => r[1]!)) / 1024,
      bundleKiB: sizeKiB(dist)
    }
  }
}

/** Wall time (ms) and peak RSS (KiB) of one run of a bundle, as the runner starts it. */
async function timed(script: string, imageId: string, bench: Bench, inputs: Record<string, string>): Promise<[number, number]> {
  const dir = mkdtempSync(join(tmpdir(), 'ami-pipeline-startup-'))
  for (const file of ['output', 'summary', 'rss']) writeFileSync(join(dir, file), '')
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', new URL('./peak-rss.mjs', import.meta.url).href, script], {
    env: {
      PATH: process.env.PATH ?? '',
      ...bench.env,
      ...inputs,
      'INPUT_IMAGE-ID': imageId,
      'INPUT_WAIT-TIMEOUT': '60m',
      'INPUT_DRY-RUN': 'false',
      'INPUT_PROVENANCE-TAGS': 'true',
      GITHUB_OUTPUT: join(dir, 'output'),
      GITHUB_STEP_SUMMARY: join(dir, 'summary'),
      RUNNER_TEMP: dir,
      PEAK_RSS_FILE: join(dir, 'rss')
    },
    stdio: 'ignore'
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  const wall = performance.now() - started
  try {
    if (code !== 0) throw new Error(`${script} exited ${code}`)
    return [wall, Number(readFileSync(join(dir, 'rss'), 'utf8'))]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const PARAMETER = '/bench/startup/latest'

/** Sets the parameter to the image once, and waits until SSM (the front) has stored it. */
async function publishOnce(bench: Bench, imageId: string): Promise<void> {
  const client = new SSMClient({
    region: 'us-east-1',
    endpoint: bench.front.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
  })
  try {
    await client.send(
      new PutParameterCommand({ Name: PARAMETER, Value: imageId, Type: 'String', DataType: 'aws:ec2:image', Overwrite: true })
    )
    for (let i = 0; i < 60; i++) {
      const { Parameter } = await client.send(new GetParameterCommand({ Name: PARAMETER })).catch(() => ({ Parameter: undefined }))
      if (Parameter?.Value === imageId) return
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    throw new Error(`the front never stored ${imageId} in ${PARAMETER}`)
  } finally {
    client.destroy()
  }
}

function sizeKiB(dir: string, include: (file: string) => boolean = () => true): number {
  return Math.round(
    readdirSync(dir)
      .filter((f) => f.endsWith('.js') && include(f))
      .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0) / 1024
  )
}
