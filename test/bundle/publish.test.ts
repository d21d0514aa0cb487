// Publishing a release, re-running it, and rolling back, the way a workflow runs them: the bundle,
// against moto through the front, which adds SSM's asynchronous check of aws:ec2:image and
// CreateLaunchTemplateVersion's SourceVersion and ClientToken.
import { describe, expect, it } from '@jest/globals'
import {
  CreateLaunchTemplateCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  type LaunchTemplateVersion
} from '@aws-sdk/client-ec2'
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { launchBuilder } from '../support/ec2-env.ts'
import { runAction, type StepResult } from '../support/runner.ts'
import { useWorld, awsEnv } from '../support/world.ts'

const world = useWorld()
const REGIONS = ['us-east-1', 'eu-west-1']
const PARAMETER = '/images/web/latest'
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' }

function env(run: { id: string; attempt?: string }): Record<string, string> {
  return {
    ...awsEnv(world),
    GITHUB_REPOSITORY: 'acme/images',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_RUN_ID: run.id,
    GITHUB_RUN_ATTEMPT: run.attempt ?? '1',
    GITHUB_WORKFLOW: 'release',
    GITHUB_REF: 'refs/heads/main'
  }
}

async function withEc2<T>(region: string, use: (client: EC2Client) => Promise<T>): Promise<T> {
  const client = new EC2Client({ region, endpoint: world.moto.endpoint, credentials })
  try {
    return await use(client)
  } finally {
    client.destroy()
  }
}

async function parameter(region: string): Promise<{ value?: string | undefined; version?: number | undefined }> {
  const client = new SSMClient({ region, endpoint: world.moto.endpoint, credentials })
  try {
    const { Parameter } = await client.send(new GetParameterCommand({ Name: PARAMETER }))
    return { value: Parameter?.Value, version: Parameter?.Version }
  } catch {
    return {}
  } finally {
    client.destroy()
  }
}

/** A launch template 'web' in the region, version 1 launching a stock image as a t3.small with a key pair. */
async function template(region: string): Promise<string> {
  return withEc2(region, async (client) => {
    const made = await client.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'web',
        LaunchTemplateData: { ImageId: 'ami-0aaaaaaaaaaaaaaaa', InstanceType: 't3.small', KeyName: 'ops' }
      })
    )
    return made.LaunchTemplate!.LaunchTemplateId!
  })
}

/** Every version of the template, through the front (which knows what SourceVersion made). */
async function versions(region: string, templateId: string): Promise<LaunchTemplateVersion[]> {
  const client = new EC2Client({ region, endpoint: world.front.endpoint, credentials })
  try {
    const { LaunchTemplateVersions } = await client.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId }))
    return (LaunchTemplateVersions ?? []).sort((a, b) => a.VersionNumber! - b.VersionNumber!)
  } finally {
    client.destroy()
  }
}

function release(name: string, builder: string): Record<string, string> {
  return {
    mode: 'build, copy, wait, tag, publish',
    'instance-id': builder,
    name,
    regions: 'eu-west-1',
    'ssm-parameter': PARAMETER,
    'launch-template': 'web'
  }
}

function changes(from: number, action: string): number {
  return world.front.calls.slice(from).filter((call) => call.action === action).length
}

function ids(step: StepResult): Record<string, string> {
  return JSON.parse(step.outputs['image-ids']!) as Record<string, string>
}

describe('publish through the bundle', () => {
  it('points the parameter and a new default template version at the release in every region; a re-run changes nothing; publishing the earlier image-ids rolls back', async () => {
    const builder = await launchBuilder(world.front.endpoint)
    const templates = Object.fromEntries(await Promise.all(REGIONS.map(async (region) => [region, await template(region)] as const)))

    const first = await runAction(release('web-1', builder), { env: env({ id: '101' }) })
    expect(first.errors).toEqual([])
    const one = ids(first)
    expect(JSON.parse(first.outputs['launch-template-versions']!)).toEqual({ 'us-east-1': 2, 'eu-west-1': 2 })
    for (const region of REGIONS) {
      expect((await parameter(region)).value).toBe(one[region])
      const [v1, v2] = await versions(region, templates[region]!)
      // Only the image differs from the version it was made from.
      expect(v2!.LaunchTemplateData).toEqual({ ...v1!.LaunchTemplateData, ImageId: one[region] })
      expect(v2!.DefaultVersion).toBe(true)
    }
    expect(first.summary).toContain('### Published')
    expect(first.summary).toMatch(
      new RegExp(`\\| eu-west-1 \\| SSM parameter ${PARAMETER} \\| ${one['eu-west-1']} \\(version 1\\) \\| — \\|`)
    )
    expect(first.summary).toContain('| us-east-1 | launch template web (')

    // Attempt 2 of the same run: everything already points at the images.
    const before = world.front.calls.length
    const rerun = await runAction(release('web-1', builder), { env: env({ id: '101', attempt: '2' }) })
    expect(rerun.errors).toEqual([])
    expect(ids(rerun)).toEqual(one)
    expect(JSON.parse(rerun.outputs['launch-template-versions']!)).toEqual({ 'us-east-1': 2, 'eu-west-1': 2 })
    for (const action of ['PutParameter', 'CreateLaunchTemplateVersion', 'ModifyLaunchTemplate', 'CreateImage', 'CopyImage'])
      expect([action, changes(before, action)]).toEqual([action, 0])
    for (const region of REGIONS) expect(await parameter(region)).toEqual({ value: one[region], version: 1 })

    // The next release, then a rollback to the first by its image-ids.
    const second = await runAction(release('web-2', builder), { env: env({ id: '102' }) })
    expect(second.errors).toEqual([])
    const two = ids(second)
    expect(JSON.parse(second.outputs['launch-template-versions']!)).toEqual({ 'us-east-1': 3, 'eu-west-1': 3 })
    const rollback = await runAction(
      { mode: 'publish', 'image-ids': first.outputs['image-ids']!, 'ssm-parameter': PARAMETER, 'launch-template': 'web' },
      { env: env({ id: '103' }) }
    )
    expect(rollback.errors).toEqual([])
    expect(JSON.parse(rollback.outputs['launch-template-versions']!)).toEqual({ 'us-east-1': 4, 'eu-west-1': 4 })
    for (const region of REGIONS) {
      expect(await parameter(region)).toEqual({ value: one[region], version: 3 })
      const all = await versions(region, templates[region]!)
      expect(all.map((v) => [v.VersionNumber, v.LaunchTemplateData!.ImageId, v.DefaultVersion])).toEqual([
        [1, 'ami-0aaaaaaaaaaaaaaaa', false],
        [2, one[region], false],
        [3, two[region], false],
        [4, one[region], true]
      ])
      // The summary says what each pointed at before.
      expect(rollback.summary).toContain(`| ${region} | SSM parameter ${PARAMETER} | ${one[region]} (version 3) | ${two[region]} |`)
      expect(rollback.summary).toMatch(
        new RegExp(
          `\\| ${region} \\| launch template web \\(lt-\\w+\\) \\| version 4 \\(default\\): ${one[region]} \\| default version 3: ${two[region]} \\|`
        )
      )
    }
  })

  it('publishes once when every changing reply is lost: a retried PutParameter that meets its own put still being validated is confirmed, not refused', async () => {
    await Promise.all(REGIONS.map((region) => template(region)))
    const builder = await launchBuilder(world.front.endpoint)
    const made = await runAction(
      { mode: 'build, copy, wait', 'instance-id': builder, name: 'web-1', regions: 'eu-west-1' },
      { env: env({ id: '401' }) }
    )
    expect(made.errors).toEqual([])
    world.front.configure({
      faults: [{ actions: ['PutParameter', 'CreateLaunchTemplateVersion', 'ModifyLaunchTemplate'], lostReplyFirst: 1 }]
    })
    const before = world.front.calls.length
    const step = await runAction(
      { mode: 'publish', 'image-ids': made.outputs['image-ids']!, 'ssm-parameter': PARAMETER, 'launch-template': 'web' },
      { env: env({ id: '402' }) }
    )
    expect(step.errors).toEqual([])
    const images = ids(made)
    for (const region of REGIONS) {
      expect(await parameter(region)).toEqual({ value: images[region], version: 1 })
      // The SDK's retry of PutParameter was refused while the first put was being validated.
      const puts = world.front.calls.slice(before).filter((call) => call.action === 'PutParameter' && call.region === region)
      expect(puts.map((call) => call.status)).toEqual([500, 400])
    }
    expect(JSON.parse(step.outputs['launch-template-versions']!)).toEqual({ 'us-east-1': 2, 'eu-west-1': 2 })
  })

  it('refuses before any change when a region has no such launch template, naming the region', async () => {
    await template('us-east-1')
    const builder = await launchBuilder(world.front.endpoint)
    const made = await runAction(
      { mode: 'build, copy, wait', 'instance-id': builder, name: 'web-1', regions: 'eu-west-1' },
      { env: env({ id: '201' }) }
    )
    expect(made.errors).toEqual([])
    const before = world.front.calls.length
    const step = await runAction(
      { mode: 'publish', 'image-ids': made.outputs['image-ids']!, 'ssm-parameter': PARAMETER, 'launch-template': 'web' },
      { env: env({ id: '202' }) }
    )
    expect(step.exitCode).toBe(1)
    expect(step.errors.join('\n')).toMatch(/Nothing was published: launch-template: there is no launch template 'web' in eu-west-1/)
    expect(world.front.calls.slice(before).filter((call) => !/^(Describe|Get)/.test(call.action) && call.params.DryRun !== 'true')).toEqual(
      []
    )
    expect(await parameter('us-east-1')).toEqual({})
  })

  it('refuses a text parameter, which SSM cannot turn into aws:ec2:image, before any change', async () => {
    const client = new SSMClient({ region: 'us-east-1', endpoint: world.moto.endpoint, credentials })
    await client.send(new PutParameterCommand({ Name: PARAMETER, Value: 'ami-0aaaaaaaaaaaaaaaa', Type: 'String' }))
    client.destroy()
    const builder = await launchBuilder(world.front.endpoint)
    const made = await runAction({ mode: 'build, wait', 'instance-id': builder, name: 'web-1' }, { env: env({ id: '301' }) })
    const before = world.front.calls.length
    const step = await runAction(
      { mode: 'publish', 'image-id': made.outputs['image-id']!, 'ssm-parameter': PARAMETER },
      { env: env({ id: '302' }) }
    )
    expect(step.exitCode).toBe(1)
    expect(step.errors.join('\n')).toMatch(
      /ssm-parameter \/images\/web\/latest in us-east-1 is a String parameter of data type text, and SSM cannot turn it into an aws:ec2:image one/
    )
    expect(changes(before, 'PutParameter')).toBe(0)
  })
})
