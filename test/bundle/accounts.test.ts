// Many accounts from one step, through the bundle: the step assumes target-role in each target
// account (STS through the double, whose roles trust the build account), gives each what a
// cross-account copy needs, has each copy the image as its own in every region, takes the grants
// back, and publishes and prunes in each; and the other way round, a job in a target account
// copying an image shared with it.
import { describe, expect, it } from '@jest/globals'
import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotAttributeCommand,
  ModifySnapshotAttributeCommand,
  type EC2Client,
  type Image
} from '@aws-sdk/client-ec2'
import { accountInspector, inspector, ownImages, snapshotIdsOf, tagsOf } from '../support/ec2-env.ts'
import { runAction, type StepResult } from '../support/runner.ts'
import { seedImage, shareImage } from '../support/seed.ts'
import { awsEnv, launchBuilder, useWorld } from '../support/world.ts'

const world = useWorld({ pendingMs: 300, usageReportMs: 0 })
const BUILD = '123456789012'
const B = '222222222222'
const C = '333333333333'
const SOURCE = 'us-east-1'
const OTHER = 'us-west-2'

function env(attempt = '1'): Record<string, string> {
  return {
    ...awsEnv(world, SOURCE),
    AWS_EC2_METADATA_DISABLED: 'true',
    GITHUB_REPOSITORY: 'acme/images',
    GITHUB_RUN_ID: '5150',
    GITHUB_RUN_ATTEMPT: attempt,
    GITHUB_SHA: 'abcdef0123456789',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_WORKFLOW: 'release'
  }
}

/** Every target account trusts the build account's credentials with its ami-pipeline role. */
function roles(...accounts: string[]): void {
  for (const account of accounts) world.front.role(account, 'ami-pipeline', { trusts: [BUILD] })
}

/** The account's images as EC2 describes them (through the front, which reports a copy's source). */
async function imagesOf(account: string, region: string): Promise<Image[]> {
  world.front.role(account, 'inspector', { trusts: [BUILD] })
  const client = await accountInspector(world.front.endpoint, region, account, 'inspector')
  try {
    return (await client.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []
  } finally {
    client.destroy()
  }
}

async function withClient<T>(region: string, work: (client: EC2Client) => Promise<T>): Promise<T> {
  const client = inspector(world.moto.endpoint, region)
  try {
    return await work(client)
  } finally {
    client.destroy()
  }
}

const accountIds = (result: StepResult) => JSON.parse(result.outputs['account-image-ids'] ?? '{}') as Record<string, Record<string, string>>
const changes = (action: string) => world.front.calls.filter((call) => call.action === action && call.status < 400)

async function release(attempt = '1', extra: Record<string, string> = {}): Promise<StepResult> {
  const builder = await launchBuilder(world.moto.endpoint)
  return runAction(
    {
      mode: 'build, copy, wait, tag',
      'instance-id': builder,
      name: 'web-3.0.0',
      regions: OTHER,
      tags: 'App=web',
      'target-accounts': `${B}, ${C}`,
      ...extra
    },
    { env: env(attempt) }
  )
}

describe('a release into target accounts, through the bundle', () => {
  it('gives each target account its own tagged copy in every region and takes the grants back', async () => {
    roles(B, C)
    const result = await release()
    expect(result.errors).toEqual([])
    expect(result.exitCode).toBe(0)
    const source = result.outputs['image-id']!
    const byAccount = accountIds(result)
    expect(Object.keys(byAccount).sort()).toEqual([B, C])
    for (const account of [B, C]) {
      expect(Object.keys(byAccount[account]!).sort()).toEqual([SOURCE, OTHER].sort())
      for (const region of [SOURCE, OTHER]) {
        const images = await imagesOf(account, region)
        expect(images.map((image) => image.ImageId)).toEqual([byAccount[account]![region]])
        const [copy] = images
        expect(copy!.OwnerId).toBe(account)
        expect(copy!.Name).toBe('web-3.0.0')
        expect(copy!.SourceImageId).toBe(source)
        expect(tagsOf(copy!)).toMatchObject({ App: 'web', 'ami-pipeline:run-id': '5150', 'ami-pipeline:source-image': source })
      }
    }
    // The grants are gone, and so is their marker.
    const [sourceImage] = (await ownImages(world.moto.endpoint, SOURCE)).filter((image) => image.ImageId === source)
    expect(Object.keys(tagsOf(sourceImage!)).filter((key) => key.startsWith('ami-pipeline:granted-to'))).toEqual([])
    await withClient(SOURCE, async (client) => {
      const launch = await client.send(new DescribeImageAttributeCommand({ ImageId: source, Attribute: 'launchPermission' }))
      expect(launch.LaunchPermissions ?? []).toEqual([])
      for (const snapshotId of snapshotIdsOf(sourceImage!)) {
        const volumes = await client.send(
          new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' })
        )
        expect(volumes.CreateVolumePermissions ?? []).toEqual([])
      }
    })
    expect(result.summary).toContain(`### Account ${B}`)
    expect(result.summary).toContain('### Permissions given for copying into target accounts')
    expect(result.summary).toMatch(new RegExp(`\\| ${B} \\| .*${source}.* \\| given \\| .* \\| taken back \\|`))
    const manifest = JSON.parse(result.manifest!) as { grants: { account: string; outcome: string }[]; accounts: Record<string, unknown> }
    expect(manifest.grants.map((grant) => [grant.account, grant.outcome])).toEqual([
      [B, 'taken back'],
      [C, 'taken back']
    ])
    expect(Object.keys(manifest.accounts).sort()).toEqual([B, C])

    // Attempt 2 of the same run makes no copy anywhere, and reports the same images.
    const copiesBefore = changes('CopyImage').length
    const again = await release('2')
    expect(again.errors).toEqual([])
    expect(changes('CopyImage').length).toBe(copiesBefore)
    expect(accountIds(again)).toEqual(byAccount)
  }, 120_000)

  it('fails before anything changes when a role cannot be assumed, naming the account and the role', async () => {
    roles(B)
    const result = await release()
    expect(result.exitCode).not.toBe(0)
    expect(result.errors.join('\n')).toContain(`Could not assume arn:aws:iam::${C}:role/ami-pipeline in account ${C}`)
    expect(result.errors.join('\n')).toContain('trust policy')
    expect(world.front.changingCalls().filter((call) => call.service !== 'sts' && call.status < 400)).toEqual([])
    expect(await imagesOf(B, SOURCE)).toEqual([])
  }, 60_000)

  it('refuses a source encrypted with the AWS managed key before any grant or copy', async () => {
    roles(B)
    const builder = await launchBuilder(world.moto.endpoint)
    const plain = await seedImage(world.front, SOURCE, builder, 'web-plain', 1, { App: 'web' })
    // An encrypted copy within the build account: the default key (aws/ebs).
    const made = await runAction({ mode: 'copy', 'image-id': plain.imageId, regions: OTHER, encrypted: 'true' }, { env: env() })
    expect(made.errors).toEqual([])
    const encrypted = (JSON.parse(made.outputs['image-ids']!) as Record<string, string>)[OTHER]!
    const before = world.front.calls.length
    const result = await runAction(
      { mode: 'copy', region: OTHER, 'image-id': encrypted, 'target-accounts': B },
      { env: { ...env(), AWS_REGION: OTHER } }
    )
    expect(result.exitCode).not.toBe(0)
    expect(result.errors.join('\n')).toContain('AWS managed key aws/ebs')
    const after = world.front.calls.slice(before)
    expect(
      after.filter((call) => ['CopyImage', 'ModifyImageAttribute', 'ModifySnapshotAttribute', 'CreateTags'].includes(call.action))
    ).toEqual([])
  }, 60_000)

  it('refuses, before any grant or copy, a source key that one target account may not use', async () => {
    roles(B, C)
    const key = world.front.kmsKey(BUILD, OTHER, { usableBy: [B] })
    const builder = await launchBuilder(world.moto.endpoint)
    const plain = await seedImage(world.front, SOURCE, builder, 'web-cmk', 1, { App: 'web' })
    const made = await runAction({ mode: 'copy', 'image-id': plain.imageId, regions: OTHER, 'kms-key-id': key }, { env: env() })
    expect(made.errors).toEqual([])
    const encrypted = (JSON.parse(made.outputs['image-ids']!) as Record<string, string>)[OTHER]!
    const before = world.front.calls.length
    const result = await runAction(
      { mode: 'copy', region: OTHER, 'image-id': encrypted, 'target-accounts': `${B} ${C}` },
      { env: { ...env(), AWS_REGION: OTHER } }
    )
    expect(result.exitCode).not.toBe(0)
    expect(result.errors.join('\n')).toContain(`${C} may not use ${key}`)
    expect(result.errors.join('\n')).not.toContain(`${B} may not use`)
    const after = world.front.calls.slice(before)
    expect(
      after.filter((call) => ['CopyImage', 'ModifyImageAttribute', 'ModifySnapshotAttribute', 'CreateTags'].includes(call.action))
    ).toEqual([])
  }, 60_000)

  it('publishes each account’s own copy to its own parameter and prunes in each account', async () => {
    roles(B, C)
    const first = await release('1', { name: 'web-1' })
    expect(first.errors).toEqual([])
    const builder = await launchBuilder(world.moto.endpoint)
    const second = await runAction(
      {
        mode: 'build, copy, publish, prune',
        'instance-id': builder,
        name: 'web-2',
        regions: OTHER,
        tags: 'App=web',
        'target-accounts': `${B}, ${C}`,
        'ssm-parameter': '/images/web/latest',
        'prune-tags': 'App=web',
        keep: '1'
      },
      { env: { ...env(), GITHUB_RUN_ID: '5151' } }
    )
    expect(second.errors).toEqual([])
    const old = accountIds(first)
    const now = accountIds(second)
    for (const account of [B, C]) {
      for (const region of [SOURCE, OTHER]) {
        const left = (await imagesOf(account, region)).map((image) => image.ImageId)
        expect(left).toEqual([now[account]![region]])
        expect(left).not.toContain(old[account]![region])
      }
    }
    expect(second.summary).toContain(`### Account ${C}`)
    // Each account's savings are in the manifest: two retired copies of the double's default 6 GiB.
    const manifest = JSON.parse(second.manifest!) as { accounts: Record<string, { savings: unknown }> }
    expect(manifest.accounts[B]!.savings).toEqual({
      gib: 12,
      'usd-per-month': 0.6,
      regions: { [SOURCE]: { gib: 6, 'usd-per-month': 0.3 }, [OTHER]: { gib: 6, 'usd-per-month': 0.3 } }
    })
    expect(second.summary).toMatch(/#### Prune plan: 2 to retire, 2 kept/)
    // Each account's parameter names that account's own copy.
    const published = world.front.calls.filter((call) => call.service === 'ssm' && call.action === 'PutParameter' && call.status < 400)
    for (const account of [B, C])
      for (const region of [SOURCE, OTHER])
        expect(
          published.some((call) => call.account === account && call.region === region && call.params.Value === now[account]![region])
        ).toBe(true)
  }, 180_000)
})

describe('the other way round, through the bundle', () => {
  it('copies an image shared with this account as its own, in its region and the others', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    const shared = await seedImage(world.front, SOURCE, builder, 'golden-7', 1, { App: 'web' })
    await shareImage(world.front, shared, B)
    const [seeded] = (await ownImages(world.moto.endpoint, SOURCE)).filter((image) => image.ImageId === shared.imageId)
    await withClient(SOURCE, async (client) => {
      for (const SnapshotId of snapshotIdsOf(seeded!))
        await client.send(
          new ModifySnapshotAttributeCommand({ SnapshotId, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: [B] })
        )
    })
    // The job's credentials are account B's own (a session of a role there).
    world.front.role(B, 'workload-ci', { trusts: [BUILD] })
    const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts')
    const sts = new STSClient({
      region: SOURCE,
      endpoint: world.front.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
    })
    const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${B}:role/workload-ci`, RoleSessionName: 'job' }))
    sts.destroy()
    const result = await runAction(
      { mode: 'copy, wait', 'image-id': shared.imageId, regions: OTHER, tags: 'Team=payments' },
      {
        env: {
          ...env(),
          AWS_ACCESS_KEY_ID: Credentials!.AccessKeyId!,
          AWS_SECRET_ACCESS_KEY: Credentials!.SecretAccessKey!,
          AWS_SESSION_TOKEN: Credentials!.SessionToken!
        }
      }
    )
    expect(result.errors).toEqual([])
    const ids = JSON.parse(result.outputs['image-ids']!) as Record<string, string>
    expect(Object.keys(ids).sort()).toEqual([SOURCE, OTHER].sort())
    for (const region of [SOURCE, OTHER]) {
      const [copy, ...more] = await imagesOf(B, region)
      expect(more).toEqual([])
      expect(copy!.ImageId).toBe(ids[region])
      expect(copy!.SourceImageId).toBe(shared.imageId)
      expect(tagsOf(copy!)).toMatchObject({ Team: 'payments', 'ami-pipeline:source-image': shared.imageId })
    }
    expect(result.outputs['image-id']).toBe(ids[SOURCE])
  }, 60_000)
})
