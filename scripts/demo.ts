// npm run demo: the main job on a local EC2 API. Starts moto (and the front that gives it EC2's
// and SSM's rules), launches a builder instance, seeds four older releases in three regions — one
// still used by an instance, one disabled long ago — and a launch template in each region, then
// runs the bundled action exactly as the runner would: the release (build, copy to two regions,
// wait, tag, publish to an SSM parameter and the launch template, disable the releases that are
// due) — into two target accounts as well, each getting copies of its own — then the scheduled
// cleanup that deregisters what has been disabled for a month.
import {
  CopyImageCommand,
  CreateImageCommand,
  CreateLaunchTemplateCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  DisableImageCommand,
  EC2Client,
  RunInstancesCommand,
  type Tag
} from '@aws-sdk/client-ec2'
import { accountInspector, launchBuilder } from '../test/support/ec2-env.ts'
import { startFront, startMoto } from '../tools/ec2-double/index.ts'
import { releaseRunEnv, runAction, type StepResult } from '../test/support/runner.ts'

const SOURCE = 'us-east-1'
const COPIES = ['us-west-2', 'eu-west-1']
const DAY = 86_400_000
/** The workload accounts: each has a role named ami-pipeline that trusts the build account. */
const TARGETS = ['222233334444', '555566667777']
const BUILD_ACCOUNT = '123456789012'

const moto = await startMoto()
const front = await startFront(moto.endpoint, { pendingMs: 4000 })
try {
  heading(`Local AWS APIs: moto at ${moto.endpoint}, behind the front at ${front.endpoint}`)
  const builder = await launchBuilder(front.endpoint, SOURCE)
  console.log(`Builder instance ${builder} is running in ${SOURCE}.`)
  const seeded = await seedOlderReleases(builder)
  console.log(`Instance ${seeded.instanceId} runs web-1.0.0 in ${SOURCE}, so prune must keep that image there.`)
  console.log(`web-0.9.0 was disabled 40 days ago in every region: the scheduled cleanup deregisters it.`)
  console.log(`Launch template 'web' in ${[SOURCE, ...COPIES].join(', ')} launches web-1.2.0 (its version 1).`)
  await seedTargetAccounts()
  console.log(
    `Target accounts ${TARGETS.join(' and ')} each have a role ami-pipeline that trusts the build account ${BUILD_ACCOUNT}, and a launch template 'web' in every region.`
  )

  heading('The release: node dist/index.js, as the runner does')
  const release = await step({
    mode: 'build, copy, wait, tag, publish, prune',
    'instance-id': builder,
    name: 'web-2.0.0',
    description: 'Web server 2.0.0',
    regions: COPIES.join(', '),
    tags: 'App=web\nVersion=2.0.0',
    'ssm-parameter': '/images/web/latest',
    'launch-template': 'web',
    'target-accounts': TARGETS.join(', '),
    'prune-name': 'web-*',
    'prune-tags': 'App=web',
    keep: '2',
    'older-than': '7d',
    retire: 'disable'
  })

  heading('The scheduled cleanup: deregister what has been disabled for 30 days, and nothing else')
  const cleanup = await step({
    mode: 'prune',
    'prune-name': 'web-*',
    'prune-tags': 'App=web',
    'prune-regions': [SOURCE, ...COPIES].join(', '),
    keep: '2',
    'older-than': '30d',
    retire: 'deregister',
    'only-disabled': 'true'
  })

  const failed = [release, cleanup].find((result) => result.exitCode !== 0)
  console.log(
    `\nBoth steps ${failed ? `did not succeed (exit code ${failed.exitCode})` : 'succeeded'}; ${front.calls.length} EC2 and SSM calls went through the front.`
  )
  process.exitCode = failed ? (failed.exitCode ?? 1) : 0
} finally {
  await front.stop()
  await moto.stop()
}

/** Runs the bundle with the demo's environment, then prints its outputs and job summary. */
async function step(inputs: Record<string, string>): Promise<StepResult> {
  const result = await runAction(inputs, {
    echo: true,
    env: releaseRunEnv(front.endpoint, SOURCE)
  })
  heading('Outputs')
  for (const [name, value] of Object.entries(result.outputs)) console.log(`${name} = ${value}`)
  heading('Job summary')
  console.log(result.summary)
  return result
}

/**
 * Four older releases, made the way the action makes them (tags at creation, copies in every
 * region), dated 90, 40, 25 and 10 days ago; the oldest disabled 40 days ago by an earlier cleanup
 * (as its ami-pipeline:disabled-at tag says), an instance still running web-1.0.0, and a launch
 * template per region launching web-1.2.0.
 */
async function seedOlderReleases(builder: string): Promise<{ instanceId: string }> {
  const clients = new Map([SOURCE, ...COPIES].map((region) => [region, client(region)]))
  const ages: [string, number][] = [
    ['web-0.9.0', 90],
    ['web-1.0.0', 40],
    ['web-1.1.0', 25],
    ['web-1.2.0', 10]
  ]
  front.configure({ pendingMs: 0 })
  const byName = new Map<string, Map<string, string>>()
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
    const ids = new Map([[SOURCE, made.ImageId!]])
    for (const region of COPIES) {
      const copy = await clients
        .get(region)!
        .send(new CopyImageCommand({ SourceImageId: made.ImageId, SourceRegion: SOURCE, Name: name, TagSpecifications: specs }))
      front.setCreationDate(copy.ImageId!, region, created)
      ids.set(region, copy.ImageId!)
    }
    byName.set(name, ids)
    console.log(`Seeded release ${name} (${days} days old) in ${[SOURCE, ...COPIES].join(', ')}.`)
  }
  for (const [region, ec2] of clients) {
    const disabled = byName.get('web-0.9.0')!.get(region)!
    await ec2.send(new DisableImageCommand({ ImageId: disabled }))
    const at = new Date(Date.now() - 40 * DAY).toISOString()
    await ec2.send(new CreateTagsCommand({ Resources: [disabled], Tags: [{ Key: 'ami-pipeline:disabled-at', Value: at }] }))
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'web',
        LaunchTemplateData: { ImageId: byName.get('web-1.2.0')!.get(region)!, InstanceType: 't3.small' }
      })
    )
  }
  front.configure({ pendingMs: 4000 })
  const run = await clients
    .get(SOURCE)!
    .send(new RunInstancesCommand({ ImageId: byName.get('web-1.0.0')!.get(SOURCE)!, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))
  for (const c of clients.values()) c.destroy()
  return { instanceId: run.Instances![0]!.InstanceId! }
}

/** Each target account: the role the release assumes there, and its own launch template per region. */
async function seedTargetAccounts(): Promise<void> {
  for (const account of TARGETS) {
    front.role(account, 'ami-pipeline', { trusts: [BUILD_ACCOUNT] })
    for (const region of [SOURCE, ...COPIES]) {
      const ec2 = await accountInspector(front.endpoint, region, account, 'ami-pipeline')
      const stock = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))
      await ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: 'web',
          LaunchTemplateData: { ImageId: stock.Images![0]!.ImageId!, InstanceType: 't3.small' }
        })
      )
      ec2.destroy()
    }
  }
}

function client(region: string): EC2Client {
  return new EC2Client({ region, endpoint: front.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } })
}

function heading(text: string): void {
  console.log(`\n=== ${text} ===\n`)
}
