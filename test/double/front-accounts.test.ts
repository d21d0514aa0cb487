// The front across accounts — STS roles and their trust, KMS keys as data, images shared between
// accounts and copied from one into another — pinned with the real SDK clients, one attempt each, so
// refusals show as EC2, STS and KMS answer them. The front runs on a virtual clock.
import { afterAll, describe, expect, it } from '@jest/globals'
import {
  CopyImageCommand,
  CreateImageCommand,
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  EC2Client,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RunInstancesCommand,
  type DescribeImagesCommandInput,
  type Image
} from '@aws-sdk/client-ec2'
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers'
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types'
import { launchBuilder, snapshotIdsOf, tagsOf } from '../support/ec2-env.ts'
import { virtualClock } from '../../tools/ec2-double/index.ts'
import { useWorld } from '../support/world.ts'

const clock = virtualClock()
const world = useWorld({ clock })
const A = '123456789012'
const B = '222222222222'
const C = '333333333333'
const SOURCE = 'us-east-1'
const OTHER = 'eu-west-1'
const TESTING: AwsCredentialIdentity = { accessKeyId: 'testing', secretAccessKey: 'testing' }

const clients: { destroy(): void }[] = []
afterAll(() => {
  for (const c of clients) c.destroy()
})
function ec2(credentials: AwsCredentialIdentity = TESTING, region = SOURCE): EC2Client {
  const client = new EC2Client({ region, endpoint: world.front.endpoint, credentials, maxAttempts: 1 })
  clients.push(client)
  return client
}
function sts(credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider = TESTING): STSClient {
  const client = new STSClient({ region: SOURCE, endpoint: world.front.endpoint, credentials, maxAttempts: 1 })
  clients.push(client)
  return client
}
function kms(credentials: AwsCredentialIdentity = TESTING, region = SOURCE): KMSClient {
  const client = new KMSClient({ region, endpoint: world.front.endpoint, credentials, maxAttempts: 1 })
  clients.push(client)
  return client
}

/** Credentials of a session of `account`'s role `name` (defined here, trusting the default account). */
async function sessionIn(account: string, name = 'ami-pipeline', from: AwsCredentialIdentity = TESTING): Promise<AwsCredentialIdentity> {
  const RoleArn = world.front.state.roles.has(`arn:aws:iam::${account}:role/${name}`)
    ? `arn:aws:iam::${account}:role/${name}`
    : world.front.role(account, name)
  const { Credentials } = await sts(from).send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'test' }))
  return {
    accessKeyId: Credentials!.AccessKeyId!,
    secretAccessKey: Credentials!.SecretAccessKey!,
    sessionToken: Credentials!.SessionToken!
  }
}

/** The image as `client`'s account sees it by id, once it is listed (a new image is not, for a moment). */
async function listed(client: EC2Client, imageId: string): Promise<Image> {
  for (let tries = 0; ; tries++) {
    const found = (await client.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0]
    if (found || tries > 40) return found!
    clock.advance(100)
  }
}

/** An image of account A (the default) in the source region, tagged, listed. */
async function imageOfA(name: string): Promise<{ imageId: string; snapshots: string[] }> {
  const builder = await launchBuilder(world.moto.endpoint)
  const tags = [{ Key: 'Owner', Value: 'build' }]
  const made = await ec2().send(
    new CreateImageCommand({
      InstanceId: builder,
      Name: name,
      TagSpecifications: [
        { ResourceType: 'image', Tags: tags },
        { ResourceType: 'snapshot', Tags: tags }
      ]
    })
  )
  const image = await listed(ec2(), made.ImageId!)
  return { imageId: made.ImageId!, snapshots: snapshotIdsOf(image) }
}

/** Account A lets `account` launch the image, and (with `storage`) read its snapshots: what a cross-account copy needs. */
async function share(image: { imageId: string; snapshots: string[] }, account: string, storage = true): Promise<void> {
  await ec2().send(new ModifyImageAttributeCommand({ ImageId: image.imageId, LaunchPermission: { Add: [{ UserId: account }] } }))
  if (storage)
    for (const SnapshotId of image.snapshots)
      await ec2().send(
        new ModifySnapshotAttributeCommand({ SnapshotId, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: [account] })
      )
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'succeeded',
    (error: { name?: string }) => error.name
  )

describe('the test front: STS roles', () => {
  it('assumes a role its trust policy lets the caller assume, and the session acts in the role’s account', async () => {
    const roleArn = world.front.role(B, 'team/ami-pipeline', { trusts: [A] })
    expect(roleArn).toBe(`arn:aws:iam::${B}:role/team/ami-pipeline`)
    const { Credentials, AssumedRoleUser } = await sts().send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'release-42' }))
    expect(AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${B}:assumed-role/ami-pipeline/release-42`)
    const session = {
      accessKeyId: Credentials!.AccessKeyId!,
      secretAccessKey: Credentials!.SecretAccessKey!,
      sessionToken: Credentials!.SessionToken!
    }
    expect(world.front.state.accounts.byAccessKey.get(session.accessKeyId)).toBe(B)
    const identity = await sts(session).send(new GetCallerIdentityCommand({}))
    expect(identity).toMatchObject({ Account: B, Arn: AssumedRoleUser!.Arn, UserId: AssumedRoleUser!.AssumedRoleId })
    // An image made with the session's credentials is the role's account's.
    const run = await ec2(session).send(
      new RunInstancesCommand({ ImageId: 'ami-04681a1dbd79675a5', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 })
    )
    const made = await ec2(session).send(new CreateImageCommand({ InstanceId: run.Instances![0]!.InstanceId!, Name: 'in-b' }))
    expect(world.front.state.images.get(made.ImageId!)?.account).toBe(B)
    expect((await listed(ec2(session), made.ImageId!)).OwnerId).toBe(B)
    expect(await codeOf(ec2().send(new DescribeImagesCommand({ ImageIds: [made.ImageId!] })))).toBe('InvalidAMIID.NotFound')
    expect(world.front.calls.filter((call) => call.service === 'sts').map((call) => [call.action, call.account, call.status])).toEqual([
      ['AssumeRole', A, 200],
      ['GetCallerIdentity', B, 200]
    ])
  })

  it('is reached by the SDK’s fromTemporaryCredentials at AWS_ENDPOINT_URL_STS, as an ordinary AssumeRole', async () => {
    const RoleArn = world.front.role(C, 'ami-pipeline')
    const before = process.env.AWS_ENDPOINT_URL_STS
    process.env.AWS_ENDPOINT_URL_STS = world.front.endpoint
    try {
      const credentials = fromTemporaryCredentials({
        masterCredentials: TESTING,
        params: { RoleArn, RoleSessionName: 'provider', DurationSeconds: 3600 },
        clientConfig: { region: SOURCE }
      })
      expect((await sts(credentials).send(new GetCallerIdentityCommand({}))).Account).toBe(C)
    } finally {
      if (before === undefined) delete process.env.AWS_ENDPOINT_URL_STS
      else process.env.AWS_ENDPOINT_URL_STS = before
    }
    expect(world.front.calls.find((call) => call.action === 'AssumeRole')?.params).toMatchObject({
      RoleArn,
      RoleSessionName: 'provider',
      DurationSeconds: '3600'
    })
  })

  it('refuses a role not defined, or whose trust policy does not name the caller, in STS’s words', async () => {
    const refused = (RoleArn: string, credentials = TESTING) =>
      sts(credentials).send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'test' }))
    const user = `arn:aws:iam::${A}:user/moto`
    await expect(refused(`arn:aws:iam::${B}:role/nowhere`)).rejects.toMatchObject({
      name: 'AccessDenied',
      message: `User: ${user} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${B}:role/nowhere`,
      $metadata: { httpStatusCode: 403 }
    })
    const untrusting = world.front.role(B, 'locked', { trusts: [C] })
    await expect(refused(untrusting)).rejects.toMatchObject({ name: 'AccessDenied', message: expect.stringContaining(user) })
    // A role that trusts another role trusts that role's sessions, and nobody else of its account.
    const hub = world.front.role(C, 'hub')
    const spoke = world.front.role(B, 'spoke', { trusts: [hub] })
    await expect(refused(spoke)).rejects.toMatchObject({ name: 'AccessDenied' })
    const hubSession = await sessionIn(C, 'hub')
    expect(await codeOf(refused(spoke, hubSession))).toBe('succeeded')
    expect(world.front.calls.filter((call) => call.action === 'AssumeRole').map((call) => call.errorCode)).toEqual([
      'AccessDenied',
      'AccessDenied',
      'AccessDenied',
      undefined,
      undefined
    ])
  })

  it('refuses a session name or duration out of bounds, a session longer than the role allows, and a chained one over an hour', async () => {
    const role = world.front.role(B, 'ami-pipeline')
    const long = world.front.role(B, 'long', { maxSessionSeconds: 43_200 })
    const assume = (input: { RoleArn?: string; RoleSessionName?: string; DurationSeconds?: number }, credentials = TESTING) =>
      sts(credentials).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'test', ...input }))
    for (const input of [
      { RoleSessionName: 'x' },
      { RoleSessionName: 'has space' },
      { RoleSessionName: 'n'.repeat(65) },
      { DurationSeconds: 899 }
    ])
      await expect(assume(input)).rejects.toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } })
    await expect(assume({ DurationSeconds: 7200 })).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'
    })
    expect(await codeOf(assume({ RoleArn: long, DurationSeconds: 43_200 }))).toBe('succeeded')
    // Role chaining: a session assuming a role gets an hour at most, whatever the role allows.
    world.front.role(B, 'next', { trusts: [role] })
    const session = await sessionIn(B)
    await expect(assume({ RoleArn: `arn:aws:iam::${B}:role/next`, DurationSeconds: 3601 }, session)).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.'
    })
    const chained = await assume({ RoleArn: `arn:aws:iam::${B}:role/next`, DurationSeconds: 3600 }, session)
    expect(chained.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${B}:assumed-role/next/test`)
  })

  it('answers GetCallerIdentity for the default credentials, never denies it, and throttles and denies STS as STS answers', async () => {
    expect(await sts().send(new GetCallerIdentityCommand({}))).toMatchObject({ Account: A, Arn: `arn:aws:iam::${A}:user/moto` })
    const role = world.front.role(B, 'ami-pipeline')
    world.front.configure({ faults: [{ denied: true }] })
    expect((await sts().send(new GetCallerIdentityCommand({}))).Account).toBe(A)
    await expect(sts().send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'test' }))).rejects.toMatchObject({
      name: 'AccessDenied',
      message: `User: arn:aws:iam::${A}:user/moto is not authorized to perform: sts:AssumeRole on resource: ${role}`
    })
    world.front.configure({ faults: [{ actions: ['AssumeRole'], throttleRate: 1 }] })
    await expect(sts().send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'test' }))).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 }
    })
  })
})

describe('the test front: KMS keys', () => {
  it('describes the default EBS key by alias, alias ARN, key id and key ARN, the same key each time', async () => {
    const arn = world.front.defaultEbsKey(A, SOURCE)
    expect(arn).toMatch(new RegExp(`^arn:aws:kms:${SOURCE}:${A}:key/[0-9a-f-]{36}$`))
    expect(world.front.defaultEbsKey(A, SOURCE)).toBe(arn)
    expect(world.front.defaultEbsKey(A, OTHER)).not.toBe(arn)
    const keyId = arn.split('/').pop()!
    for (const KeyId of ['alias/aws/ebs', `arn:aws:kms:${SOURCE}:${A}:alias/aws/ebs`, keyId, arn]) {
      const { KeyMetadata } = await kms().send(new DescribeKeyCommand({ KeyId }))
      expect(KeyMetadata).toMatchObject({ Arn: arn, KeyId: keyId, AWSAccountId: A, KeyManager: 'AWS', KeyState: 'Enabled', Enabled: true })
    }
    // Made the first time it is needed: another account's default key exists as soon as it asks.
    const session = await sessionIn(B)
    const { KeyMetadata } = await kms(session).send(new DescribeKeyCommand({ KeyId: 'alias/aws/ebs' }))
    expect(KeyMetadata?.Arn).toBe(world.front.defaultEbsKey(B, SOURCE))
    expect(world.front.calls.filter((call) => call.service === 'kms').map((call) => [call.action, call.account])).toContainEqual([
      'DescribeKey',
      B
    ])
  })

  it('describes another account’s customer managed key only by ARN and only when its key policy names the caller', async () => {
    const shared = world.front.kmsKey(A, SOURCE, { usableBy: [B] })
    const private_ = world.front.kmsKey(A, SOURCE)
    const session = await sessionIn(B)
    const { KeyMetadata } = await kms(session).send(new DescribeKeyCommand({ KeyId: shared }))
    expect(KeyMetadata).toMatchObject({ Arn: shared, AWSAccountId: A, KeyManager: 'CUSTOMER' })
    await expect(kms(session).send(new DescribeKeyCommand({ KeyId: private_ }))).rejects.toMatchObject({ name: 'AccessDeniedException' })
    await expect(kms(session).send(new DescribeKeyCommand({ KeyId: world.front.defaultEbsKey(A, SOURCE) }))).rejects.toMatchObject({
      name: 'AccessDeniedException'
    })
    // By its key id alone, a key is looked for in the caller's own account.
    await expect(kms(session).send(new DescribeKeyCommand({ KeyId: shared.split('/').pop()! }))).rejects.toMatchObject({
      name: 'NotFoundException'
    })
    await expect(kms().send(new DescribeKeyCommand({ KeyId: 'alias/nothing' }))).rejects.toMatchObject({ name: 'NotFoundException' })
    await expect(kms().send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:${SOURCE}:${A}:key/0000` }))).rejects.toMatchObject({
      name: 'NotFoundException'
    })
    world.front.configure({ faults: [{ actions: ['DescribeKey'], denied: true }] })
    await expect(kms().send(new DescribeKeyCommand({ KeyId: shared }))).rejects.toMatchObject({ name: 'AccessDeniedException' })
  })
})

describe('the test front: images across accounts', () => {
  it('shows an image shared with an account to it by id, without the owner’s tags, and to no other account', async () => {
    const image = await imageOfA('shared-view')
    const [b, c] = [ec2(await sessionIn(B)), ec2(await sessionIn(C))]
    expect(await codeOf(b.send(new DescribeImagesCommand({ ImageIds: [image.imageId] })))).toBe('InvalidAMIID.NotFound')
    await share(image, B, false)
    const seen = await listed(b, image.imageId)
    expect(seen).toMatchObject({ ImageId: image.imageId, OwnerId: A, Name: 'shared-view', State: 'available' })
    expect(tagsOf(seen)).toEqual({})
    expect(await codeOf(c.send(new DescribeImagesCommand({ ImageIds: [image.imageId] })))).toBe('InvalidAMIID.NotFound')
    // The account it is shared with may tag it for itself; nobody else sees those tags.
    await b.send(new CreateTagsCommand({ Resources: [image.imageId], Tags: [{ Key: 'Seen', Value: 'yes' }] }))
    expect(tagsOf(await listed(b, image.imageId))).toEqual({ Seen: 'yes' })
    expect(tagsOf(await listed(ec2(), image.imageId))).toEqual({ Owner: 'build' })
    // Listed without ids too, as EC2 lists the images available to an account; filtered on what it sees.
    const ids = async (input: DescribeImagesCommandInput) =>
      ((await b.send(new DescribeImagesCommand(input))).Images ?? []).map((found) => found.ImageId)
    expect(await ids({ Filters: [{ Name: 'image-id', Values: [image.imageId] }] })).toEqual([image.imageId])
    expect(await ids({ Owners: [A] })).toEqual([image.imageId])
    expect(await ids({ ExecutableUsers: ['self'] })).toContain(image.imageId)
    expect(await ids({ Owners: ['self'] })).toEqual([])
    expect(await ids({ Filters: [{ Name: 'tag:Seen', Values: ['y*'] }] })).toEqual([image.imageId])
    expect(await ids({ Filters: [{ Name: 'tag:Owner', Values: ['build'] }] })).toEqual([])
    expect(await ids({ Owners: [A], Filters: [{ Name: 'name', Values: ['other'] }] })).toEqual([])
    expect((await c.send(new DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: [image.imageId] }] }))).Images).toEqual([])
    expect((await c.send(new DescribeImagesCommand({ Owners: [A] }))).Images).toEqual([])
  })

  it('refuses to let an account it is shared with read its attributes or change it, as EC2 refuses', async () => {
    const image = await imageOfA('shared-owned')
    await share(image, B, false)
    const b = ec2(await sessionIn(B))
    await expect(
      b.send(new DescribeImageAttributeCommand({ ImageId: image.imageId, Attribute: 'launchPermission' }))
    ).rejects.toMatchObject({
      name: 'AuthFailure',
      message: `Not authorized for image:${image.imageId}`
    })
    await expect(
      b.send(new ModifyImageAttributeCommand({ ImageId: image.imageId, LaunchPermission: { Add: [{ UserId: C }] } }))
    ).rejects.toMatchObject({ name: 'AuthFailure' })
    for (const command of [new DeregisterImageCommand({ ImageId: image.imageId }), new DisableImageCommand({ ImageId: image.imageId })])
      await expect(b.send(command)).rejects.toMatchObject({ name: 'AuthFailure' })
    const c = ec2(await sessionIn(C))
    await expect(
      c.send(new DescribeImageAttributeCommand({ ImageId: image.imageId, Attribute: 'launchPermission' }))
    ).rejects.toMatchObject({
      name: 'InvalidAMIID.NotFound'
    })
    expect((await listed(ec2(), image.imageId)).State).toBe('available')
  })

  it('refuses to share an image whose snapshots are encrypted with the AWS managed key', async () => {
    const image = await imageOfA('default-key')
    for (const snapshot of image.snapshots) world.front.state.snapshotKeys.set(snapshot, world.front.defaultEbsKey(A, SOURCE))
    await expect(
      ec2().send(new ModifyImageAttributeCommand({ ImageId: image.imageId, LaunchPermission: { Add: [{ UserId: B }] } }))
    ).rejects.toMatchObject({
      name: 'InvalidParameter',
      message: "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot."
    })
    await expect(
      ec2().send(
        new ModifySnapshotAttributeCommand({
          SnapshotId: image.snapshots[0]!,
          Attribute: 'createVolumePermission',
          OperationType: 'add',
          UserIds: [B]
        })
      )
    ).rejects.toMatchObject({ name: 'OperationNotPermitted' })
    // A customer managed key can be shared, but an encrypted image can't be made public.
    for (const snapshot of image.snapshots) world.front.state.snapshotKeys.set(snapshot, world.front.kmsKey(A, SOURCE, { usableBy: [B] }))
    await ec2().send(new ModifyImageAttributeCommand({ ImageId: image.imageId, LaunchPermission: { Add: [{ UserId: B }] } }))
    await expect(
      ec2().send(new ModifyImageAttributeCommand({ ImageId: image.imageId, LaunchPermission: { Add: [{ Group: 'all' }] } }))
    ).rejects.toMatchObject({ name: 'UnsupportedOperation' })
  })
})

describe('the test front: copying another account’s image', () => {
  const copyInput = (imageId: string, extra: Record<string, unknown> = {}) => ({
    SourceImageId: imageId,
    SourceRegion: SOURCE,
    Name: 'web-copy',
    ...extra
  })

  it('refuses a copy without launch permission, or without createVolumePermission on the snapshots, DryRun or not', async () => {
    const image = await imageOfA('not-shared')
    const b = ec2(await sessionIn(B), OTHER)
    for (const DryRun of [false, true])
      await expect(b.send(new CopyImageCommand(copyInput(image.imageId, { DryRun })))).rejects.toMatchObject({
        name: 'InvalidAMIID.NotFound'
      })
    await share(image, B, false)
    for (const DryRun of [false, true])
      await expect(b.send(new CopyImageCommand(copyInput(image.imageId, { DryRun })))).rejects.toMatchObject({
        name: 'InvalidRequest',
        message: 'You do not have permission to access the storage of this ami'
      })
    await share(image, B)
    await expect(b.send(new CopyImageCommand(copyInput(image.imageId, { DryRun: true })))).rejects.toMatchObject({
      name: 'DryRunOperation'
    })
    expect([...world.front.state.images.values()].filter((overlay) => overlay.account === B)).toEqual([])
  })

  it('makes the copy in the copying account: its own, pending then available, tagged at creation, idempotent by ClientToken', async () => {
    world.front.configure({ pendingMs: 2500 })
    const image = await imageOfA('golden')
    clock.advance(2600)
    await share(image, B)
    const session = await sessionIn(B)
    const b = ec2(session, OTHER)
    const tags = [{ Key: 'Team', Value: 'payments' }]
    const input = copyInput(image.imageId, {
      ClientToken: 'copy-1',
      TagSpecifications: [
        { ResourceType: 'image', Tags: tags },
        { ResourceType: 'snapshot', Tags: tags }
      ]
    })
    const { ImageId } = await b.send(new CopyImageCommand(input))
    expect(world.front.state.images.get(ImageId!)).toMatchObject({ account: B, region: OTHER, sourceImageId: image.imageId })
    const copy = await listed(b, ImageId!)
    expect(copy).toMatchObject({ OwnerId: B, Name: 'web-copy', State: 'pending', SourceImageId: image.imageId, SourceImageRegion: SOURCE })
    expect(copy.Architecture).toBe('x86_64')
    expect(tagsOf(copy)).toEqual({ Team: 'payments' })
    const [snapshot] = (await b.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIdsOf(copy) }))).Snapshots!
    expect(snapshot).toMatchObject({ OwnerId: B, Encrypted: false })
    expect(tagsOf(snapshot!)).toEqual({ Team: 'payments' })
    clock.advance(2600)
    expect((await listed(b, ImageId!)).State).toBe('available')
    // The same token answers the first copy, even once the grants are taken back; another request is a mismatch.
    await ec2().send(new ModifyImageAttributeCommand({ ImageId: image.imageId, LaunchPermission: { Remove: [{ UserId: B }] } }))
    expect((await b.send(new CopyImageCommand(input))).ImageId).toBe(ImageId)
    await expect(b.send(new CopyImageCommand({ ...input, Name: 'other' }))).rejects.toMatchObject({ name: 'IdempotentParameterMismatch' })
    // Names are unique in the copying account's region, not across accounts.
    await expect(b.send(new CopyImageCommand(copyInput(image.imageId)))).rejects.toMatchObject({ name: 'InvalidAMIID.NotFound' })
    await share(image, B)
    await expect(b.send(new CopyImageCommand(copyInput(image.imageId)))).rejects.toMatchObject({ name: 'InvalidAMIName.Duplicate' })
    expect(await codeOf(ec2(TESTING, OTHER).send(new CopyImageCommand(copyInput(image.imageId))))).toBe('succeeded')
    // Tests read an account's images through the front with a key that acts in it.
    expect(world.front.accessKeyOf(B)).toBe(session.accessKeyId)
    expect(world.front.accessKeyOf(A)).toBe('testing')
    expect(() => world.front.accessKeyOf('444455556666')).toThrow(/no credentials/)
    // The source stays the owner's: the copying account sees it only while it is shared.
    expect((await listed(ec2(session), image.imageId)).OwnerId).toBe(A)
  })

  it('encrypts the copy of an encrypted source with the copying account’s default key, or the key it names, as ARNs', async () => {
    const image = await imageOfA('encrypted-source')
    const key = world.front.kmsKey(A, SOURCE, { usableBy: [B] })
    for (const snapshot of image.snapshots) world.front.state.snapshotKeys.set(snapshot, key)
    await share(image, B)
    const b = ec2(await sessionIn(B), OTHER)
    const byDefault = await b.send(new CopyImageCommand(copyInput(image.imageId, { Name: 'by-default' })))
    const mine = world.front.kmsKey(B, OTHER)
    const named = await b.send(new CopyImageCommand(copyInput(image.imageId, { Name: 'named', Encrypted: true, KmsKeyId: mine })))
    const keyOf = async (imageId: string) => (await listed(b, imageId)).BlockDeviceMappings![0]!.Ebs
    expect(await keyOf(byDefault.ImageId!)).toMatchObject({ Encrypted: true, KmsKeyId: world.front.defaultEbsKey(B, OTHER) })
    expect(await keyOf(named.ImageId!)).toMatchObject({ Encrypted: true, KmsKeyId: mine })
    expect((await listed(b, named.ImageId!)).State).toBe('available')
    // An unencrypted source, Encrypted without a key: the default key; alias/aws/ebs names it too.
    const plain = await imageOfA('plain-source')
    await share(plain, B)
    for (const [Name, extra] of [
      ['encrypted', { Encrypted: true }],
      ['aliased', { Encrypted: true, KmsKeyId: 'alias/aws/ebs' }]
    ] as const) {
      const { ImageId } = await b.send(new CopyImageCommand(copyInput(plain.imageId, { Name, ...extra })))
      expect(await keyOf(ImageId!)).toMatchObject({ Encrypted: true, KmsKeyId: world.front.defaultEbsKey(B, OTHER) })
      const snapshots = (await listed(b, ImageId!)).BlockDeviceMappings!.map((mapping) => mapping.Ebs!.SnapshotId!)
      const described = (await b.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshots }))).Snapshots!
      expect(described.map((s) => [s.Encrypted, s.KmsKeyId])).toEqual([[true, world.front.defaultEbsKey(B, OTHER)]])
    }
    // No unencrypted copy of an encrypted source, and no key without Encrypted.
    await expect(b.send(new CopyImageCommand(copyInput(image.imageId, { Name: 'plain', Encrypted: false })))).rejects.toMatchObject({
      name: 'InvalidRequest'
    })
    await expect(b.send(new CopyImageCommand(copyInput(plain.imageId, { Name: 'keyed', KmsKeyId: mine })))).rejects.toMatchObject({
      name: 'InvalidParameterCombination'
    })
  })

  it('makes a copy whose source key the copying account may not use, and fails it, as EC2 reports KMS problems late', async () => {
    world.front.configure({ pendingMs: 5000 })
    const b = ec2(await sessionIn(B), OTHER)
    const failed = async (imageId: string) => {
      expect((await listed(b, imageId)).State).toBe('pending')
      clock.advance(5100)
      return (await listed(b, imageId)).StateReason
    }
    // A customer managed key whose policy does not name the copying account.
    const image = await imageOfA('private-key')
    clock.advance(5100)
    await share(image, B)
    for (const snapshot of image.snapshots) world.front.state.snapshotKeys.set(snapshot, world.front.kmsKey(A, SOURCE))
    const { ImageId } = await b.send(new CopyImageCommand(copyInput(image.imageId, { Name: 'private-key' })))
    expect(await failed(ImageId!)).toMatchObject({ Message: expect.stringMatching(/does not let account 222222222222 use it/) })
    // The owner's AWS managed key, which no other account can use (shared here before it was encrypted).
    for (const snapshot of image.snapshots) world.front.state.snapshotKeys.set(snapshot, world.front.defaultEbsKey(A, SOURCE))
    const managed = await b.send(new CopyImageCommand(copyInput(image.imageId, { Name: 'managed-key' })))
    expect(await failed(managed.ImageId!)).toMatchObject({ Message: expect.stringMatching(/AWS managed key/) })
    // A key of another region given for the copy.
    const plain = await imageOfA('plain-key')
    clock.advance(5100)
    await share(plain, B)
    const elsewhere = world.front.kmsKey(B, SOURCE)
    const wrong = await b.send(
      new CopyImageCommand(copyInput(plain.imageId, { Name: 'wrong-region', Encrypted: true, KmsKeyId: elsewhere }))
    )
    expect(await failed(wrong.ImageId!)).toMatchObject({ Message: expect.stringMatching(/is in us-east-1, not in eu-west-1/) })
  })

  it('keeps the key of an encrypted source the account owns when it copies it within its region', async () => {
    const image = await imageOfA('own-encrypted')
    const key = world.front.kmsKey(A, SOURCE)
    for (const snapshot of image.snapshots) world.front.state.snapshotKeys.set(snapshot, key)
    const here = await ec2().send(new CopyImageCommand(copyInput(image.imageId, { Name: 'here' })))
    expect((await listed(ec2(), here.ImageId!)).BlockDeviceMappings![0]!.Ebs).toMatchObject({ Encrypted: true, KmsKeyId: key })
    const there = await ec2(TESTING, OTHER).send(new CopyImageCommand(copyInput(image.imageId, { Name: 'there' })))
    expect((await listed(ec2(TESTING, OTHER), there.ImageId!)).BlockDeviceMappings![0]!.Ebs).toMatchObject({
      Encrypted: true,
      KmsKeyId: world.front.defaultEbsKey(A, OTHER)
    })
  })
})
