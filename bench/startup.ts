// Startup: the bundle against the floor, both preloaded with peak-rss.mjs, alternating runs.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { seedImage } from '../__tests__/support/seed.ts'
import type { Bench } from './run.ts'

export interface StartupFigures {
  runs: number
  floor: { wallMs: number; rssMiB: number; bundleKiB: number }
  action: { wallMs: number; rssMiB: number; bundleKiB: number }
}

const RUNS = 9

export async function measureStartup(bench: Bench, root: string): Promise<StartupFigures> {
  const floorDir = mkdtempSync(join(tmpdir(), 'ami-pipeline-floor-'))
  const built = spawnSync(join(root, 'node_modules', '.bin', 'ncc'), ['build', join(root, 'bench', 'floor.ts'), '-o', floorDir], {
    cwd: root,
    encoding: 'utf8'
  })
  if (built.status !== 0) throw new Error(`could not bundle the floor: ${built.stderr}`)
  bench.front.configure({ pendingMs: 0, faults: [] })
  const { imageId } = await seedImage(bench.front, 'us-east-1', bench.builder, `startup-${Date.now()}`, 0)

  const floor: number[][] = []
  const action: number[][] = []
  for (let i = 0; i < RUNS; i++) {
    floor.push(await timed(join(floorDir, 'index.js'), imageId, bench))
    action.push(await timed(join(root, 'dist', 'index.js'), imageId, bench))
  }
  return {
    runs: RUNS,
    floor: { wallMs: median(floor.map((r) => r[0]!)), rssMiB: median(floor.map((r) => r[1]!)) / 1024, bundleKiB: sizeKiB(floorDir) },
    action: {
      wallMs: median(action.map((r) => r[0]!)),
      rssMiB: median(action.map((r) => r[1]!)) / 1024,
      bundleKiB: sizeKiB(join(root, 'dist'))
    }
  }
}

/** Wall time (ms) and peak RSS (KiB) of one run of a bundle, as the runner starts it. */
async function timed(script: string, imageId: string, bench: Bench): Promise<[number, number]> {
  const dir = mkdtempSync(join(tmpdir(), 'ami-pipeline-startup-'))
  for (const file of ['output', 'summary', 'rss']) writeFileSync(join(dir, file), '')
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', new URL('./peak-rss.mjs', import.meta.url).href, script], {
    env: {
      PATH: process.env.PATH ?? '',
      ...bench.env,
      INPUT_MODE: 'wait',
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
  if (code !== 0) throw new Error(`${script} exited ${code}`)
  return [wall, Number(readFileSync(join(dir, 'rss'), 'utf8'))]
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

function sizeKiB(dir: string): number {
  return Math.round(
    readdirSync(dir)
      .filter((f) => f.endsWith('.js'))
      .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0) / 1024
  )
}
