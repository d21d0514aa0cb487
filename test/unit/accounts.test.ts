import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImageAttributeCommand,
  DescribeSnapshotAttributeCommand,
  EC2Client,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand
} from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { partitionOf, roleArn, sessionName } from '../../src/accounts.ts'
import { shareSession } from '../../src/aws/client.ts'
import { grantCopy, takeBackGrants } from '../../src/modes/copy/grants.ts'
import { testStep, virtualClock } from '../support/step.ts'

const HOUR = 3_600_000

describe('a target account’s role session', () => {
  it('is assumed once for every client that asks at the same time', async () => {
    const clock = virtualClock()
    let assumed = 0
    const provider = shareSession(async () => {
      assumed++
      return { accessKeyId: `k${assumed}`, secretAccessKey: 's', expiration: new Date(clock.now() + HOUR) }
    }, clock)
    const keys = await Promise.all([provider(), provider(), provider()])
    expect(keys.map((k) => k.accessKeyId)).toEqual(['k1', 'k1', 'k1'])
    expect(assumed).toBe(1)
  })

  it('is renewed five minutes before it expires, and not before', async () => {
    const clock = virtualClock()
    let assumed = 0
    const provider = shareSession(async () => {
      assumed++
      return { accessKeyId: `k${assumed}`, secretAccessKey: 's', expiration: new Date(clock.now() + HOUR) }
    }, clock)
    await provider()
    await clock.sleep(HOUR - 6 * 60_000)
    expect((await provider()).accessKeyId).toBe('k1')
    await clock.sleep(2 * 60_000)
    expect((await provider()).accessKeyId).toBe('k2')
  })

  it('keeps serving a session still valid when its renewal fails, and fails once nothing valid is left', async () => {
    const clock = virtualClock()
    let calls = 0
    const provider = shareSession(async () => {
      calls++
      if (calls > 1) throw new Error('AccessDenied')
      return { accessKeyId: 'k1', secretAccessKey: 's', expiration: new Date(clock.now() + HOUR) }
    }, clock)
    await provider()
    await clock.sleep(HOUR - 60_000)
    expect((await provider()).accessKeyId).toBe('k1')
    await clock.sleep(2 * 60_000)
    await expect(provider()).rejects.toThrow('AccessDenied')
  })

  it('names the role in the partition of the region, and the session after the workflow run', () => {
    expect(roleArn('222233334444', 'ci/ami-pipeline', 'cn-north-1')).toBe('arn:aws-cn:iam::222233334444:role/ci/ami-pipeline')
    expect(partitionOf('us-gov-west-1')).toBe('aws-us-gov')
    expect(partitionOf('us-isob-east-1')).toBe('aws-iso-b')
    expect(partitionOf('eu-west-1')).toBe('aws')
    expect(sessionName({ GITHUB_RUN_ID: '123456', GITHUB_RUN_ATTEMPT: '3' })).toBe('ami-pipeline-123456-3')
  })
})

const ec2 = mockClient(EC2Client)
const SOURCE = 'ami-0123456789abcdef0'
const SNAPSHOT = 'snap-0123456789abcdef0'

function sourceImage(tags: Record<string, string> = {}) {
  return {
    region: 'us-east-1',
    imageId: SOURCE,
    name: 'web-1',
    origin: 'built' as const,
    state: 'available' as const,
    snapshotIds: [SNAPSHOT],
    tags: new Map(Object.entries(tags))
  }
}

beforeEach(() => {
  ec2.reset()
  ec2.on(CreateTagsCommand).resolves({})
  ec2.on(DeleteTagsCommand).resolves({})
  ec2.on(ModifyImageAttributeCommand).resolves({})
  ec2.on(ModifySnapshotAttributeCommand).resolves({})
})

describe('the grants copy gives target accounts', () => {
  it('gives only what an account lacks, marks it first, and takes back only that', async () => {
    const step = testStep({ mode: 'copy', 'image-id': SOURCE, 'target-accounts': '222233334444 555566667777' })
    // 555566667777 could already launch the image (shared with it before): it keeps that.
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '555566667777' }] })
    ec2.on(DescribeSnapshotAttributeCommand).resolves({ CreateVolumePermissions: [] })
    const source = sourceImage()
    const snapshots = new Map([[SNAPSHOT, { tags: new Map<string, string>(), storageTier: 'standard', state: 'completed' }]])
    const grants = await grantCopy(step, source, ['222233334444', '555566667777'], snapshots)
    expect(grants.map((g) => [g.account, g.launchPermission, g.snapshotIds])).toEqual([
      ['222233334444', true, [SNAPSHOT]],
      ['555566667777', false, [SNAPSHOT]]
    ])
    const order = ec2.calls().map((call) => call.args[0].constructor.name)
    expect(order.indexOf('CreateTagsCommand')).toBeLessThan(order.indexOf('ModifyImageAttributeCommand'))
    expect(ec2.commandCalls(ModifyImageAttributeCommand)[0]!.args[0].input.LaunchPermission).toEqual({ Add: [{ UserId: '222233334444' }] })
    await takeBackGrants(step, source, grants, snapshots, new Map(), undefined)
    const removed = ec2.commandCalls(ModifyImageAttributeCommand).map((call) => call.args[0].input.LaunchPermission?.Remove)
    expect(removed).toEqual([undefined, [{ UserId: '222233334444' }]])
    expect([...source.tags.keys()].filter((key) => key.startsWith('ami-pipeline:granted-to'))).toEqual([])
  })

  it('takes back what an earlier attempt marked, even for an account this step no longer lists', async () => {
    const step = testStep({ mode: 'copy', 'image-id': SOURCE, 'target-accounts': '222233334444' })
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '999988887777' }] })
    ec2.on(DescribeSnapshotAttributeCommand).resolves({ CreateVolumePermissions: [{ UserId: '999988887777' }] })
    const source = sourceImage({ 'ami-pipeline:granted-to': '999988887777' })
    const snapshots = new Map([
      [SNAPSHOT, { tags: new Map([['ami-pipeline:granted-to', '999988887777']]), storageTier: 'standard', state: 'completed' }]
    ])
    const grants = await grantCopy(step, source, ['222233334444'], snapshots)
    expect(grants.find((g) => g.account === '999988887777')).toMatchObject({ launchPermission: true, snapshotIds: [SNAPSHOT] })
    await takeBackGrants(step, source, grants, snapshots, new Map(), undefined)
    const removed = ec2.commandCalls(ModifyImageAttributeCommand).flatMap((call) => call.args[0].input.LaunchPermission?.Remove ?? [])
    expect(removed).toEqual([{ UserId: '222233334444' }, { UserId: '999988887777' }])
    expect(grants.map((g) => g.outcome)).toEqual(['taken back', 'taken back'])
  })

  it('leaves the grants of an account whose copies are still pending, marked, and keeps what share-accounts names', async () => {
    const step = testStep({ mode: 'copy', 'image-id': SOURCE, 'target-accounts': '222233334444 555566667777' })
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [] })
    ec2.on(DescribeSnapshotAttributeCommand).resolves({ CreateVolumePermissions: [] })
    const source = sourceImage()
    const snapshots = new Map([[SNAPSHOT, { tags: new Map<string, string>(), storageTier: 'standard', state: 'completed' }]])
    const grants = await grantCopy(step, source, ['222233334444', '555566667777'], snapshots)
    const sharing = {
      shareAccounts: ['555566667777'],
      shareOrganizations: [],
      shareOrganizationalUnits: [],
      deregistrationProtection: false,
      shareSnapshots: false
    }
    await takeBackGrants(step, source, grants, snapshots, new Map([['222233334444', 'its copies are still pending']]), sharing)
    expect(grants.map((g) => [g.account, g.outcome])).toEqual([
      ['222233334444', 'left'],
      ['555566667777', 'kept']
    ])
    expect(source.tags.get('ami-pipeline:granted-to')).toBe('222233334444')
    expect(snapshots.get(SNAPSHOT)!.tags.get('ami-pipeline:granted-to')).toBe('222233334444')
    const volumesBack = ec2.commandCalls(ModifySnapshotAttributeCommand).filter((call) => call.args[0].input.OperationType === 'remove')
    expect(volumesBack.map((call) => call.args[0].input.UserIds)).toEqual([['555566667777']])
  })
})
