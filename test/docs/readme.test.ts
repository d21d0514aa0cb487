// Users paste the examples first: every YAML block of the README, docs/ and CONTRIBUTING.md must
// parse strictly and use only the inputs and modes action.yml declares (and only inputs that serve
// the step's modes); every JSON block must parse; every shell block must pass `bash -n`, and the
// local ones must run. The README's front page stays short, and the inputs and outputs tables in
// docs/inputs.md stay action.yml's.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { parse, parseDocument } from 'yaml'
import { INPUTS, MODES, type InputName, type Mode } from '../../src/inputs/index.ts'
import { parseList } from '../../src/inputs/values.ts'
import { startMoto, type Moto } from '../../tools/ec2-double/index.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const INPUTS_DOC = readFileSync(join(ROOT, 'docs', 'inputs.md'), 'utf8')
const PAGES = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`)
]
const ACTION = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: string }>
  outputs: Record<string, unknown>
}

/** The rows of the Markdown table that follows a heading, as trimmed cells. */
function tableAfter(heading: string, markdown = INPUTS_DOC): string[][] {
  const from = markdown.indexOf(`\n${heading}\n`)
  expect(from).toBeGreaterThan(-1)
  const rows: string[][] = []
  for (const line of markdown.slice(from + heading.length + 2).split('\n')) {
    if (line.startsWith('#')) break
    if (!line.startsWith('|') || /^\|[\s|:-]+\|$/.test(line)) continue
    rows.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim())
    )
  }
  return rows.slice(1)
}

interface Block {
  lang: string
  code: string
  line: number
}

function blocks(markdown: string): Block[] {
  const found: Block[] = []
  for (const match of markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    found.push({ lang: match[1]!, code: match[2]!, line: markdown.slice(0, match.index).split('\n').length })
  }
  return found
}

const ALL = PAGES.flatMap((page) => blocks(readFileSync(join(ROOT, page), 'utf8')).map((block) => ({ ...block, page })))
const of = (...langs: string[]) =>
  ALL.filter((block) => langs.includes(block.lang)).map((block) => [`${block.page} line ${block.line}`, block] as const)

/** Words of prose: what is outside code blocks. */
const proseWords = (markdown: string): number =>
  markdown
    .replace(/^```[\s\S]*?^```$/gm, '')
    .split(/\s+/)
    .filter((word) => /\w/.test(word)).length

type Step = { uses?: unknown; with?: Record<string, unknown> }

/** Every step in a parsed block: jobs.*.steps of a workflow, or a bare list of steps. */
function stepsIn(value: unknown): Step[] {
  if (Array.isArray(value)) return value.flatMap(stepsIn)
  if (!value || typeof value !== 'object') return []
  const object = value as Record<string, unknown>
  if ('uses' in object || 'run' in object) return [object as Step]
  return Object.values(object).flatMap(stepsIn)
}

const isThisAction = (uses: unknown): boolean => typeof uses === 'string' && (/^\.\/?$/.test(uses) || /\/ami-pipeline@/.test(uses))

describe('the README and docs/', () => {
  it('have the two commands a newcomer runs, word for word, on the front page', () => {
    expect(README).toMatch(/^npm run demo$/m)
    expect(README).toMatch(/^npm test$/m)
  })

  it('keep the front page to 2,500 words of prose, with a quick start and links to every page in docs/', () => {
    expect(proseWords(README)).toBeLessThanOrEqual(2500)
    expect(README).toMatch(/^## Quick start$/m)
    for (const page of PAGES.filter((p) => p.startsWith('docs/'))) expect([page, README.includes(`](${page})`)]).toEqual([page, true])
  })

  it('link only to files that exist', () => {
    for (const page of PAGES) {
      const text = readFileSync(join(ROOT, page), 'utf8')
      for (const [, target] of text.matchAll(/\]\((?!https?:|#)([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const path = join(ROOT, dirname(page), target!)
        expect([page, target, spawnSync('test', ['-e', path]).status]).toEqual([page, target, 0])
      }
    }
  })

  it('lists every input of action.yml once in the Inputs table, with its modes and action.yml default, in four cells', () => {
    const rows = tableAfter('## Inputs')
    expect(rows.filter((row) => row.length !== 4)).toEqual([])
    const names = rows.map((row) => row[0]!.replace(/`/g, ''))
    expect([...names].sort()).toEqual(Object.keys(ACTION.inputs).sort())
    for (const [name, , defaultCell] of rows.map((row) => [row[0]!.replace(/`/g, ''), row[1], row[2]!] as const)) {
      const declared = ACTION.inputs[name]?.default
      if (declared !== undefined) expect([name, defaultCell]).toEqual([name, `\`${declared}\``])
    }
  })

  it('lists every output of action.yml once in the Outputs table, each with its meaning in one cell', () => {
    const rows = tableAfter('## Outputs')
    expect(rows.filter((row) => row.length !== 2 || row[1] === '')).toEqual([])
    expect(rows.map((row) => row[0]!.replace(/`/g, '')).sort()).toEqual(Object.keys(ACTION.outputs).sort())
  })

  it.each(of('yaml', 'yml'))('YAML block at %s parses strictly: no errors, no warnings, no duplicate keys', (_, block) => {
    const document = parseDocument(block.code, { uniqueKeys: true, prettyErrors: true })
    expect([...document.errors, ...document.warnings].map((problem) => problem.message)).toEqual([])
  })

  it.each(of('yaml', 'yml'))('YAML block at %s uses the action only with declared inputs that serve its modes', (_, block) => {
    for (const step of stepsIn(parse(block.code)).filter((s) => isThisAction(s.uses))) {
      const given = step.with ?? {}
      expect(Object.keys(given).filter((name) => !(name in ACTION.inputs))).toEqual([])
      const modes = parseList(String(given.mode ?? '').toLowerCase())
      expect(modes.length).toBeGreaterThan(0)
      expect(modes.filter((mode) => !(MODES as readonly string[]).includes(mode))).toEqual([])
      for (const name of Object.keys(given) as InputName[]) {
        const serves = INPUTS[name].modes
        if (serves === 'all') continue
        expect([name, (serves as readonly Mode[]).some((mode) => modes.includes(mode))]).toEqual([name, true])
      }
    }
  })

  it.each(of('yaml', 'yml'))(
    'YAML block at %s, if a workflow, has a trigger, and jobs with runs-on, steps and versioned actions',
    (_, block) => {
      const workflow = parse(block.code) as Record<string, unknown> | unknown[]
      if (Array.isArray(workflow) || !('jobs' in workflow)) return
      expect(workflow.on).toBeDefined()
      for (const job of Object.values(workflow.jobs as Record<string, Record<string, unknown>>)) {
        expect(job['runs-on']).toBeDefined()
        expect(Array.isArray(job.steps)).toBe(true)
      }
      for (const step of stepsIn(workflow.jobs))
        if (typeof step.uses === 'string' && !step.uses.startsWith('./')) expect(step.uses).toMatch(/@/)
    }
  )

  it.each(of('json'))('JSON block at %s parses', (_, block) => {
    expect(() => JSON.parse(block.code) as unknown).not.toThrow()
  })

  it.each(of('sh', 'bash', 'shell'))('shell block at %s passes bash -n', (_, block) => {
    const result = spawnSync('bash', ['-n'], { input: block.code, encoding: 'utf8' })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  })
})

describe('the local examples of docs/local.md', () => {
  let moto: Moto
  beforeAll(async () => {
    moto = await startMoto()
  }, 60_000)
  afterAll(async () => {
    await moto?.stop()
  })

  it('runs as written against moto, and the step succeeds', () => {
    const example = ALL.find((block) => block.code.includes('AWS_ENDPOINT_URL_EC2=http://127.0.0.1:5000'))
    expect(example).toBeDefined()
    const script = example!.code.replace('http://127.0.0.1:5000', moto.endpoint)
    const result = spawnSync('bash', ['-c', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? ROOT },
      timeout: 60_000
    })
    expect(result.stdout).not.toMatch(/::error::/)
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/ami-04681a1dbd79675a5/)
  })

  it('runs the EC2 double example as written: it starts the double, builds, waits, tags, and stops it', () => {
    const example = ALL.find((block) => block.code.includes('scripts/local-ec2.ts)'))
    expect(example?.page).toBe('docs/local.md')
    const result = spawnSync('bash', ['-c', example!.code], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ROOT, LOCAL_EC2_STOP_AFTER_SECONDS: '120' },
      timeout: 120_000
    })
    expect(result.stdout).not.toMatch(/::error::/)
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/::set-output|image-id|Creating image ami-/)
  }, 150_000)
})
