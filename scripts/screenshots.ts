// npm run screenshots: pictures of real job summaries for docs/screenshots.md. Runs the bundled
// action as the runner does, against moto behind the EC2 double — a release, a staged prune that
// keeps images in use, the deregister stage with what it saves, and a step refused for a mistyped
// region — renders each summary as GitHub
// renders Markdown (marked, GitHub's markdown CSS), and takes a full-page picture with headless
// Chromium (`apt-get install chromium`; CHROMIUM names another binary). Re-run it whenever the
// summary changes.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { marked } from 'marked'
import puppeteer from 'puppeteer-core'
import { CreateLaunchTemplateCommand, DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2'
import { launchBuilder } from '../test/support/ec2-env.ts'
import { releaseRunEnv, runAction, type StepResult } from '../test/support/runner.ts'
import { seedImage } from '../test/support/seed.ts'
import { startFront, startMoto } from '../tools/ec2-double/index.ts'

const ROOT = join(import.meta.dirname, '..')
const OUT = join(ROOT, 'docs', 'screenshots')
const REGION = 'us-east-1'
const COPIES = ['us-west-2', 'eu-west-1']

const moto = await startMoto()
const front = await startFront(moto.endpoint, { pendingMs: 2000 })
const env = releaseRunEnv(front.endpoint, REGION)
const summaries: Record<string, StepResult> = {}
try {
  const builder = await launchBuilder(front.endpoint, REGION)
  const ec2 = new EC2Client({
    region: REGION,
    endpoint: front.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
  })
  const old = []
  try {
    for (const [name, days] of [
      ['web-1.0.0', 60],
      ['web-1.1.0', 45],
      ['web-1.2.0', 30],
      ['web-1.3.0', 20]
    ] as const)
      old.push(await seedImage(front, REGION, builder, name, days, { App: 'web' }))
    await ec2.send(new RunInstancesCommand({ ImageId: old[1]!.imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))
    // What each old release's snapshot holds (moto reports no size), and a Recycle Bin that keeps
    // deregistered images and deleted snapshots for a week.
    const sizes = [7.6, 7.9, 8.3, 8.4]
    const { Images } = await ec2.send(new DescribeImagesCommand({ ImageIds: old.map((image) => image.imageId) }))
    for (const image of Images ?? []) {
      const at = old.findIndex((o) => o.imageId === image.ImageId)
      const snapshot = image.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId
      if (snapshot) front.setSnapshot(snapshot, REGION, { fullSizeBytes: Math.round((sizes[at] ?? 8) * 2 ** 30) })
    }
    front.recycleBinRule('123456789012', REGION, { resourceType: 'EC2_IMAGE', retentionDays: 7, description: 'a week to undo' })
    front.recycleBinRule('123456789012', REGION, { resourceType: 'EBS_SNAPSHOT', retentionDays: 7, description: 'a week to undo' })
  } finally {
    ec2.destroy()
  }
  // A launch template 'web' in every region (names are per region), launching the previous release.
  for (const region of [REGION, ...COPIES]) {
    const client = new EC2Client({ region, endpoint: front.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } })
    const previous = region === REGION ? old[3]!.imageId : 'ami-04681a1dbd79675a5'
    await client.send(
      new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web', LaunchTemplateData: { ImageId: previous, InstanceType: 't3.small' } })
    )
    client.destroy()
  }
  summaries.release = await runAction(
    {
      mode: 'build, copy, wait, tag, publish',
      'instance-id': builder,
      name: 'web-2.0.0',
      description: 'Web server 2.0.0',
      regions: COPIES.join(', '),
      tags: 'App=web\nVersion=2.0.0',
      'share-accounts': '444455556666',
      'deprecate-after': '365d',
      'ssm-parameter': '/images/web/latest',
      'launch-template': 'web'
    },
    { env }
  )
  summaries.savings = await runAction(
    { mode: 'prune', 'prune-name': 'web-*', 'prune-tags': 'App=web', keep: '2', 'older-than': '14d', 'dry-run': 'true' },
    { env }
  )
  summaries.prune = await runAction(
    { mode: 'prune', 'prune-name': 'web-*', 'prune-tags': 'App=web', keep: '2', 'older-than': '14d', retire: 'disable' },
    { env }
  )
  summaries.failure = await runAction(
    { mode: 'build, copy', 'instance-id': builder, name: 'web-2.0.1', regions: 'us-west-2, eu-wset-1' },
    { env }
  )
} finally {
  await front.stop()
  await moto.stop()
}

const css = readFileSync(join(ROOT, 'node_modules', 'github-markdown-css', 'github-markdown-light.css'), 'utf8')
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu']
})
try {
  for (const [name, result] of Object.entries(summaries)) {
    writeFileSync(join(OUT, `${name}.md`), result.summary)
    const page = await browser.newPage()
    await page.setViewport({ width: 1100, height: 100, deviceScaleFactor: 1 })
    const body = await marked.parse(alerts(result.summary))
    await page.setContent(
      `<!doctype html><meta charset="utf-8"><style>${css} body{margin:0;background:#fff} .markdown-body{box-sizing:border-box;max-width:1100px;padding:24px 32px} .alert{border-left:4px solid #d1242f;padding:0 12px;color:#1f2328} .alert.note{border-color:#0969da} td:nth-child(-n+2){white-space:nowrap}</style><article class="markdown-body">${body}</article>`,
      { waitUntil: 'load' }
    )
    await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true })
    await page.close()
    console.log(`docs/screenshots/${name}.png (exit code ${result.exitCode})`)
  }
} finally {
  await browser.close()
}

/** GitHub's alerts (> [!CAUTION]) as marked leaves them: a quote, marked by the alert's colour. */
function alerts(markdown: string): string {
  return markdown.replace(/^> \[!(CAUTION|NOTE)\]\n((?:> .*\n?)+)/gm, (_, kind: string, text: string) => {
    const lines = text.replace(/^> /gm, '').trim()
    return `<div class="alert ${kind.toLowerCase()}">\n\n**${kind === 'NOTE' ? 'Note' : 'Caution'}:** ${lines}\n\n</div>\n`
  })
}
