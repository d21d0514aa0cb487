// npm run bench: where AMI Pipeline stands against EC2's limits and against what a user writes
// instead. Runs against moto behind the test front, with per-call latency and EC2's token buckets,
// prints a table and writes bench/RESULTS.md. Takes about ten minutes: the AWS CLI's waiters poll
// every 15 s and a 1,000-image prune is held to EC2's refill rate, on purpose.
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { launchBuilder } from '../test/support/ec2-env.ts'
import { startFront, startMoto } from '../tools/ec2-double/index.ts'
import { EC2_BUCKETS, LATENCY, type Bench } from './common.ts'
import { measureAccounts, type AccountFigures } from './accounts.ts'
import { measurePrune, type PruneFigures } from './prune.ts'
import { measurePublish, type PublishFigures } from './publish.ts'
import { measureRelease, type ReleaseFigures } from './release.ts'
import { measureStartup, type StartupFigures } from './startup.ts'
import { measureWait, type WaitFigures } from './wait.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

const only = process.argv.slice(2)
const wanted = (part: string): boolean => only.length === 0 || only.includes(part)

const moto = await startMoto()
const front = await startFront(moto.endpoint)
const bench: Bench = {
  front,
  motoEndpoint: moto.endpoint,
  builder: await launchBuilder(front.endpoint),
  env: {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_EC2: front.endpoint,
    AWS_ENDPOINT_URL_SSM: front.endpoint,
    AWS_ENDPOINT_URL_AUTO_SCALING: front.endpoint,
    AWS_ENDPOINT_URL_STS: front.endpoint,
    AWS_ENDPOINT_URL_KMS: front.endpoint,
    AWS_ENDPOINT_URL_RBIN: front.endpoint
  }
}
const results: {
  startup?: StartupFigures
  release?: ReleaseFigures[]
  wait?: WaitFigures
  publish?: PublishFigures
  prune?: PruneFigures[]
  accounts?: AccountFigures[]
} = {}
try {
  if (wanted('startup')) results.startup = await step('startup', () => measureStartup(bench, ROOT))
  if (wanted('release')) results.release = await step('release', () => measureRelease(bench, ROOT, [1, 4, 8]))
  if (wanted('wait')) results.wait = await step('wait', () => measureWait(bench))
  if (wanted('publish')) results.publish = await step('publish', () => measurePublish(bench))
  if (wanted('prune')) results.prune = await step('prune', () => measurePrune(bench, [100, 1000]))
  if (wanted('accounts')) results.accounts = await step('accounts', () => measureAccounts(bench, [1, 10]))
} finally {
  await front.stop()
  await moto.stop()
}
const report = render(results)
console.log(`\n${report}`)
if (only.length === 0) writeFileSync(join(ROOT, 'bench', 'RESULTS.md'), report)

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now()
  console.error(`bench: ${name}…`)
  const value = await run()
  console.error(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  return value
}

function render(r: typeof results): string {
  const lines = [
    '# Benchmark results',
    '',
    `\`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${process.platform}/${process.arch}. EC2 is moto behind the test front with ` +
      `${LATENCY[0]}–${LATENCY[1]} ms added to every call and EC2's default token buckets per region (describe ${EC2_BUCKETS.describe.capacity} burst / ${EC2_BUCKETS.describe.refillPerSecond} per s, ` +
      `changing ${EC2_BUCKETS.change.capacity} / ${EC2_BUCKETS.change.refillPerSecond} per s).`,
    ''
  ]
  if (r.startup) {
    const s = r.startup
    lines.push(
      '## 1. Startup (to the first EC2 call and exit)',
      '',
      `Median of ${s.runs} runs each, \`mode: wait\` on an available image (one DescribeImages) against the floor: an ncc bundle of just @actions/core and @aws-sdk/client-ec2 doing one DescribeImages.`,
      '',
      '| | wall (ms) | peak RSS (MiB) | bundle (KiB) |',
      '|---|---|---|---|',
      `| floor | ${s.floor.wallMs.toFixed(0)} | ${s.floor.rssMiB.toFixed(1)} | ${s.floor.bundleKiB} |`,
      `| AMI Pipeline | ${s.action.wallMs.toFixed(0)} | ${s.action.rssMiB.toFixed(1)} | ${s.action.bundleKiB} (dist/index.js) |`,
      `| ratio (target ≤ 1.3 wall, ≤ 1.1 memory) | **${(s.action.wallMs / s.floor.wallMs).toFixed(2)}** | **${(s.action.rssMiB / s.floor.rssMiB).toFixed(2)}** | |`,
      `| AMI Pipeline, \`mode: publish\` to an SSM parameter already holding the image (one GetParameter; the SSM chunks load) | ${s.publish.wallMs.toFixed(0)} | ${s.publish.rssMiB.toFixed(1)} | ${s.publish.bundleKiB} (all of dist/) |`,
      '',
      "The SSM SDK is imported only on a step's first SSM call (ncc puts it in separate chunks), so a step that does not publish loads what it loaded before publish existed.",
      ''
    )
  }
  if (r.release) {
    lines.push(
      '## 2. Release: build, copy, wait, tag',
      '',
      'Images stay pending 5 s. Baseline: `bench/baseline-release.sh`, the AWS CLI as a user would script it (create-image, wait image-available, copy-image per region, wait per region, describe-images and create-tags per region).',
      '',
      '| regions copied to | AMI Pipeline wall (s) | calls: changing / describe (polls) | AWS CLI wall (s) | calls: changing / describe | target: non-poll calls ≤ 4 + 3×regions (one is the DescribeRegions check; one DescribeSnapshots per region reads what the release stores) |',
      '|---|---|---|---|---|---|'
    )
    for (const f of r.release) {
      lines.push(
        `| ${f.regions} | ${f.action.wallS.toFixed(1)} | ${f.action.changing} / ${f.action.describe} (${f.action.polls}) | ${f.baseline.wallS.toFixed(1)} | ${f.baseline.changing} / ${f.baseline.describe} | ${f.action.changing + f.action.describe - f.action.polls} ≤ ${4 + 3 * f.regions}: ${f.action.changing + f.action.describe - f.action.polls <= 4 + 3 * f.regions ? 'met' : '**not met**'} |`
      )
    }
    lines.push('')
  }
  if (r.wait) {
    const w = r.wait
    lines.push(
      '## 3. Wait',
      '',
      `One image pending ${w.pendingS} s. Poll schedule: ${w.schedule}.`,
      '',
      '| noticed after available (s) | DescribeImages per minute, whole wait | per minute after the first minute | target |',
      '|---|---|---|---|',
      `| ${w.noticeS.toFixed(1)} | ${w.perMinute.toFixed(1)} | ${w.steadyPerMinute.toFixed(1)} | ≤ 10 s; ≤ 6 a minute |`,
      ''
    )
  }
  if (r.publish) {
    const operations = [...new Set(r.publish.runs.flatMap((run) => Object.keys(run.perRegion)))].sort()
    lines.push(
      '## 4. Publish',
      '',
      `An SSM parameter and a launch template in each of ${r.publish.regions} regions; SSM's check of an \`aws:ec2:image\` value takes 1 s at the front. Calls per region:`,
      '',
      `| publish of | wall (s) | ${operations.join(' | ')} |`,
      `|---|---|${operations.map(() => '---').join('|')}|`
    )
    for (const run of r.publish.runs)
      lines.push(
        `| ${run.what} | ${run.wallS.toFixed(1)} | ${operations.map((op) => String(Math.round((run.perRegion[op] ?? 0) * 10) / 10)).join(' | ')} |`
      )
    lines.push('')
  }
  if (r.prune) {
    lines.push(
      '## 5. Prune',
      '',
      'Every image matches and is older than `older-than`; `keep: 0`; none in use. The bound is the time the refill rates alone impose, regions in parallel: the plan is made whole before anything is retired, so first the describes of the in-use checks beyond the describe burst (one `DescribeImageAttribute` per candidate among them, since EC2 has no batch form of it) ÷ 20 per s, then the changes beyond the change burst ÷ 5 per s. Planning is the time until the first DeregisterImage: listing the images, the in-use checks, the plan. The action keeps a tenth of each burst in reserve, so its own floor is 1.025 × the bound at 1,000 images.',
      '',
      '| images per region × regions | wall (s) | of which planning (s) | bound (s) | wall ÷ bound (target ≤ 1.10) | changing calls per retired image (≤ 1.05) | throttled responses | failed calls |',
      '|---|---|---|---|---|---|---|---|'
    )
    for (const p of r.prune) {
      lines.push(
        `| ${p.perRegion} × ${p.regions} | ${p.wallS.toFixed(1)} | ${p.planS.toFixed(1)} | ${p.boundS.toFixed(1)} | ${p.boundS >= 10 ? (p.wallS / p.boundS).toFixed(2) : 'n/a (bound under 10 s: latency dominates)'} | ${(p.changing / p.retired).toFixed(3)} | ${p.throttled} | ${p.failed} |`
      )
    }
    lines.push(
      '',
      'EC2 calls per kind, per region:',
      '',
      '| images per region | ' + [...new Set(r.prune.flatMap((p) => Object.keys(p.perOperation)))].sort().join(' | ') + ' |'
    )
    const operations = [...new Set(r.prune.flatMap((p) => Object.keys(p.perOperation)))].sort()
    lines.push(`|---|${operations.map(() => '---').join('|')}|`)
    for (const p of r.prune)
      lines.push(`| ${p.perRegion} | ${operations.map((op) => ((p.perOperation[op] ?? 0) / p.regions).toFixed(0)).join(' | ')} |`)
    lines.push('')
  }
  if (r.accounts) {
    const [one, ...more] = r.accounts
    lines.push(
      '## 6. Release into target accounts',
      '',
      'build, copy, wait, tag with `target-accounts`: the build account builds in us-east-1 and copies to 3 regions; each target account gets a copy of its own in all 4 (assumed role, grants on the source, CopyImage, wait, grants taken back). Images stay pending 5 s; every account and region has its own token buckets, as on EC2.',
      '',
      'Each row is the median of three runs (every run’s wall time in the second column): the double shares the 2-core machine with the step, so a copy made a moment late can miss a poll and wait for the next.',
      '',
      '| target accounts × regions | wall (s), median (runs) | wall ÷ 1 account (target ≤ 1.2) | calls per target account-region: most / fewest (changing, most) | build account calls | AssumeRole | throttled responses |',
      '|---|---|---|---|---|---|---|'
    )
    for (const a of r.accounts)
      lines.push(
        `| ${a.accounts} × ${a.regions} | ${a.wallS.toFixed(1)} (${(a.walls ?? [a.wallS]).map((w) => w.toFixed(1)).join(', ')}) | ${one ? (a.wallS / one.wallS).toFixed(2) : '—'} | ${a.perAccountRegion.most} / ${a.perAccountRegion.fewest} (${a.perAccountRegion.changing}) | ${a.buildAccount} | ${a.assumeRole} | ${a.throttled} |`
      )
    if (more.length === 0) lines.push('', 'Only one account count was measured.')
    lines.push('')
  }
  return lines.join('\n')
}
