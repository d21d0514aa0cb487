// The front's behaviours for publishing and staged retirement — SSM through the front, aws:ec2:image
// validated after PutParameter answers, launch template versions from a SourceVersion, the default
// version, LastLaunchedTime, snapshot sharing and disabled images — pinned with the real SDK clients,
// one attempt each, so faults show instead of being retried. The front runs on a virtual clock: a
// test moves time on (or lets settled() move it to the last check) instead of waiting for it.
import { afterAll, describe, expect, it } from '@jest/globals'
import {
  CreateImageCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotAttributeCommand,
  DisableImageCommand,
  EnableImageCommand,
  EnableImageDeprecationCommand,
  ModifyImageAttributeCommand,
  ModifyLaunchTemplateCommand,
  ModifySnapshotAttributeCommand,
  type EC2Client,
  type Image
} from '@aws-sdk/client-ec2'
import { GetParameterCommand, GetParameterHistoryCommand, GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { inspector, launchBuilder, snapshotIdsOf, tagsOf } from '../support/ec2-env.ts'
import { virtualClock } from '../../tools/ec2-double/index.ts'
import { useWorld } from '../support/world.ts'

const clock = virtualClock()
const world = useWorld({ clock })
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' }
const clients = new Map<string, EC2Client>()
const client = (region = 'us-east-1'): EC2Client => {
  if (!clients.has(region)) clients.set(region, inspector(world.front.endpoint, region))
  return clients.get(region)!
}
const ssmClients = new Map<string, SSMClient>()
const ssm = (region = 'us-east-1'): SSMClient => {
  if (!ssmClients.has(region))
    ssmClients.set(region, new SSMClient({ region, endpoint: world.front.endpoint, credentials, maxAttempts: 1 }))
  return ssmClients.get(region)!
}
afterAll(() => {
  for (const c of [...clients.values(), ...ssmClients.values()]) c.destroy()
})

/** The image as DescribeImages lists it, once it is listed (a new image is not, for a moment). */
async function listed(imageId: string, extra: { IncludeDisabled?: boolean } = {}): Promise<Image> {
  for (let tries = 0; ; tries++) {
    const found = (await client().send(new DescribeImagesCommand({ ImageIds: [imageId], ...extra }))).Images?.[0]
    if (found || tries > 40) return found!
    clock.advance(100)
  }
}

/** A new image of this account, made by CreateImage through the front and listed. */
async function image(name: string): Promise<string> {
  const builder = await launchBuilder(world.moto.endpoint)
  const made = await client().send(new CreateImageCommand({ InstanceId: builder, Name: name }))
  await listed(made.ImageId!)
  return made.ImageId!
}

const parameter = async (Name: string) => (await ssm().send(new GetParameterCommand({ Name }))).Parameter
const putImage = (Name: string, Value: string, extra: { Overwrite?: boolean } = { Overwrite: true }) =>
  ssm().send(new PutParameterCommand({ Name, Value, Type: 'String', DataType: 'aws:ec2:image', ...extra }))

/** An EC2 query call the SDK cannot make, sent to the front as the SDK would send it. */
async function rawEc2(params: Record<string, string>): Promise<{ status: number; body: string }> {
  const response = await fetch(`${world.front.endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      authorization: 'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0'
    },
    body: new URLSearchParams({ Version: '2016-11-15', ...params }).toString()
  })
  return { status: response.status, body: await response.text() }
}

describe('the test front: SSM', () => {
  it('records SSM calls, forwards them to moto, and passes moto’s JSON errors back as they are', async () => {
    await ssm().send(new PutParameterCommand({ Name: '/app/colour', Value: 'blue', Type: 'String' }))
    expect((await parameter('/app/colour'))?.Value).toBe('blue')
    await expect(ssm().send(new GetParameterCommand({ Name: '/app/missing' }))).rejects.toMatchObject({ name: 'ParameterNotFound' })
    const calls = world.front.calls.filter((call) => call.service === 'ssm')
    expect(calls.map((call) => [call.action, call.status, call.errorCode])).toEqual([
      ['PutParameter', 200, undefined],
      ['GetParameter', 200, undefined],
      ['GetParameter', 400, 'ParameterNotFound']
    ])
    expect(calls[0]).toMatchObject({ params: { Name: '/app/colour', Value: 'blue', Type: 'String' }, input: { Name: '/app/colour' } })
  })

  it('throttles, fails and loses SSM replies as SSM answers them', async () => {
    world.front.configure({ faults: [{ actions: ['GetParameter'], throttleRate: 1 }] })
    await expect(ssm().send(new GetParameterCommand({ Name: '/x' }))).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 }
    })
    world.front.configure({ faults: [{ actions: ['GetParameters'], errorRate: 1 }] })
    await expect(ssm().send(new GetParametersCommand({ Names: ['/x'] }))).rejects.toMatchObject({
      name: 'InternalServerError',
      $metadata: { httpStatusCode: 500 }
    })
    // A lost reply: SSM stored the value; the client only hears of a 500.
    world.front.configure({ faults: [{ actions: ['PutParameter'], lostReplyFirst: 1 }] })
    await expect(ssm().send(new PutParameterCommand({ Name: '/app/lost', Value: 'v', Type: 'String' }))).rejects.toMatchObject({
      name: 'InternalServerError'
    })
    expect((await parameter('/app/lost'))?.Value).toBe('v')
    // SSM has buckets of its own: EC2 calls do not use up SSM's.
    world.front.configure({
      faults: [],
      buckets: { describe: { capacity: 1, refillPerSecond: 0.001 }, change: { capacity: 5, refillPerSecond: 1 } }
    })
    await client().send(new DescribeImagesCommand({ Owners: ['self'] }))
    expect((await parameter('/app/lost'))?.Value).toBe('v')
    await expect(ssm().send(new GetParameterCommand({ Name: '/app/lost' }))).rejects.toMatchObject({ name: 'ThrottlingException' })
  })

  it('answers an aws:ec2:image PutParameter at once, keeps the old value through the validation, then stores the new one', async () => {
    const [first, second] = [await image('published-1'), await image('published-2')]
    await putImage('/golden/web', first, {})
    await world.front.settled()
    const answer = await putImage('/golden/web', second)
    expect(answer).toMatchObject({ Version: 2, Tier: 'Standard' })
    // Default ssmValidationMs: a second passes before SSM has checked the value.
    expect(await parameter('/golden/web')).toMatchObject({ Value: first, Version: 1, DataType: 'aws:ec2:image' })
    expect((await ssm().send(new GetParametersCommand({ Names: ['/golden/web'] }))).Parameters?.[0]?.Value).toBe(first)
    expect((await ssm().send(new GetParameterHistoryCommand({ Name: '/golden/web' }))).Parameters?.map((p) => p.Value)).toEqual([first])
    await world.front.settled()
    expect(await parameter('/golden/web')).toMatchObject({ Value: second, Version: 2 })
    expect(world.front.state.parameters.validations).toEqual([
      { region: 'us-east-1', name: '/golden/web', value: first, version: 1, ok: true, storedVersion: 1 },
      { region: 'us-east-1', name: '/golden/web', value: second, version: 2, ok: true, storedVersion: 2 }
    ])
  })

  it('never stores an aws:ec2:image value that is malformed, unknown, pending, failed, disabled or deregistered', async () => {
    world.front.configure({ ssmValidationMs: 100, pendingMs: 60_000 })
    const pending = await image('pending-1')
    // Each refused value would otherwise hold the parameter for five minutes (the next test pins that).
    world.front.configure({ ssmValidationMs: 100, pendingMs: 0, ssmRetryAfterMs: 0 })
    const [good, failed, disabled, gone] = [
      await image('good-1'),
      await image('failed-1'),
      await image('disabled-1'),
      await image('gone-1')
    ]
    world.front.failImage(failed)
    await client().send(new DisableImageCommand({ ImageId: disabled }))
    await client().send(new DeregisterImageCommand({ ImageId: gone }))
    await putImage('/golden/app', good, {})
    await world.front.settled()
    const refused = ['ami-123', 'ami-0123456789abcdef0', pending, failed, disabled, gone]
    for (const value of refused) {
      // Each answered as a success with the version it would have had.
      expect((await putImage('/golden/app', value)).Version).toBeGreaterThan(1)
      await world.front.settled()
    }
    expect(await parameter('/golden/app')).toMatchObject({ Value: good, Version: 1 })
    expect(world.front.state.parameters.validations.slice(1).map((v) => [v.value, v.ok])).toEqual(refused.map((value) => [value, false]))
    expect(world.front.state.parameters.validations.slice(1).map((v) => v.reason)).toEqual([
      expect.stringMatching(/not an AMI id/),
      expect.stringMatching(/InvalidAMIID\.NotFound/),
      expect.stringMatching(/pending/),
      expect.stringMatching(/failed/),
      expect.stringMatching(/disabled/),
      expect.stringMatching(/not listed by DescribeImages/)
    ])
  })

  it('refuses at once a change to or from aws:ec2:image, a type other than String, and an existing parameter without Overwrite', async () => {
    world.front.configure({ ssmValidationMs: 50 })
    const id = await image('typed-1')
    await ssm().send(new PutParameterCommand({ Name: '/plain', Value: id, Type: 'String' }))
    await expect(putImage('/plain', id)).rejects.toMatchObject({ name: 'ValidationException' })
    await putImage('/golden/typed', id, {})
    await world.front.settled()
    await expect(
      ssm().send(new PutParameterCommand({ Name: '/golden/typed', Value: 'text', Type: 'String', DataType: 'text', Overwrite: true }))
    ).rejects.toMatchObject({ name: 'ValidationException' })
    // No DataType is the default, text: a change too.
    await expect(ssm().send(new PutParameterCommand({ Name: '/golden/typed', Value: id, Overwrite: true }))).rejects.toMatchObject({
      name: 'ValidationException'
    })
    await expect(
      ssm().send(new PutParameterCommand({ Name: '/golden/list', Value: id, Type: 'StringList', DataType: 'aws:ec2:image' }))
    ).rejects.toMatchObject({ name: 'ValidationException' })
    await expect(putImage('/golden/typed', id, {})).rejects.toMatchObject({ name: 'ParameterAlreadyExists' })
    // While a first put is still being validated, the parameter is taken to be aws:ec2:image already.
    await putImage('/golden/new', id, {})
    await expect(
      ssm().send(new PutParameterCommand({ Name: '/golden/new', Value: 'x', Type: 'String', Overwrite: true }))
    ).rejects.toMatchObject({ name: 'ValidationException' })
    await world.front.settled()
    expect((await parameter('/golden/new'))?.Value).toBe(id)
    expect((await parameter('/golden/typed'))?.Value).toBe(id)
  })

  it('refuses a put while another to the parameter is being validated, and for five minutes from one whose value failed', async () => {
    world.front.configure({ ssmValidationMs: 200, ssmRetryAfterMs: 1500 })
    const [a, c] = [await image('order-a'), await image('order-c')]
    expect((await putImage('/golden/order', a, {})).Version).toBe(1)
    const stillInProcess = { name: 'ValidationException', message: expect.stringMatching(/validation is still in process/) }
    // Any put, of either data type, while the first is validated.
    await expect(putImage('/golden/order', c)).rejects.toMatchObject(stillInProcess)
    await expect(ssm().send(new PutParameterCommand({ Name: '/golden/order', Value: 'x', Overwrite: true }))).rejects.toMatchObject(
      stillInProcess
    )
    await world.front.settled()
    const refusedAt = clock.now()
    expect((await putImage('/golden/order', 'ami-0000000000000000b')).Version).toBe(2)
    await world.front.settled()
    await expect(putImage('/golden/order', c)).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/try again after five minutes/)
    })
    clock.advance(Math.max(0, refusedAt + 1600 - clock.now()))
    expect((await putImage('/golden/order', c)).Version).toBe(2)
    await world.front.settled()
    expect(world.front.state.parameters.validations.map((v) => [v.value, v.version, v.ok])).toEqual([
      [a, 1, true],
      ['ami-0000000000000000b', 2, false],
      [c, 2, true]
    ])
    expect(await parameter('/golden/order')).toMatchObject({ Value: c, Version: 2 })
  })
})

describe('the test front: launch templates', () => {
  async function template(imageId: string): Promise<{ id: string; snapshot: string }> {
    const [snapshot] = snapshotIdsOf(await listed(imageId)) as [string]
    const made = await client().send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'web',
        LaunchTemplateData: {
          ImageId: imageId,
          InstanceType: 't3.micro',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshot, VolumeSize: 30 } }]
        }
      })
    )
    return { id: made.LaunchTemplate!.LaunchTemplateId!, snapshot }
  }
  const versionData = async (LaunchTemplateId: string, version: string) =>
    (await client().send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId, Versions: [version] }))).LaunchTemplateVersions?.[0]
      ?.LaunchTemplateData

  it('bases a version on its SourceVersion with only the image replaced, and every answer shows it so', async () => {
    const [old, next, last] = [await image('lt-old'), await image('lt-next'), await image('lt-last')]
    const { id, snapshot } = await template(old)
    const made = await client().send(
      new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, SourceVersion: '1', LaunchTemplateData: { ImageId: next } })
    )
    // Snapshots in inherited block device mappings are dropped (SourceVersion, EC2 API Reference).
    const expected = {
      ImageId: next,
      InstanceType: 't3.micro',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30 } }]
    }
    expect(made.LaunchTemplateVersion).toMatchObject({ VersionNumber: 2, LaunchTemplateData: expected })
    expect(await versionData(id, '2')).toEqual(expected)
    // A version based on a based version inherits through it.
    await client().send(
      new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, SourceVersion: '2', LaunchTemplateData: { ImageId: last } })
    )
    expect(await versionData(id, '3')).toEqual({ ...expected, ImageId: last })
    // Mappings given again keep their snapshots, and replace the inherited list whole.
    const mappings = [{ DeviceName: '/dev/xvdb', Ebs: { SnapshotId: snapshot, VolumeSize: 40 } }]
    await client().send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: id,
        SourceVersion: '1',
        LaunchTemplateData: { ImageId: last, BlockDeviceMappings: mappings }
      })
    )
    expect(await versionData(id, '4')).toEqual({ ImageId: last, InstanceType: 't3.micro', BlockDeviceMappings: mappings })
    // Without a SourceVersion, a version holds only what it is given.
    await client().send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: { ImageId: old } }))
    expect(await versionData(id, '5')).toEqual({ ImageId: old })
    const references = await client().send(
      new DescribeImageReferencesCommand({ ImageIds: [next], ResourceTypes: [{ ResourceType: 'ec2:LaunchTemplate' }] })
    )
    expect(references.ImageReferences?.map((r) => r.ResourceType)).toEqual(['ec2:LaunchTemplate'])
  })

  it('refuses other data with a SourceVersion, and a missing source version or template with EC2’s codes', async () => {
    const old = await image('lt-refused')
    const { id } = await template(old)
    const create = (input: Partial<ConstructorParameters<typeof CreateLaunchTemplateVersionCommand>[0]>) =>
      client().send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: { ImageId: old }, ...input }))
    await expect(create({ SourceVersion: '1', LaunchTemplateData: { ImageId: old, InstanceType: 't3.large' } })).rejects.toMatchObject({
      name: 'FrontUnsupported'
    })
    await expect(create({ SourceVersion: '9' })).rejects.toMatchObject({ name: 'InvalidLaunchTemplateId.VersionNotFound' })
    await expect(create({ SourceVersion: '0' })).rejects.toMatchObject({ name: 'InvalidLaunchTemplateId.VersionNotFound' })
    await expect(create({ SourceVersion: '9', DryRun: true })).rejects.toMatchObject({ name: 'InvalidLaunchTemplateId.VersionNotFound' })
    await expect(create({ LaunchTemplateId: 'lt-0123456789abcdef0', SourceVersion: '1' })).rejects.toMatchObject({
      name: 'InvalidLaunchTemplateId.NotFound'
    })
    await expect(
      client().send(
        new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'nope', SourceVersion: '1', LaunchTemplateData: { ImageId: old } })
      )
    ).rejects.toMatchObject({ name: 'InvalidLaunchTemplateName.NotFoundException' })
    const templates = await client().send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))
    expect(templates.LaunchTemplates?.[0]?.LatestVersionNumber).toBe(1)
  })

  it('answers a repeated ClientToken with the first version, a changed request with a mismatch, and makes nothing on DryRun', async () => {
    const [old, next] = [await image('lt-token-old'), await image('lt-token-next')]
    const { id } = await template(old)
    const input = { LaunchTemplateId: id, SourceVersion: '1', LaunchTemplateData: { ImageId: next }, ClientToken: 'publish-1' }
    await expect(client().send(new CreateLaunchTemplateVersionCommand({ ...input, DryRun: true }))).rejects.toMatchObject({
      name: 'DryRunOperation'
    })
    const first = await client().send(new CreateLaunchTemplateVersionCommand(input))
    const again = await client().send(new CreateLaunchTemplateVersionCommand(input))
    expect(again.LaunchTemplateVersion?.VersionNumber).toBe(first.LaunchTemplateVersion?.VersionNumber)
    expect(first.LaunchTemplateVersion?.VersionNumber).toBe(2)
    await expect(client().send(new CreateLaunchTemplateVersionCommand({ ...input, VersionDescription: 'another' }))).rejects.toMatchObject({
      name: 'IdempotentParameterMismatch'
    })
    const templates = await client().send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))
    expect(templates.LaunchTemplates?.[0]?.LatestVersionNumber).toBe(2)
  })

  it('sets the default version (sent as SetDefaultVersion), refuses a missing version or template, and changes nothing on DryRun', async () => {
    const old = await image('lt-default')
    const { id } = await template(old)
    await client().send(
      new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, SourceVersion: '1', LaunchTemplateData: { ImageId: old } })
    )
    const defaultVersion = async () =>
      (await client().send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }))).LaunchTemplates?.[0]?.DefaultVersionNumber
    await expect(
      client().send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '2', DryRun: true }))
    ).rejects.toMatchObject({
      name: 'DryRunOperation'
    })
    expect(await defaultVersion()).toBe(1)
    await client().send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '2' }))
    expect(await defaultVersion()).toBe(2)
    expect(world.front.calls.filter((call) => call.action === 'ModifyLaunchTemplate').at(-1)?.params).toMatchObject({
      SetDefaultVersion: '2'
    })
    for (const DryRun of [false, true])
      await expect(
        client().send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '7', DryRun }))
      ).rejects.toMatchObject({
        name: 'InvalidLaunchTemplateId.VersionNotFound'
      })
    await expect(
      client().send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: 'lt-0123456789abcdef0', DefaultVersion: '1' }))
    ).rejects.toMatchObject({ name: 'InvalidLaunchTemplateId.NotFound' })
    expect(await defaultVersion()).toBe(2)
  })
})

describe('the test front: images and snapshots', () => {
  it('reports LastLaunchedTime only as setLastLaunched says, in DescribeImages and DescribeImageAttribute', async () => {
    const id = await image('launched-1')
    expect((await listed(id)).LastLaunchedTime).toBeUndefined()
    const attribute = () => client().send(new DescribeImageAttributeCommand({ ImageId: id, Attribute: 'lastLaunchedTime' }))
    expect((await attribute()).LastLaunchedTime).toBeUndefined()
    world.front.setLastLaunched(id, 'us-east-1', '2026-01-02T03:04:05Z')
    expect((await listed(id)).LastLaunchedTime).toBe('2026-01-02T03:04:05Z')
    expect((await attribute()).LastLaunchedTime).toEqual({ Value: '2026-01-02T03:04:05Z' })
    await expect(
      client().send(new DescribeImageAttributeCommand({ ImageId: 'ami-0123456789abcdef0', Attribute: 'lastLaunchedTime' }))
    ).rejects.toMatchObject({ name: 'InvalidAMIID.NotFound' })
  })

  it('deprecates at the nearest minute, and refuses a time in the past or more than ten years ahead', async () => {
    const id = await image('deprecated-1')
    const soon = new Date(Math.ceil(clock.now() / 60_000) * 60_000 + 120_000 + 35_000)
    await client().send(new EnableImageDeprecationCommand({ ImageId: id, DeprecateAt: soon }))
    expect((await listed(id)).DeprecationTime).toBe(new Date(soon.getTime() + 25_000).toISOString())
    for (const at of [new Date(clock.now() - 120_000), new Date(clock.now() + 3660 * 86_400_000)]) {
      await expect(client().send(new EnableImageDeprecationCommand({ ImageId: id, DeprecateAt: at }))).rejects.toMatchObject({
        name: 'InvalidParameterValue'
      })
    }
  })

  it('shares a snapshot with accounts and takes it back, in either request form', async () => {
    const [snapshot] = snapshotIdsOf(await listed(await image('shared-snap'))) as [string]
    const permissions = async () =>
      (await client().send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshot, Attribute: 'createVolumePermission' })))
        .CreateVolumePermissions
    await client().send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: snapshot,
        Attribute: 'createVolumePermission',
        OperationType: 'add',
        UserIds: ['111122223333', '444455556666']
      })
    )
    expect(await permissions()).toEqual(expect.arrayContaining([{ UserId: '111122223333' }, { UserId: '444455556666' }]))
    await client().send(
      new ModifySnapshotAttributeCommand({ SnapshotId: snapshot, CreateVolumePermission: { Remove: [{ UserId: '111122223333' }] } })
    )
    expect(await permissions()).toEqual([{ UserId: '444455556666' }])
    await expect(
      client().send(
        new ModifySnapshotAttributeCommand({
          SnapshotId: snapshot,
          CreateVolumePermission: { Add: [{ UserId: '111122223333' }], Remove: [{ UserId: '444455556666' }] }
        })
      )
    ).rejects.toMatchObject({ name: 'InvalidParameterCombination' })
    await expect(
      client().send(
        new ModifySnapshotAttributeCommand({
          SnapshotId: 'snap-0123456789abcdef0',
          OperationType: 'add',
          UserIds: ['111122223333'],
          DryRun: true
        })
      )
    ).rejects.toMatchObject({ name: 'InvalidSnapshot.NotFound' })
  })

  it('refuses to share a snapshot encrypted with the default key, to make an encrypted one public, or to share with an organization', async () => {
    const [snapshot] = snapshotIdsOf(await listed(await image('encrypted-snap'))) as [string]
    world.front.state.snapshotKeys.set(snapshot, world.front.defaultEbsKey('123456789012', 'us-east-1'))
    const share = (input: { UserIds?: string[]; GroupNames?: string[]; DryRun?: boolean }) =>
      client().send(
        new ModifySnapshotAttributeCommand({ SnapshotId: snapshot, Attribute: 'createVolumePermission', OperationType: 'add', ...input })
      )
    for (const DryRun of [false, true])
      await expect(share({ UserIds: ['111122223333'], DryRun })).rejects.toMatchObject({
        name: 'OperationNotPermitted',
        message: 'Encrypted snapshots with EBS default key cannot be shared'
      })
    world.front.state.snapshotKeys.set(snapshot, world.front.kmsKey('123456789012', 'us-east-1', { usableBy: ['111122223333'] }))
    await share({ UserIds: ['111122223333'] })
    await expect(share({ GroupNames: ['all'] })).rejects.toMatchObject({ name: 'UnsupportedOperation' })
    const organization = await rawEc2({
      Action: 'ModifySnapshotAttribute',
      SnapshotId: snapshot,
      OperationType: 'add',
      'OrganizationArn.1': 'arn:aws:organizations::123456789012:organization/o-123example'
    })
    expect(organization.status).toBe(400)
    expect(organization.body).toContain('<Code>UnknownParameter</Code>')
  })

  it('makes a disabled image private and refuses to share it; it can be tagged and deregistered; EnableImage needs a disabled image', async () => {
    const id = await image('disabled-share')
    await client().send(
      new ModifyImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission', OperationType: 'add', UserIds: ['111122223333'] })
    )
    const launchPermissions = async () =>
      (await client().send(new DescribeImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission' }))).LaunchPermissions
    expect(await launchPermissions()).toEqual([{ UserId: '111122223333' }])
    await client().send(new DisableImageCommand({ ImageId: id }))
    expect(await launchPermissions()).toEqual([])
    expect(await listed(id, { IncludeDisabled: true })).toMatchObject({ State: 'disabled', Public: false })
    await expect(
      client().send(new ModifyImageAttributeCommand({ ImageId: id, LaunchPermission: { Add: [{ UserId: '111122223333' }] } }))
    ).rejects.toMatchObject({ name: 'InvalidAMIID.Unavailable' })
    await client().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'retired', Value: 'yes' }] }))
    expect(tagsOf(await listed(id, { IncludeDisabled: true }))).toEqual({ retired: 'yes' })
    // Re-enabled, it is not shared again.
    await client().send(new EnableImageCommand({ ImageId: id }))
    expect(await launchPermissions()).toEqual([])
    await expect(client().send(new EnableImageCommand({ ImageId: id }))).rejects.toMatchObject({ name: 'IncorrectState' })
    await client().send(new DisableImageCommand({ ImageId: id }))
    await client().send(new DeregisterImageCommand({ ImageId: id }))
    expect((await client().send(new DescribeImagesCommand({ ImageIds: [id], IncludeDisabled: true }))).Images ?? []).toEqual([])
  })
})
