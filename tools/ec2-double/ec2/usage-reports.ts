// AMI usage reports, which moto lacks (EC2 User Guide, "View your AMI usage"; EC2 API Reference,
// CreateImageUsageReport, DescribeImageUsageReports, DescribeImageUsageReportEntries,
// DeleteImageUsageReport, ImageUsageReport, ImageUsageReportEntry): how other accounts use an image
// this account owns, in instances and launch templates, counted per account.
import type { Caller } from '../caller.ts'
import { USAGE_REPORT_MS, USAGE_REPORTS_PENDING } from '../options.ts'
import { FrontError, okBody, type Reply } from '../protocol.ts'
import type { OtherAccount, UsageReport } from '../state.ts'
import { leaf, node, type XmlElement } from '../xml.ts'
import { requireImage } from './lookups.ts'
import { fingerprintOf, isDryRun, listed, takeFilters } from './requests.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** ImageUsageReport, expirationTime: "30 days after the report was created". */
const EXPIRES_AFTER_MS = 30 * DAY
/**
 * "Instance activity from the past 24 hours and launch template activity from the past few days
 * might not appear in the report" (User Guide). The double leaves out all of it, at its strictest:
 * instances launched in the last 24 hours and launch template versions made in the last 7 days
 * ("a few days" read as a week) are never counted.
 */
export const INSTANCE_BLIND_MS = DAY
export const TEMPLATE_BLIND_MS = 7 * DAY
/**
 * API Reference, ImageUsageResourceTypeRequest: "Valid values: ec2:Instance | ec2:LaunchTemplate".
 * Newer SDK models add Image Builder recipes; the reference page does not, so the double refuses them.
 */
const RESOURCE_TYPES = ['ec2:Instance', 'ec2:LaunchTemplate']
/** ImageUsageResourceTypeOptionRequest: version-depth, "Integers between 1 and 10000", "Default: 20". */
const DEPTH = { min: 1, max: 10_000, default: 20 }
/** ImageId.N, ReportId.N and AccountId.N: "Maximum number of 200 items". */
const MAX_IDS = 200

/**
 * CreateImageUsageReport: the caller must own the image (a report is about "your image"); the
 * resource types are required and each must be one EC2 names, version-depth only for launch
 * templates and within its range; at most 200 account ids; a ClientToken makes a retry answer the
 * first report (a different request under the same token is IdempotentParameterMismatch). The
 * report is pending for FrontOptions.usageReportMs, and the entries are those of the moment it was
 * made, less the activity the report may miss. Checks come before DryRun. Report quotas (User
 * Guide, per region): 2,000 pending reports per account (FrontOptions.usageReportsPending) and one
 * pending report per AMI. EC2 documents no error code for either; the double answers
 * ResourceLimitExceeded, EC2's common code for a quota reached.
 */
export async function createImageUsageReport(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const imageId = params.get('ImageId') ?? ''
  if (!imageId) throw new FrontError(400, 'MissingParameter', 'The request must contain the parameter ImageId.')
  await requireImage(caller, imageId)
  if (!(await ownedBy(caller, imageId)))
    throw new FrontError(
      400,
      'InvalidAMIID.Unavailable',
      `You do not own image ${imageId}; a usage report can be made only for your own images.`
    )
  const resourceTypes = readResourceTypes(params)
  const accountIds = listed(params, /^AccountId\.\d+$/)
  if (accountIds.length > MAX_IDS)
    throw new FrontError(400, 'InvalidParameterValue', `AccountIds takes at most ${MAX_IDS} account ids; ${accountIds.length} were given.`)
  const bad = accountIds.find((id) => !/^\d{12}$/.test(id))
  if (bad !== undefined) throw new FrontError(400, 'InvalidParameterValue', `Account id '${bad}' is not a 12-digit AWS account id.`)
  const now = caller.now()
  expire(caller, now)
  const token = params.get('ClientToken') ?? undefined
  const fingerprint = fingerprintOf(params)
  const again =
    token === undefined
      ? undefined
      : [...caller.state.usageReports.values()].find((r) => r.scope === caller.scope && r.clientToken === token)
  if (again && again.fingerprint !== fingerprint)
    throw new FrontError(400, 'IdempotentParameterMismatch', `Client token ${token} was used with a different request.`)
  if (isDryRun(params)) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  if (again) return created(again)
  const pending = [...caller.state.usageReports.values()].filter((r) => r.scope === caller.scope && now < r.readyAt)
  const limit = caller.options.usageReportsPending ?? USAGE_REPORTS_PENDING
  if (pending.length >= limit)
    throw new FrontError(
      400,
      'ResourceLimitExceeded',
      `You have ${pending.length} usage reports pending, the most allowed at once (${limit}).`
    )
  if (pending.some((r) => r.imageId === imageId))
    throw new FrontError(
      400,
      'ResourceLimitExceeded',
      `A usage report for ${imageId} is already pending; an AMI may have one pending report at a time.`
    )
  const report: UsageReport = {
    reportId: `amiur-${String(++caller.state.usageReportsMade).padStart(17, '0')}`,
    scope: caller.scope,
    imageId,
    resourceTypes,
    accountIds,
    createdAt: now,
    readyAt: now + (caller.options.usageReportMs ?? USAGE_REPORT_MS),
    visibleAt: now + (caller.options.usageReportInvisibleMs ?? 0),
    entries: [],
    fingerprint,
    ...(token !== undefined && { clientToken: token })
  }
  const error = caller.options.usageReportError?.(imageId)
  if (error !== undefined) report.error = error
  else report.entries = entriesOf(caller, report)
  caller.state.usageReports.set(report.reportId, report)
  return created(report)
}

function created(report: UsageReport): Reply {
  return { status: 200, body: okBody('CreateImageUsageReport', [leaf('reportId', report.reportId)]) }
}

async function ownedBy(caller: Caller, imageId: string): Promise<boolean> {
  const found = await caller.moto('DescribeImages', { 'ImageId.1': imageId, 'Owner.1': 'self' })
  return found.children.some((c) => c.name === 'imagesSet' && c.children.length > 0)
}

/** ResourceType.N.ResourceType and its ResourceTypeOption.M.OptionName / OptionValue.K. */
function readResourceTypes(params: URLSearchParams): UsageReport['resourceTypes'] {
  const types: UsageReport['resourceTypes'] = []
  for (const [key, type] of params) {
    const n = /^ResourceType\.(\d+)\.ResourceType$/.exec(key)?.[1]
    if (n === undefined) continue
    if (!RESOURCE_TYPES.includes(type))
      throw new FrontError(
        400,
        'InvalidParameterValue',
        `Resource type '${type}' is not valid; valid values: ${RESOURCE_TYPES.join(' | ')}.`
      )
    const options = new Map<string, string[]>()
    for (const [k, name] of params) {
      const m = new RegExp(`^ResourceType\\.${n}\\.ResourceTypeOption\\.(\\d+)\\.OptionName$`).exec(k)?.[1]
      if (m === undefined) continue
      options.set(name, listed(params, new RegExp(`^ResourceType\\.${n}\\.ResourceTypeOption\\.${m}\\.OptionValue\\.\\d+$`)))
    }
    for (const [name, values] of options) {
      if (type !== 'ec2:LaunchTemplate' || name !== 'version-depth')
        throw new FrontError(
          400,
          'InvalidParameterValue',
          `Option '${name}' is not valid for ${type}; only ec2:LaunchTemplate takes version-depth.`
        )
      const depth = Number(values[0])
      if (values.length !== 1 || !Number.isInteger(depth) || depth < DEPTH.min || depth > DEPTH.max)
        throw new FrontError(
          400,
          'InvalidParameterValue',
          `version-depth must be one integer between ${DEPTH.min} and ${DEPTH.max}; '${values.join(',')}' was given.`
        )
    }
    types.push({ type, options })
  }
  if (types.length === 0) throw new FrontError(400, 'MissingParameter', 'The request must contain the parameter ResourceTypes.')
  return types
}

/**
 * What the report finds, per other account: its instances of the image (not terminated) and its
 * launch templates whose newest version-depth versions name it — counted once per template however
 * many versions do ("if an AMI is referenced in multiple versions of a launch template, the count is
 * only 1") — less what the report may miss. Only the accounts asked, if any were.
 */
function entriesOf(caller: Caller, report: UsageReport): UsageReport['entries'] {
  const asked = (account: OtherAccount): boolean => report.accountIds.length === 0 || report.accountIds.includes(account.account)
  const wants = (type: string) => report.resourceTypes.find((t) => t.type === type)
  const entries: UsageReport['entries'] = []
  for (const account of caller.state.otherAccounts.values()) {
    if (!asked(account)) continue
    if (wants('ec2:Instance')) {
      const count = account.instances.filter(
        (i) =>
          i.imageId === report.imageId &&
          i.region === caller.region &&
          !i.terminated &&
          i.launchedAt <= report.createdAt - INSTANCE_BLIND_MS
      ).length
      if (count > 0) entries.push({ resourceType: 'ec2:Instance', accountId: account.account, usageCount: count })
    }
    const templates = wants('ec2:LaunchTemplate')
    if (templates) {
      const depth = Number(templates.options.get('version-depth')?.[0] ?? DEPTH.default)
      const seen = account.templateVersions.filter((v) => v.region === caller.region && v.createdAt <= report.createdAt)
      const ids = new Set(seen.map((v) => v.templateId))
      const count = [...ids].filter((id) =>
        seen
          .filter((v) => v.templateId === id)
          .sort((a, b) => b.version - a.version)
          .slice(0, depth)
          .some((v) => v.imageId === report.imageId && v.createdAt <= report.createdAt - TEMPLATE_BLIND_MS)
      ).length
      if (count > 0) entries.push({ resourceType: 'ec2:LaunchTemplate', accountId: account.account, usageCount: count })
    }
  }
  return entries
}

function stateOf(report: UsageReport, now: number): 'pending' | 'available' | 'error' {
  if (now < report.readyAt) return 'pending'
  return report.error === undefined ? 'available' : 'error'
}

/** Reports past their expiration time are gone, as EC2 deletes them. */
function expire(caller: Caller, now: number): void {
  for (const [id, report] of caller.state.usageReports) if (now >= report.createdAt + EXPIRES_AFTER_MS) caller.state.usageReports.delete(id)
}

/** The caller's reports that the request names (ReportId.N, ImageId.N; at most 200 of each). */
function chosen(caller: Caller, params: URLSearchParams): UsageReport[] {
  const reportIds = listed(params, /^ReportId\.\d+$/)
  const imageIds = listed(params, /^ImageId\.\d+$/)
  for (const [what, ids] of [
    ['ReportIds', reportIds],
    ['ImageIds', imageIds]
  ] as const)
    if (ids.length > MAX_IDS)
      throw new FrontError(400, 'InvalidParameterValue', `${what} takes at most ${MAX_IDS} ids; ${ids.length} were given.`)
  const now = caller.now()
  expire(caller, now)
  return [...caller.state.usageReports.values()].filter(
    (r) =>
      r.scope === caller.scope &&
      now >= r.visibleAt &&
      (reportIds.length === 0 || reportIds.includes(r.reportId)) &&
      (imageIds.length === 0 || imageIds.includes(r.imageId))
  )
}

/** Filter values with `*` matching any run of characters (creation-time's documented wildcard). */
function matches(patterns: readonly string[] | undefined, value: string): boolean {
  if (patterns === undefined) return true
  return patterns.some((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(value))
}

/** One page of items: MaxResults (at least 1) and an opaque NextToken, as EC2's Pagination page says. */
function page<T>(params: URLSearchParams, all: readonly T[]): { items: T[]; next?: string } {
  const max = params.has('MaxResults') ? Number(params.get('MaxResults')) : 1000
  if (!Number.isInteger(max) || max < 1)
    throw new FrontError(400, 'InvalidParameterValue', `MaxResults must be at least 1; '${params.get('MaxResults')}' was given.`)
  const from = Number(params.get('NextToken') ?? 0)
  const items = all.slice(from, from + max)
  return { items, ...(from + max < all.length && { next: String(from + max) }) }
}

/** DescribeImageUsageReports: filters state and creation-time (tag filters: the double keeps no report tags). */
export async function describeImageUsageReports(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const { taken } = takeFilters(params, ['state', 'creation-time'])
  if (isDryRun(params)) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  const now = caller.now()
  const reports = chosen(caller, params).filter(
    (r) => matches(taken.get('state'), stateOf(r, now)) && matches(taken.get('creation-time'), new Date(r.createdAt).toISOString())
  )
  const { items, next } = page(params, reports)
  const item = (r: UsageReport): XmlElement => {
    const state = stateOf(r, now)
    return node('item', [
      leaf('imageId', r.imageId),
      leaf('reportId', r.reportId),
      node(
        'resourceTypeSet',
        r.resourceTypes.map((t) =>
          node('item', [
            leaf('resourceType', t.type),
            node(
              'resourceTypeOptionSet',
              [...t.options].map(([name, values]) =>
                node('item', [
                  leaf('optionName', name),
                  node(
                    'optionValueSet',
                    values.map((v) => leaf('item', v))
                  )
                ])
              )
            )
          ])
        )
      ),
      node(
        'accountIdSet',
        r.accountIds.map((id) => leaf('item', id))
      ),
      leaf('state', state),
      ...(state === 'error' ? [leaf('stateReason', r.error ?? '')] : []),
      leaf('creationTime', new Date(r.createdAt).toISOString()),
      leaf('expirationTime', new Date(r.createdAt + EXPIRES_AFTER_MS).toISOString())
    ])
  }
  return {
    status: 200,
    body: okBody('DescribeImageUsageReports', [node('imageUsageReportSet', items.map(item)), ...(next ? [leaf('nextToken', next)] : [])])
  }
}

/**
 * DescribeImageUsageReportEntries: the entries of available reports only (a pending or failed
 * report has none to show), filtered by account-id, resource-type and creation-time.
 */
export async function describeImageUsageReportEntries(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const { taken } = takeFilters(params, ['account-id', 'resource-type', 'creation-time'])
  if (isDryRun(params)) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  const now = caller.now()
  const entries = chosen(caller, params)
    .filter((r) => stateOf(r, now) === 'available' && matches(taken.get('creation-time'), new Date(r.createdAt).toISOString()))
    .flatMap((r) => r.entries.map((e) => ({ ...e, report: r })))
    .filter((e) => matches(taken.get('account-id'), e.accountId) && matches(taken.get('resource-type'), e.resourceType))
  const { items, next } = page(params, entries)
  const item = (e: (typeof entries)[number]): XmlElement =>
    node('item', [
      leaf('resourceType', e.resourceType),
      leaf('reportId', e.report.reportId),
      leaf('usageCount', String(e.usageCount)),
      leaf('accountId', e.accountId),
      leaf('imageId', e.report.imageId),
      leaf('reportCreationTime', new Date(e.report.createdAt).toISOString())
    ])
  return {
    status: 200,
    body: okBody('DescribeImageUsageReportEntries', [
      node('imageUsageReportEntrySet', items.map(item)),
      ...(next ? [leaf('nextToken', next)] : [])
    ])
  }
}

/** DeleteImageUsageReport: the caller's own report, pending or not; an unknown id is refused. */
export async function deleteImageUsageReport(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const reportId = params.get('ReportId') ?? ''
  expire(caller, caller.now())
  const report = caller.state.usageReports.get(reportId)
  if (!report || report.scope !== caller.scope)
    throw new FrontError(400, 'InvalidImageUsageReportId.NotFound', `The usage report ID '${reportId}' does not exist`)
  if (isDryRun(params)) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  caller.state.usageReports.delete(reportId)
  return { status: 200, body: okBody('DeleteImageUsageReport', [leaf('return', 'true')]) }
}
