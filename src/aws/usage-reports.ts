// AMI usage reports (EC2 User Guide, "View your AMI usage"): the only way an image's owner learns
// which other accounts use it in instances and launch templates. A report is made per image, is
// pending for a while, then available (or error); its entries count, per account and resource
// type, what uses the image. Made only for shared images, read in batches, removed once read.
import {
  CreateImageUsageReportCommand,
  DeleteImageUsageReportCommand,
  DescribeImageUsageReportEntriesCommand,
  DescribeImageUsageReportsCommand
} from '@aws-sdk/client-ec2'
import { randomUUID } from 'node:crypto'
import type { Aws } from './client.ts'
import { errorCode } from './errors.ts'

/**
 * ImageUsageResourceTypeOptionRequest, version-depth: "Integers between 1 and 10000. Default: 20".
 * The largest, so that a version an Auto Scaling group pins far back is seen.
 */
export const REPORT_VERSION_DEPTH = 10_000
/** ReportId.N and ImageId.N take at most 200 items (DescribeImageUsageReports, ...Entries). */
const REPORT_BATCH = 200

/** The permissions a usage report needs, for the warning when one is missing. */
export const REPORT_PERMISSIONS =
  'ec2:CreateImageUsageReport, ec2:DescribeImageUsageReports, ec2:DescribeImageUsageReportEntries and ec2:DeleteImageUsageReport'

export interface ReportState {
  state: 'pending' | 'available' | 'error' | 'missing'
  reason?: string
}

/** One account's use of the image, by resource type (`ec2:Instance` → 2). */
export type AccountUse = Map<string, Map<string, number>>

/**
 * Asks EC2 for a report on the image: instances and every launch template version, in all
 * accounts. A fresh client token per report, so that the SDK's retry of a lost reply answers the
 * same report and never makes a second. Sent in a dry run too (Aws.scratch).
 */
export async function createUsageReport(aws: Aws, region: string, imageId: string): Promise<string> {
  const { ReportId } = await aws.scratch(region, 'CreateImageUsageReport', `image ${imageId}`, (client) =>
    client.send(
      new CreateImageUsageReportCommand({
        ImageId: imageId,
        ResourceTypes: [
          { ResourceType: 'ec2:Instance' },
          {
            ResourceType: 'ec2:LaunchTemplate',
            ResourceTypeOptions: [{ OptionName: 'version-depth', OptionValues: [String(REPORT_VERSION_DEPTH)] }]
          }
        ],
        ClientToken: randomUUID()
      })
    )
  )
  if (!ReportId) throw new Error(`CreateImageUsageReport in ${region} for ${imageId} answered no report id`)
  return ReportId
}

function batches<T>(all: readonly T[]): T[][] {
  return Array.from({ length: Math.ceil(all.length / REPORT_BATCH) }, (_, i) => all.slice(i * REPORT_BATCH, (i + 1) * REPORT_BATCH))
}

/**
 * The state of each report, 200 to a call; a report EC2 does not list is `missing`. EC2 documents
 * no error for an unknown report id: should a batch be refused as naming one that is not found, its
 * reports are asked one by one, and the one refused is `missing` — one expired report never fails
 * the others.
 */
export async function reportStates(aws: Aws, region: string, reportIds: readonly string[]): Promise<Map<string, ReportState>> {
  const states = new Map<string, ReportState>(reportIds.map((id) => [id, { state: 'missing' }]))
  const describe = async (batch: readonly string[]): Promise<void> => {
    const pages = aws.pages(region, 'DescribeImageUsageReports', `${batch.length} usage reports`, (client, NextToken) =>
      client.send(new DescribeImageUsageReportsCommand({ ReportIds: [...batch], NextToken }))
    )
    for await (const page of pages) {
      for (const report of page.ImageUsageReports ?? []) {
        if (!report.ReportId || !states.has(report.ReportId)) continue
        const state = report.State === 'available' || report.State === 'error' || report.State === 'pending' ? report.State : 'pending'
        states.set(report.ReportId, { state, ...(report.StateReason && { reason: report.StateReason }) })
      }
    }
  }
  for (const batch of batches(reportIds)) {
    try {
      await describe(batch)
    } catch (error) {
      if (!notFound(error)) throw error
      for (const id of batch) await describe([id]).catch((one: unknown) => (notFound(one) ? undefined : Promise.reject(one)))
    }
  }
  return states
}

const notFound = (error: unknown): boolean => /NotFound$/.test(errorCode(error) ?? '')

/** The reports EC2 lists for these images made since `since` (a report whose reply was lost, say). */
export async function reportsOf(aws: Aws, region: string, imageIds: readonly string[], since: number): Promise<string[]> {
  const found: string[] = []
  for (const batch of batches(imageIds)) {
    const pages = aws.pages(region, 'DescribeImageUsageReports', `usage reports of ${batch.length} images`, (client, NextToken) =>
      client.send(new DescribeImageUsageReportsCommand({ ImageIds: batch, NextToken }))
    )
    for await (const page of pages) {
      for (const report of page.ImageUsageReports ?? []) {
        const made = report.CreationTime?.getTime() ?? Number.POSITIVE_INFINITY
        if (report.ReportId && made >= since) found.push(report.ReportId)
      }
    }
  }
  return found
}

/**
 * Each available report's entries, 200 reports to a call: report id → account → resource type →
 * count. EC2 pages them as it likes (no MaxResults is sent: the API Reference does not say it may
 * go with ReportIds). An entry is use, whatever it says: one without a count counts as 1, one that
 * names no report is matched by its image, and one that names no account is "an account EC2 did
 * not name" — never dropped.
 */
export async function reportEntries(aws: Aws, region: string, reports: ReadonlyMap<string, string>): Promise<Map<string, AccountUse>> {
  const byImage = new Map([...reports].map(([imageId, reportId]) => [imageId, reportId]))
  const found = new Map<string, AccountUse>([...reports.values()].map((id) => [id, new Map()]))
  for (const batch of batches([...reports.values()])) {
    const pages = aws.pages(region, 'DescribeImageUsageReportEntries', `entries of ${batch.length} usage reports`, (client, NextToken) =>
      client.send(new DescribeImageUsageReportEntriesCommand({ ReportIds: batch, NextToken }))
    )
    for await (const page of pages) {
      for (const entry of page.ImageUsageReportEntries ?? []) {
        const reportId = entry.ReportId && found.has(entry.ReportId) ? entry.ReportId : byImage.get(entry.ImageId ?? '')
        const report = reportId === undefined ? undefined : found.get(reportId)
        if (!report) continue
        const account = entry.AccountId || 'an account EC2 did not name'
        const use = report.get(account) ?? new Map<string, number>()
        const type = entry.ResourceType ?? 'resource'
        use.set(type, (use.get(type) ?? 0) + (entry.UsageCount || 1))
        report.set(account, use)
      }
    }
  }
  return found
}

export async function deleteUsageReport(aws: Aws, region: string, reportId: string): Promise<void> {
  await aws.scratch(region, 'DeleteImageUsageReport', `usage report ${reportId}`, (client) =>
    client.send(new DeleteImageUsageReportCommand({ ReportId: reportId }))
  )
}

/** "account 111111111111: 2 instances, 1 launch template" */
export function describeAccountUse(account: string, use: ReadonlyMap<string, number>): string {
  const words: Record<string, [string, string]> = {
    'ec2:Instance': ['instance', 'instances'],
    'ec2:LaunchTemplate': ['launch template', 'launch templates']
  }
  const parts = [...use].map(([type, count]) => {
    const [one, many] = words[type] ?? [type, type]
    return `${count} ${count === 1 ? one : many}`
  })
  return /^\d{12}$/.test(account) ? `account ${account}: ${parts.join(', ')}` : `${account}: ${parts.join(', ')}`
}
