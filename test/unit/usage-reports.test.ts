// Reading AMI usage reports with an SDK-level mock: every entry EC2 returns is use, whatever it
// leaves out, across every page; states read as EC2 names them, and a report EC2 no longer lists is
// `missing`, never `available`.
import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  CreateImageUsageReportCommand,
  DeleteImageUsageReportCommand,
  DescribeImageAttributeCommand,
  DescribeImageReferencesCommand,
  DescribeImageUsageReportEntriesCommand,
  DescribeLaunchTemplatesCommand,
  type CreateImageUsageReportCommandInput,
  type DescribeImageUsageReportsCommandInput,
  DescribeImageUsageReportsCommand,
  type DescribeImageUsageReportEntriesCommandInput
} from '@aws-sdk/client-ec2'
import { inUseMocks } from '../support/in-use-mocks.ts'
import { testStep } from '../support/step.ts'
import { awsError } from '../support/aws-error.ts'
import { findUsers } from '../../src/images/in-use.ts'
import type { ImageInfo } from '../../src/aws/images.ts'
import { Aws } from '../../src/aws/client.ts'
import { createUsageReport, describeAccountUse, reportEntries, reportStates, REPORT_VERSION_DEPTH } from '../../src/aws/usage-reports.ts'

const { ec2, reset } = inUseMocks()
const REGION = 'us-east-1'
const aws = () => new Aws({ maxAttempts: 1 })

beforeEach(() => reset())

describe('usage reports', () => {
  it('ask for instances and every launch template version, with a fresh client token each', async () => {
    ec2.on(CreateImageUsageReportCommand).resolves({ ReportId: 'amiur-1' })
    await createUsageReport(aws(), REGION, 'ami-1')
    await createUsageReport(aws(), REGION, 'ami-1')
    const inputs = ec2.commandCalls(CreateImageUsageReportCommand).map((call) => call.args[0].input)
    expect(inputs[0]).toMatchObject({
      ImageId: 'ami-1',
      ResourceTypes: [
        { ResourceType: 'ec2:Instance' },
        {
          ResourceType: 'ec2:LaunchTemplate',
          ResourceTypeOptions: [{ OptionName: 'version-depth', OptionValues: [String(REPORT_VERSION_DEPTH)] }]
        }
      ]
    })
    expect(inputs[0]!.AccountIds).toBeUndefined()
    expect(inputs[0]!.ClientToken).not.toBe(inputs[1]!.ClientToken)
    expect(REPORT_VERSION_DEPTH).toBe(10_000)
  })

  it('count every entry on every page as use, even one without a count, a report id or an account', async () => {
    ec2.on(DescribeImageUsageReportEntriesCommand).callsFake((input: DescribeImageUsageReportEntriesCommandInput) =>
      input.NextToken === undefined
        ? {
            ImageUsageReportEntries: [{ ReportId: 'amiur-1', AccountId: '111111111111', ResourceType: 'ec2:Instance', UsageCount: 2 }],
            NextToken: 'p2'
          }
        : {
            ImageUsageReportEntries: [
              { ReportId: 'amiur-1', AccountId: '111111111111', ResourceType: 'ec2:LaunchTemplate' },
              { ImageId: 'ami-2', AccountId: '222222222222', ResourceType: 'ec2:Instance', UsageCount: 1 },
              { ReportId: 'amiur-3', ResourceType: 'ec2:Instance', UsageCount: 0 }
            ]
          }
    )
    const reports = new Map([
      ['ami-1', 'amiur-1'],
      ['ami-2', 'amiur-2'],
      ['ami-3', 'amiur-3']
    ])
    const found = await reportEntries(aws(), REGION, reports)
    const described = (reportId: string) => [...(found.get(reportId) ?? [])].map(([account, use]) => describeAccountUse(account, use))
    expect(described('amiur-1')).toEqual(['account 111111111111: 2 instances, 1 launch template'])
    expect(described('amiur-2')).toEqual(['account 222222222222: 1 instance'])
    expect(described('amiur-3')).toEqual(['an account EC2 did not name: 1 instance'])
    expect(ec2.commandCalls(DescribeImageUsageReportEntriesCommand)[0]!.args[0].input.MaxResults).toBeUndefined()
  })

  it('read states as EC2 names them: a report not listed is missing, an unknown state still pending', async () => {
    ec2.on(DescribeImageUsageReportsCommand).resolves({
      ImageUsageReports: [
        { ReportId: 'amiur-1', State: 'available' },
        { ReportId: 'amiur-2', State: 'error', StateReason: 'Internal error' },
        { ReportId: 'amiur-3', State: 'queued' }
      ]
    })
    const states = await reportStates(aws(), REGION, ['amiur-1', 'amiur-2', 'amiur-3', 'amiur-4'])
    expect(Object.fromEntries(states)).toEqual({
      'amiur-1': { state: 'available' },
      'amiur-2': { state: 'error', reason: 'Internal error' },
      'amiur-3': { state: 'pending' },
      'amiur-4': { state: 'missing' }
    })
  })

  it('keep only the image a policy refuses a report on, and still ask about the others', async () => {
    const image = (n: number): ImageInfo => ({
      imageId: `ami-${n}`,
      name: `web-${n}`,
      description: '',
      state: 'available',
      snapshotIds: [],
      tags: new Map(),
      creationDate: '2026-10-01T00:00:00.000Z',
      encrypted: false,
      protected: false
    })
    ec2.on(DescribeImageReferencesCommand).resolves({ ImageReferences: [] })
    ec2.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [] })
    ec2.on(DescribeImageAttributeCommand).resolves({ LaunchPermissions: [{ UserId: '111111111111' }] })
    ec2.on(CreateImageUsageReportCommand).callsFake((input: CreateImageUsageReportCommandInput) => {
      if (input.ImageId === 'ami-1') throw awsError('UnauthorizedOperation')
      return { ReportId: input.ImageId!.replace('ami-', 'amiur-') }
    })
    ec2.on(DescribeImageUsageReportsCommand).callsFake((input: DescribeImageUsageReportsCommandInput) => ({
      ImageUsageReports: (input.ReportIds ?? []).map((ReportId) => ({ ReportId, State: 'available' }))
    }))
    ec2.on(DescribeImageUsageReportEntriesCommand).resolves({
      ImageUsageReportEntries: [{ ReportId: 'amiur-2', AccountId: '111111111111', ResourceType: 'ec2:Instance', UsageCount: 1 }]
    })
    ec2.on(DeleteImageUsageReportCommand).resolves({ Return: true })
    const use = await findUsers(testStep({ mode: 'prune', 'prune-name': 'web-*' }), REGION, [image(1), image(2), image(3)], {
      otherAccounts: true
    })
    expect(use.kept.get('ami-1')).toBe(
      'not checked for use by other accounts (UnauthorizedOperation): allow ec2:CreateImageUsageReport on it'
    )
    expect(use.users.get('ami-2')).toEqual(['account 111111111111: 1 instance'])
    expect(use.kept.has('ami-3')).toBe(false)
    expect(use.users.has('ami-3')).toBe(false)
    expect(use.warnings).toEqual([])
    expect(ec2.commandCalls(DeleteImageUsageReportCommand)).toHaveLength(2)
  })
})
