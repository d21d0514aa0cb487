// npm run demo: the main job on a local EC2 API. Starts moto (and the front that gives it EC2's
// pending states and rules), launches a builder instance, seeds three older releases in three
// regions — one of them still used by an instance — then runs the bundled action exactly as the
// runner would: build, copy to two regions, wait, tag, and prune the releases that are due.
import { CopyImageCommand, CreateImageCommand, EC2Client, RunInstancesCommand, type Tag } from '@aws-sdk/client-ec2'
import { startFront } from '../__tests__/support/ec2-front.ts'
import { launchBuilder } from '../__tests__/support/ec2-env.ts'
import { startMoto } from '../__tests__/support/moto.ts'
import { runAction } from '../__tests__/support/runner.ts'

const SOURCE = 'us-east-1'
const COPIES = ['us-west-2', 'eu-west-1']
const DAY = 86_400_000

const moto = await startMoto()
const front = await startFront(moto.endpoint, { pendingMs: 4000 })
try {
  heading(`Local EC2 API: moto at ${moto.endpoint}, behind the front at ${front.endpoint}`)
  const builder = await launchBuilder(front.endpoint, SOURCE)
  console.log(`Builder instance ${builder} is running in ${SOURCE}.`)

  const inUse = await seedOlderReleases(builder)
  console.log(`Instance ${inUse.instanceId} runs web-1.0.0 in ${SOURCE}, so prune must keep that image there.`)

  heading('Running the action: node dist/index.js, as the runner does')
  const result = await runAction(
    {
      mode: 'build, copy, wait, tag, prune',
      'instance-id': builder,
      name: 'web-2.0.0',
      description: 'Web server 2.0.0',
      regions: COPIES.join(', '),
      tags: 'App=web\nVersion=2.0.0',
      'prune-name': 'web-*',
      'prune-tags': 'App=web',
      keep: '2',
      'older-than': '7d'
    },
    {
      echo: true,
      env: {
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: SOURCE,
        AWS_ENDPOINT_URL_EC2: front.endpoint,
        AWS_EC2_METADATA_DISABLED: 'true',
        GITHUB_REPOSITORY: 'acme/web-images',
        GITHUB_RUN_ID: '7001',
        GITHUB_RUN_ATTEMPT: '1',
        GITHUB_SHA: '3f2c1a9e8d7b6a5c4f3e2d1c0b9a8f7e6d5c4b3a',
        GITHUB_REF: 'refs/tags/v2.0.0',
        GITHUB_WORKFLOW: 'Release image'
      }
    }
  )

  heading('Outputs')
  for (const [name, value] of Object.entries(result.outputs)) console.log(`${name} = ${value}`)
  heading('Job summary')
  console.log(result.summary)
  console.log(
    `\nThe step ${result.exitCode === 0 ? 'succeeded' : `failed (exit code ${result.exitCode})`}; ${front.calls.length} EC2 calls went through the front.`
  )
  process.exitCode = result.exitCode ?? 1
} finally {
  await front.stop()
  await moto.stop()
}

/**
 * Three older releases, made the way the action makes them (tags at creation, copies in every
 * region), dated 40, 25 and 10 days ago, and an instance still running the oldest.
 */
async function seedOlderReleases(builder: string): Promise<{ instanceId: string }> {
  const clients = new Map([SOURCE, ...COPIES].map((region) => [region, client(region)]))
  const ages: [string, number][] = [
    ['web-1.0.0', 40],
    ['web-1.1.0', 25],
    ['web-1.2.0', 10]
  ]
  front.configure({ pendingMs: 0 })
  let oldest = ''
  for (const [name, days] of ages) {
    const tags: Tag[] = [
      { Key: 'App', Value: 'web' },
      { Key: 'Version', Value: name.slice(4) }
    ]
    const specs = [
      { ResourceType: 'image' as const, Tags: tags },
      { ResourceType: 'snapshot' as const, Tags: tags }
    ]
    const made = await clients.get(SOURCE)!.send(new CreateImageCommand({ InstanceId: builder, Name: name, TagSpecifications: specs }))
    const created = new Date(Date.now() - days * DAY).toISOString()
    front.setCreationDate(made.ImageId!, SOURCE, created)
    oldest ||= made.ImageId!
    for (const region of COPIES) {
      const copy = await clients
        .get(region)!
        .send(new CopyImageCommand({ SourceImageId: made.ImageId, SourceRegion: SOURCE, Name: name, TagSpecifications: specs }))
      front.setCreationDate(copy.ImageId!, region, created)
    }
    console.log(`Seeded release ${name} (${days} days old) in ${[SOURCE, ...COPIES].join(', ')}.`)
  }
  front.configure({ pendingMs: 4000 })
  const run = await clients
    .get(SOURCE)!
    .send(new RunInstancesCommand({ ImageId: oldest, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))
  for (const c of clients.values()) c.destroy()
  return { instanceId: run.Instances![0]!.InstanceId! }
}

function client(region: string): EC2Client {
  return new EC2Client({ region, endpoint: front.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } })
}

function heading(text: string): void {
  console.log(`\n=== ${text} ===\n`)
}
