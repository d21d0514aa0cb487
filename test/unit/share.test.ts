import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  EC2Client,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand
} from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { deprecationTime } from '../../src/aws/retiring.ts'
import { share } from '../../src/modes/tag/share.ts'
import type { ReleaseImage } from '../../src/release.ts'
import { summaryOf } from '../../src/report.ts'
import { awsError } from '../support/aws-error.ts'
import { testStep, type TestStep } from '../support/step.ts'

const distribute = (step: TestStep, images: readonly ReleaseImage[]) => share(step, step.plan.tag!.share!, images)

const ec2 = mockClient(EC2Client)
const SOURCE = 'ami-0123456789abcdef0'
const COPY = 'ami-0fedcba9876543210'

function distributionStep(extra: Record<string, string>) {
  const step = testStep({ mode: 'tag', 'image-id': SOURCE, ...extra })
  step.release.add({ region: 'us-east-1', imageId: SOURCE, name: 'web', origin: 'built', state: 'available', snapshotIds: [] })
  step.release.add({
    region: 'eu-west-1',
    imageId: COPY,
    name: 'web',
    origin: 'copied',
    state: 'available',
    snapshotIds: [],
    encrypted: true
  })
  return step
}

beforeEach(() => {
  ec2.reset()
})

describe('distribution', () => {
  it('shares, deprecates and protects every image in every region', async () => {
    ec2.on(ModifyImageAttributeCommand).resolves({})
    ec2.on(EnableImageDeprecationCommand).resolves({ Return: true })
    ec2.on(EnableImageDeregistrationProtectionCommand).resolves({ Return: 'enabled' })
    const step = distributionStep({
      'share-accounts': '111122223333',
      'share-organizations': 'arn:aws:organizations::111122223333:organization/o-abcdefghij',
      'deprecate-after': '90d',
      'deregistration-protection': 'true'
    })
    await distribute(step, step.release.all())
    const shares = ec2.commandCalls(ModifyImageAttributeCommand).map((call) => call.args[0].input)
    expect(shares.map((s) => s.ImageId).sort()).toEqual([SOURCE, COPY].sort())
    expect(shares[0]!.LaunchPermission).toEqual({
      Add: [{ UserId: '111122223333' }, { OrganizationArn: 'arn:aws:organizations::111122223333:organization/o-abcdefghij' }]
    })
    const at = ec2.commandCalls(EnableImageDeprecationCommand)[0]!.args[0].input.DeprecateAt!
    expect(at.toISOString()).toBe('2027-02-22T10:00:00.000Z')
    expect(ec2.commandCalls(EnableImageDeregistrationProtectionCommand)).toHaveLength(2)
    expect(step.release.get('eu-west-1')?.sharing).toEqual({
      sharedWith: ['111122223333', 'arn:aws:organizations::111122223333:organization/o-abcdefghij'],
      protected: true,
      deprecateAt: '2027-02-22T10:00:00.000Z'
    })
  })

  it('tells the user what another account needs to launch a shared encrypted image', async () => {
    ec2.on(ModifyImageAttributeCommand).resolves({})
    const step = distributionStep({ 'share-accounts': '111122223333' })
    await distribute(step, step.release.all())
    expect(step.log.lines).toContainEqual({
      level: 'notice',
      message: expect.stringMatching(new RegExp(`${COPY} in eu-west-1 is encrypted: .*KMS key.*kms:Decrypt`))
    })
  })

  it('records each snapshot as it is shared, so a failure part way reports those that were', async () => {
    ec2.on(ModifyImageAttributeCommand).resolves({})
    ec2
      .on(ModifySnapshotAttributeCommand)
      .resolvesOnce({})
      .rejects(awsError('InvalidParameter', 'Snapshots encrypted with the AWS Managed CMK cannot be shared'))
    const step = distributionStep({ 'share-accounts': '111122223333', 'share-snapshots': 'true' })
    const copy = step.release.get('eu-west-1')!
    copy.snapshotIds = ['snap-0123456789abcdef0', 'snap-0fedcba9876543210']
    await expect(distribute(step, [copy])).rejects.toThrow(
      /Could not share snapshot snap-0fedcba9876543210 of ami-0fedcba9876543210 in eu-west-1 \(share-snapshots\): .*AWS managed key/
    )
    expect(copy.sharing).toEqual({
      sharedWith: ['111122223333'],
      snapshotsSharedWith: ['111122223333'],
      sharedSnapshotIds: ['snap-0123456789abcdef0'],
      protected: false
    })
    expect(summaryOf(step.release, step.journal, step.plan, 'failed')).toContain('111122223333 (snapshots snap-0123456789abcdef0 only)')
  })

  it('only checks permissions in a dry run', async () => {
    ec2.on(ModifyImageAttributeCommand).rejects(awsError('DryRunOperation'))
    ec2.on(EnableImageDeregistrationProtectionCommand).rejects(awsError('DryRunOperation'))
    const step = distributionStep({ 'share-accounts': '111122223333', 'deregistration-protection': 'true', 'dry-run': 'true' })
    await distribute(step, step.release.all())
    expect(ec2.commandCalls(ModifyImageAttributeCommand).every((call) => call.args[0].input.DryRun === true)).toBe(true)
    expect(step.release.get('us-east-1')?.sharing).toBeUndefined()
  })

  it('rounds the deprecation time up to the minute EC2 keeps', () => {
    expect(deprecationTime(Date.parse('2026-11-24T10:00:30Z'), 60_000).toISOString()).toBe('2026-11-24T10:02:00.000Z')
  })
})
