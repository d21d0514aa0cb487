// The IAM policies the README recommends, one per workflow (docs/iam/*.json): each parses as an IAM
// policy; together they grant every AWS action the code can send; and each grants every action its
// workflow actually sent, in runs of the README's workflows against the double (both stages of the
// cleanup, a shared image, and the in-use checks' fallback when DescribeImageReferences is refused).
// Only actions are compared: resources and conditions are IAM's to evaluate, and are explained
// beside the files.
import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { inspector, launchBuilder } from '../support/ec2-env.ts'
import { seedImage, shareImage } from '../support/seed.ts'
import { runAgainst } from '../support/step.ts'
import { useWorld } from '../support/world.ts'
import type { Given } from '../support/step.ts'

const ROOT = new URL('../..', import.meta.url).pathname
const IAM = join(ROOT, 'docs/iam')

interface Statement {
  Sid: string
  Effect: 'Allow' | 'Deny'
  Action: string | string[]
  Resource: string | string[]
  Condition?: Record<string, Record<string, string | string[]>>
}
interface Policy {
  Version: string
  Statement: Statement[]
}

const policies = new Map(
  readdirSync(IAM)
    .filter((file) => file.endsWith('.json'))
    .map((file) => [file.replace(/\.json$/, ''), JSON.parse(readFileSync(join(IAM, file), 'utf8')) as Policy])
)
const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value])

/** Whether an Allow statement of the policy names the action (IAM's `*` and `?` wildcards, case-insensitive). */
function grants(policy: Policy, action: string): boolean {
  return policy.Statement.some(
    (statement) =>
      statement.Effect === 'Allow' &&
      list(statement.Action).some((pattern) =>
        new RegExp(
          `^${pattern
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')
            .replace(/\?/g, '.')}$`,
          'i'
        ).test(action)
      )
  )
}

const PREFIXES: Record<string, string> = {
  'client-ec2': 'ec2',
  'client-ssm': 'ssm',
  'client-auto-scaling': 'autoscaling',
  'client-kms': 'kms',
  'client-rbin': 'rbin'
}

/**
 * Every SDK command src/ can send, as IAM actions (ec2:CopyImage, ssm:PutParameter, …): each
 * `new XCommand(` in a file, of the SDK package the file imports (statically or lazily) that has it.
 */
async function actionsInCode(): Promise<Set<string>> {
  const sdks = new Map<string, Record<string, unknown>>()
  for (const pkg of Object.keys(PREFIXES)) {
    // An older CommonJS SDK (client-rbin) shows its exports on default only.
    const sdk = (await import(`@aws-sdk/${pkg}`)) as Record<string, unknown> & { default?: Record<string, unknown> }
    sdks.set(pkg, { ...sdk.default, ...sdk })
  }
  const found = new Set<string>()
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8')
        const imported = [...new Set([...text.matchAll(/'@aws-sdk\/(client-[a-z0-9-]+)'/g)].map((m) => m[1]!))].filter(
          (pkg) => pkg in PREFIXES
        )
        for (const [, command] of text.matchAll(/new ([A-Z]\w+)Command\(/g)) {
          const owners = imported.filter((pkg) => `${command}Command` in sdks.get(pkg)!)
          if (owners.length !== 1) throw new Error(`${path}: ${command}Command is in ${owners.length} of the SDK packages it imports`)
          found.add(`${PREFIXES[owners[0]!]}:${command}`)
        }
      }
    }
  }
  walk(join(ROOT, 'src'))
  return found
}

describe('the IAM policies in docs/iam', () => {
  it('are the three workflows and the target accounts’ role, each a valid IAM policy document with unique statement ids', () => {
    expect([...policies.keys()].sort()).toEqual(['cleanup', 'release', 'rollback', 'target-account'])
    for (const [name, policy] of policies) {
      expect([name, policy.Version]).toEqual([name, '2012-10-17'])
      const sids = policy.Statement.map((s) => s.Sid)
      expect(new Set(sids).size).toBe(sids.length)
      for (const statement of policy.Statement) {
        expect(Object.keys(statement).every((key) => ['Sid', 'Effect', 'Action', 'Resource', 'Condition'].includes(key))).toBe(true)
        expect(statement.Sid).toMatch(/^[A-Za-z0-9]+$/)
        expect(statement.Effect).toBe('Allow')
        for (const action of list(statement.Action)) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z*?]+$/)
        for (const resource of list(statement.Resource)) expect(resource).toMatch(/^(\*|arn:aws:[a-z0-9-]+:[a-z0-9*-]*:(\d{12})?:.+)$/)
      }
    }
  })

  it('together grant every action the code can send, and nothing else but what DescribeImageReferences reads for the caller', async () => {
    const code = await actionsInCode()
    expect(code).toContain('autoscaling:DescribeLaunchConfigurations')
    expect(code).toContain('ssm:PutParameter')
    const all = [...policies.values()]
    expect([...code].filter((action) => !all.some((policy) => grants(policy, action)))).toEqual([])
    // The builder statements serve the workflow's own steps (the AWS CLI), not the action.
    const granted = all.flatMap((policy) => policy.Statement.filter((s) => !s.Sid.startsWith('Builder')).flatMap((s) => list(s.Action)))
    // EC2 User Guide, "Identify your resources referencing specified AMIs": the caller needs these too.
    const onBehalf = ['imagebuilder:ListImageRecipes', 'imagebuilder:ListContainerRecipes', 'imagebuilder:GetContainerRecipe']
    const builder = ['ec2:DescribeInstances']
    // The SDK's credential provider assumes the target accounts' roles; EC2 uses a KMS key on the
    // caller's behalf when it copies an encrypted image (EC2 User Guide, "Copy an AMI").
    const viaSdk = ['sts:AssumeRole']
    const viaEc2 = ['kms:CreateGrant', 'kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncrypt*']
    const others = [...onBehalf, ...builder, ...viaSdk, ...viaEc2]
    expect([...new Set(granted)].filter((action) => !code.has(action) && !others.includes(action))).toEqual([])
  })
})

describe('each workflow of the README, run against the double, sends only what its policy grants', () => {
  const world = useWorld({ usageReportMs: 60_000 }, { virtual: true })
  const REGION = 'us-east-1'

  /** Where the calls of the step's own runs begin: what the test seeds is not the workflow's. */
  let from = 0
  const begin = (): void => void (from = world.front.calls.length)
  /** The IAM actions the step's runs sent. */
  const sent = (): string[] => [...new Set(world.front.calls.slice(from).map((call) => `${call.service ?? 'ec2'}:${call.action}`))].sort()

  const ungranted = (name: string): string[] => sent().filter((action) => !grants(policies.get(name)!, action))

  it('release: build, copy, wait, tag, publish', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    await seedLaunchTemplate()
    const release: Given = {
      mode: 'build, copy, wait, tag, publish',
      'instance-id': builder,
      name: 'web-1.0.0',
      regions: 'us-west-2, eu-west-1',
      tags: 'App=web',
      'share-accounts': '444455556666',
      'deprecate-after': '365d',
      'ssm-parameter': '/images/web/latest',
      'launch-template': 'web'
    }
    begin()
    const { failure } = await runAgainst(world.front, release)
    expect(failure).toBeUndefined()
    expect(sent()).toEqual(
      expect.arrayContaining(['ec2:CreateImage', 'ec2:CopyImage', 'ssm:PutParameter', 'ec2:CreateLaunchTemplateVersion'])
    )
    expect(ungranted('release')).toEqual([])
  })

  it('release into target accounts: the build account sends what release.json grants, each target what target-account.json grants', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    const targets = ['222233334444', '555566667777']
    for (const account of targets) world.front.role(account, 'ami-pipeline', { trusts: ['123456789012'] })
    begin()
    const { failure } = await runAgainst(world.front, {
      mode: 'build, copy, wait, tag, publish',
      'instance-id': builder,
      name: 'web-2.0.0',
      regions: 'us-west-2',
      tags: 'App=web',
      'target-accounts': targets.join(', '),
      'deprecate-after': '365d',
      'ssm-parameter': '/images/web/latest'
    })
    expect(failure).toBeUndefined()
    const calls = world.front.calls.slice(from)
    const actions = (account: (id: string) => boolean) =>
      [...new Set(calls.filter((call) => account(call.account)).map((call) => `${call.service ?? 'ec2'}:${call.action}`))].sort()
    const build = actions((id) => id === '123456789012')
    const inTargets = actions((id) => targets.includes(id))
    expect(build).toEqual(expect.arrayContaining(['sts:AssumeRole', 'ec2:ModifyImageAttribute', 'ec2:ModifySnapshotAttribute']))
    expect(inTargets).toEqual(expect.arrayContaining(['ec2:CopyImage', 'ssm:PutParameter', 'ec2:EnableImageDeprecation']))
    expect(build.filter((action) => !grants(policies.get('release')!, action))).toEqual([])
    expect(inTargets.filter((action) => !grants(policies.get('target-account')!, action))).toEqual([])
  })

  it('rollback: publish of an earlier release', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    await seedLaunchTemplate()
    const old = await seedImage(world.front, REGION, builder, 'web-0.9.0', 30, { App: 'web' })
    begin()
    const { failure } = await runAgainst(world.front, {
      mode: 'publish',
      'image-ids': JSON.stringify({ [REGION]: old.imageId }),
      'ssm-parameter': '/images/web/latest',
      'launch-template': 'web'
    })
    expect(failure).toBeUndefined()
    expect(ungranted('rollback')).toEqual([])
  })

  it('cleanup: both stages, a shared image, and the fallback without DescribeImageReferences', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    const images = []
    for (let i = 0; i < 6; i++) images.push(await seedImage(world.front, REGION, builder, `web-${i}`, 90 - i * 10, { App: 'web' }))
    await shareImage(world.front, images[0]!, '444455556666')
    begin()
    const prune = { mode: 'prune', 'prune-name': 'web-*', 'prune-tags': 'App=web', 'prune-regions': REGION, 'group-by': 'App', keep: '2' }
    for (const given of [
      { ...prune, retire: 'disable', 'dry-run': 'true' },
      { ...prune, retire: 'disable' },
      { ...prune, retire: 'deregister', 'only-disabled': 'true', 'older-than': '0d' },
      { ...prune, retire: 'deregister' }
    ]) {
      const { failure } = await runAgainst(world.front, given)
      expect(failure).toBeUndefined()
    }
    world.front.configure({ imageReferences: false })
    expect((await runAgainst(world.front, { ...prune, 'dry-run': 'true' })).failure).toBeUndefined()
    expect(sent()).toEqual(
      expect.arrayContaining([
        'ec2:DisableImage',
        'ec2:DeregisterImage',
        'ec2:CreateImageUsageReport',
        'ssm:DescribeParameters',
        'autoscaling:DescribeLaunchConfigurations'
      ])
    )
    expect(ungranted('cleanup')).toEqual([])
  })

  async function seedLaunchTemplate(): Promise<void> {
    const { CreateLaunchTemplateCommand } = await import('@aws-sdk/client-ec2')
    for (const region of [REGION, 'us-west-2', 'eu-west-1']) {
      const ec2 = inspector(world.front.endpoint, region)
      try {
        await ec2.send(
          new CreateLaunchTemplateCommand({
            LaunchTemplateName: 'web',
            LaunchTemplateData: { InstanceType: 't3.micro' },
            TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'App', Value: 'web' }] }]
          })
        )
      } finally {
        ec2.destroy()
      }
    }
  }
})
