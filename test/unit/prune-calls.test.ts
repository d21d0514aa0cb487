// What a prune costs in EC2 calls, per kind, for N images that all retire and none in use: about
// one changing call per image, and describes that grow by the batch (10 images a reference call,
// 200 an instance or snapshot call, 1000 a listing page) — but for whom each candidate is shared
// with: DescribeImageAttribute takes one image, and EC2 has no batch form of it. What the plan
// frees adds, per region, one snapshot-use check and one DescribeSnapshots per 200 snapshots, and
// one ListRules per Recycle Bin resource type (and a GetRule per rule, of which there are none here).
import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  CreateImageUsageReportCommand,
  DeleteImageUsageReportCommand,
  DescribeImageAttributeCommand,
  DescribeImageReferencesCommand,
  DescribeImageUsageReportEntriesCommand,
  DescribeImageUsageReportsCommand,
  type DescribeImageAttributeCommandInput,
  type DescribeImageUsageReportsCommandInput,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  type DescribeImagesCommandInput,
  type Image
} from '@aws-sdk/client-ec2'
import { inUseMocks } from '../support/in-use-mocks.ts'
import { Aws } from '../../src/aws/client.ts'
import { prune as pruneMode } from '../../src/modes/prune/prune.ts'
import { testStep, type TestStep } from '../support/step.ts'
import { awsError } from '../support/aws-error.ts'

// Nothing in use unless a test says so (launch configurations, Spot, SSM parameters).
const { ec2: ec2Mock, reset: resetMocks } = inUseMocks()

const prune = (step: TestStep) => pruneMode(step, step.plan.prune!)

const NOW = Date.parse('2026-11-24T10:00:00Z')
// Pacing is not under test here: a bucket that never runs dry.
const UNPACED = { capacity: 1e9, refillPerSecond: 1e9 }

function images(count: number): Image[] {
  return Array.from({ length: count }, (_, i) => {
    const hex = (i + 1).toString(16).padStart(17, '0')
    return {
      ImageId: `ami-${hex}`,
      Name: `web-${i + 1}`,
      State: 'available',
      CreationDate: new Date(NOW - (i + 30) * 86_400_000).toISOString(),
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: `snap-${hex}` } }]
    }
  })
}

interface Server {
  /** false: credentials without ec2:DescribeImageReferences. */
  references: boolean
  /** false: the server deletes the snapshots but does not say so (moto). */
  reportsSnapshots: boolean
}

/** The region's launch templates: the fallback lists each one's versions. */
const TEMPLATES = ['lt-0aaaaaaaaaaaaaaaa', 'lt-0bbbbbbbbbbbbbbbb', 'lt-0cccccccccccccccc']

/** N matching images served a page at a time, as EC2 does with MaxResults. */
function serve(count: number, server: Server): void {
  const all = images(count)
  ec2Mock.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
    if (input.Filters?.[0]?.Name === 'block-device-mapping.snapshot-id') return { Images: [] }
    const from = Number(input.NextToken ?? 0)
    const to = from + (input.MaxResults ?? 1000)
    return { Images: all.slice(from, to), ...(to < all.length && { NextToken: String(to) }) }
  })
  if (server.references) ec2Mock.on(DescribeImageReferencesCommand).resolves({ ImageReferences: [] })
  else ec2Mock.on(DescribeImageReferencesCommand).rejects(awsError('UnauthorizedOperation'))
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] })
  ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: TEMPLATES.map((LaunchTemplateId) => ({ LaunchTemplateId })) })
  ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [] })
  ec2Mock.on(DeregisterImageCommand).callsFake((input: { ImageId: string; DryRun?: boolean }) => {
    if (input.DryRun) throw awsError('DryRunOperation')
    const SnapshotId = input.ImageId.replace('ami-', 'snap-')
    return { Return: true, ...(server.reportsSnapshots && { DeleteSnapshotResults: [{ SnapshotId, ReturnCode: 'success' }] }) }
  })
  ec2Mock.on(DeleteSnapshotCommand).rejects(awsError('DryRunOperation'))
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] })
}

async function callsFor(count: number, server: Server, dryRun = false): Promise<Record<string, number>> {
  serve(count, server)
  const step = testStep({ mode: 'prune', 'prune-name': 'web-*', keep: '0', 'max-deletions': String(count), 'dry-run': String(dryRun) })
  step.aws = new Aws({ maxAttempts: 1, dryRun, buckets: { describe: UNPACED, change: UNPACED } })
  await prune(step)
  expect(step.journal.retired.get('us-east-1')?.imageIds).toHaveLength(count)
  return Object.fromEntries(step.aws.counts)
}

beforeEach(() => {
  resetMocks()
})

/** Launch configurations, Spot Fleet requests and Spot requests: one page each, whatever N. */
const LAUNCHERS = { DescribeSpotFleetRequests: 1, DescribeSpotInstanceRequests: 1, 'autoscaling:DescribeLaunchConfigurations': 1 }

/** What the plan frees: which snapshots go (200 a call), their sizes (200 a call), the Recycle Bin rules. */
const SAVINGS_BATCHES = (n: number) => Math.ceil(n / 200)

/** Launch templates are listed on both paths: one listing, and one call per template. */
const withReferences = (n: number) => ({
  DescribeImages: 1 + SAVINGS_BATCHES(n),
  DescribeSnapshots: SAVINGS_BATCHES(n),
  'rbin:ListRules': 2,
  DescribeImageReferences: n / 10,
  DescribeLaunchTemplates: 1,
  DescribeLaunchTemplateVersions: TEMPLATES.length,
  DescribeImageAttribute: n,
  ...LAUNCHERS
})

/**
 * The first `count` of N images shared with another account, and usage reports EC2 makes ready at
 * once with nothing in them; returns how many reports were ever pending at once.
 */
function shareAndReport(n: number, count: number, permission: { UserId?: string; OrganizationArn?: string }): { most: () => number } {
  const shared = new Set(
    images(n)
      .slice(0, count)
      .map((image) => image.ImageId!)
  )
  let pending = 0
  let most = 0
  ec2Mock.on(DescribeImageAttributeCommand).callsFake((input: DescribeImageAttributeCommandInput) => ({
    LaunchPermissions: shared.has(input.ImageId!) ? [permission] : []
  }))
  ec2Mock.on(CreateImageUsageReportCommand).callsFake((input: { ImageId: string }) => {
    most = Math.max(most, ++pending)
    return { ReportId: input.ImageId.replace('ami-', 'amiur-') }
  })
  ec2Mock.on(DescribeImageUsageReportsCommand).callsFake((input: DescribeImageUsageReportsCommandInput) => ({
    ImageUsageReports: (input.ReportIds ?? []).map((ReportId) => ({ ReportId, State: 'available' }))
  }))
  ec2Mock.on(DescribeImageUsageReportEntriesCommand).resolves({ ImageUsageReportEntries: [] })
  ec2Mock.on(DeleteImageUsageReportCommand).callsFake(() => {
    pending--
    return { Return: true }
  })
  return { most: () => most }
}

describe('the EC2 calls a prune of N images makes', () => {
  it('with DescribeImageReferences, on EC2 (which reports the snapshots it deleted)', async () => {
    const server = { references: true, reportsSnapshots: true }
    expect(await callsFor(100, server)).toEqual({ ...withReferences(100), DeregisterImage: 100 })
    expect(await callsFor(1000, server)).toEqual({ ...withReferences(1000), DeregisterImage: 1000 })
  })

  it('without DescribeImageReferences, on a server that does not report the snapshots it deleted', async () => {
    const server = { references: false, reportsSnapshots: false }
    const describes = (n: number) => ({
      DescribeImages: 1 + SAVINGS_BATCHES(n),
      'rbin:ListRules': 2,
      DescribeImageReferences: 1,
      DescribeInstances: Math.ceil(n / 200),
      DescribeLaunchTemplates: 1,
      DescribeLaunchTemplateVersions: TEMPLATES.length,
      DescribeSnapshots: Math.ceil(n / 200) + SAVINGS_BATCHES(n),
      // SSM parameters of data type aws:ec2:image, which DescribeImageReferences would have covered.
      'ssm:DescribeParameters': 1,
      DescribeImageAttribute: n,
      ...LAUNCHERS
    })
    expect(await callsFor(100, server)).toEqual({ ...describes(100), DeregisterImage: 100 })
    expect(await callsFor(1000, server)).toEqual({ ...describes(1000), DeregisterImage: 1000 })
  })

  it('in a dry run: the same describes, one snapshot-use check per 200 snapshots, one permission check of each kind', async () => {
    const server = { references: true, reportsSnapshots: true }
    expect(await callsFor(1000, server, true)).toEqual({
      DescribeImages: 1 + 5,
      DescribeSnapshots: 5,
      'rbin:ListRules': 2,
      DescribeImageReferences: 100,
      DescribeLaunchTemplates: 1,
      DescribeLaunchTemplateVersions: TEMPLATES.length,
      DescribeImageAttribute: 1000,
      ...LAUNCHERS,
      DeregisterImage: 1,
      DeleteSnapshot: 1
    })
  })

  it('with K of N images shared: a usage report made and deleted for each of the K, read 200 at a time, the same for every N', async () => {
    const server = { references: true, reportsSnapshots: true }
    const reports = {
      CreateImageUsageReport: 250,
      DescribeImageUsageReports: 2,
      DescribeImageUsageReportEntries: 2,
      DeleteImageUsageReport: 250
    }
    for (const n of [500, 1000]) {
      resetMocks()
      shareAndReport(n, 250, { UserId: '111111111111' })
      expect(await callsFor(n, server)).toEqual({ ...withReferences(n), ...reports, DeregisterImage: n })
    }
  })

  it('asks about 1,500 shared images in waves, never more than 1,000 reports pending at once (EC2 allows 2,000)', async () => {
    const server = { references: true, reportsSnapshots: true }
    const n = 2000
    const { most } = shareAndReport(n, 1500, { OrganizationArn: 'arn:aws:organizations::111122223333:organization/o-abc' })
    const calls = await callsFor(n, server)
    expect(most()).toBe(1000)
    expect(calls).toMatchObject({
      CreateImageUsageReport: 1500,
      DeleteImageUsageReport: 1500,
      DescribeImageUsageReports: 5 + 3,
      DescribeImageUsageReportEntries: 5 + 3
    })
  })
})
