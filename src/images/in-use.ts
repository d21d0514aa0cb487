// Is an image in use, anywhere? This account's instances, launch templates, SSM parameters,
// Image Builder recipes, launch configurations and Spot requests (aws/in-use.ts); and, for an image
// shared with other accounts, what an AMI usage report shows of theirs. Prune and
// `if-exists: replace` ask the same question here, and both fail closed: where a check cannot be
// made, the images it could have cleared are kept, with the reason.
import type { ImageInfo } from '../aws/images.ts'
import { errorCode } from '../aws/errors.ts'
import { findUsage, unavailable } from '../aws/in-use.ts'
import { sharedWith } from '../aws/sharing.ts'
import { anAttemptWentUnanswered, isUncodedAnswer, isUnknownOperation } from '../aws/retry.ts'
import {
  createUsageReport,
  deleteUsageReport,
  describeAccountUse,
  REPORT_PERMISSIONS,
  reportEntries,
  reportsOf,
  reportStates,
  type ReportState
} from '../aws/usage-reports.ts'
import { lookAgain, type Context } from '../context.ts'
import { errorMessage } from '../errors.ts'
import { CLOCK_SKEW_MS, LAUNCH_REPORT_DELAY_MS } from '../limits.ts'
import { IN_FLIGHT, inPool } from '../pool.ts'
import { formatDuration } from '../time.ts'

export interface ImageUse {
  /** image id → who uses it ("instance i-…", "account 111111111111: 2 instances"). */
  users: Map<string, string[]>
  /** image id → why it is kept though no user was found: a check that could not be made, or one that may not see recent use. */
  kept: Map<string, string>
  /** image id → whom it is shared with, for each image asked about that nothing in this account uses. */
  sharedWith: Map<string, string[]>
  /** How use was found: for the log. */
  method: string
  /** One per check that could not be made: what it means and the IAM permission to add. */
  warnings: string[]
}

/**
 * "Instance activity from the past 24 hours ... might not appear in the report" (User Guide, "View
 * your AMI usage"), and LastLaunchedTime is reported up to 24 hours late: a shared image that
 * launched an instance within the two days together is kept, whatever its report says.
 */
export const REPORT_BLIND_MS = 24 * 3_600_000 + LAUNCH_REPORT_DELAY_MS

export interface UseQuestion {
  /**
   * Ask other accounts too (a usage report for each shared image). Prune's disable stage does not:
   * it keeps every shared image anyway, since DisableImage would take the launch permissions away.
   */
  otherAccounts: boolean
}

export async function findUsers(context: Context, region: string, images: readonly ImageInfo[], question: UseQuestion): Promise<ImageUse> {
  const { aws } = context
  const local = await findUsage(
    aws,
    region,
    images.map((image) => image.imageId)
  )
  const use: ImageUse = { users: local.users, kept: new Map(), sharedWith: new Map(), method: local.method, warnings: [...local.notes] }
  const free = images.filter((image) => !local.users.has(image.imageId))
  if (local.unchecked) {
    use.warnings.push(local.unchecked.warning)
    for (const image of free) use.kept.set(image.imageId, local.unchecked.reason)
    return use
  }
  await findSharing(context, region, free, use)
  if (!question.otherAccounts) return use
  const shared = free.filter((image) => (use.sharedWith.get(image.imageId) ?? []).length > 0)
  if (shared.length === 0) return use
  use.method += `; for the ${shared.length} shared with other accounts, AMI usage reports (their instances and launch template versions)`
  await askOtherAccounts(context, region, shared, use)
  const now = context.clock.now()
  for (const image of shared) {
    if (use.users.has(image.imageId) || use.kept.has(image.imageId) || !image.lastLaunchedTime) continue
    const since = now - Date.parse(image.lastLaunchedTime)
    if (since <= REPORT_BLIND_MS) {
      use.kept.set(
        image.imageId,
        `shared, and it launched an instance ${formatDuration(Math.max(0, since))} ago: a usage report may miss the last day of other accounts' launches, and EC2 reports a launch up to a day late`
      )
    }
  }
  return use
}

/** Whom each image is shared with (DescribeImageAttribute: one call per image, EC2 has no batch form). */
async function findSharing(context: Context, region: string, images: readonly ImageInfo[], use: ImageUse): Promise<void> {
  try {
    await inPool(images, IN_FLIGHT, async (image) => {
      const who = await sharedWith(context.aws, region, image.imageId)
      if (who.length > 0) use.sharedWith.set(image.imageId, who)
    })
  } catch (error) {
    if (!unavailable(error)) throw error
    use.warnings.push(
      `Whom images are shared with could not be read in ${region} (${errorMessage(error)}), so no image is retired there that other accounts might use. Allow ec2:DescribeImageAttribute.`
    )
    const reason = 'not checked for sharing with other accounts: allow ec2:DescribeImageAttribute'
    for (const image of images) use.kept.set(image.imageId, reason)
  }
}

/**
 * EC2 allows 2,000 pending usage reports per account and region (User Guide, "View your AMI usage",
 * Report quotas): shared images are asked about in waves of at most half that, leaving room for
 * other jobs of the account.
 */
export const REPORT_WAVE = 1000

/**
 * A usage report per shared image: each wave's reports made in parallel, waited for together, read
 * together, and deleted once read — or, when the job is cancelled before, named in the log (EC2
 * deletes a report after 30 days). Refusals of the first few reports in a row (permissions, an
 * endpoint without them) keep every shared image, with one warning.
 */
async function askOtherAccounts(context: Context, region: string, images: readonly ImageInfo[], use: ImageUse): Promise<void> {
  for (let at = 0; at < images.length; at += REPORT_WAVE) {
    const wave = images.slice(at, at + REPORT_WAVE)
    const refused = await askInWave(context, region, wave, use)
    if (refused === undefined) continue
    use.warnings.push(
      `AMI usage reports could not be made in ${region} (${errorMessage(refused)}), so no image shared with other accounts is retired there. Allow ${REPORT_PERMISSIONS}.`
    )
    const reason = `not checked for use by other accounts: allow ${REPORT_PERMISSIONS}`
    // No report was made in this wave: every image from it on is kept for the same reason.
    for (const image of images.slice(at)) if (!use.users.has(image.imageId)) use.kept.set(image.imageId, reason)
    return
  }
}

/**
 * Refusals of the first reports in a row, none made yet, after which the credentials are taken to
 * lack the permission altogether: a policy that allows reports on some images only (by tag, say)
 * refuses those images alone, and the others are still asked about.
 */
const DENIALS_BEFORE_GIVING_UP = 3

/** One wave; returns the error that refused usage reports altogether, if one did. */
async function askInWave(context: Context, region: string, images: readonly ImageInfo[], use: ImageUse): Promise<unknown> {
  const { aws } = context
  const reports = new Map<string, string>()
  /** Images whose report EC2 may have made though no reply said so: found and deleted afterwards. */
  const lost: { imageId: string; sentAt: number }[] = []
  const failClosed = (image: ImageInfo, reason: string): void => void use.kept.set(image.imageId, reason)
  let made = 0
  let denials = 0
  const create = async (image: ImageInfo): Promise<void> => {
    const sentAt = context.clock.now()
    try {
      reports.set(image.imageId, await createUsageReport(aws, region, image.imageId))
      made++
    } catch (error) {
      context.signal.throwIfAborted()
      // An endpoint without the operation lacks it for every image.
      if (isUnknownOperation(error) || isUncodedAnswer(error)) throw error
      if (anAttemptWentUnanswered(error)) lost.push({ imageId: image.imageId, sentAt })
      if (unavailable(error)) {
        denials++
        failClosed(image, `not checked for use by other accounts (${errorCode(error)}): allow ec2:CreateImageUsageReport on it`)
      } else failClosed(image, `its AMI usage report could not be made: ${errorMessage(error)}`)
      if (made === 0 && denials >= DENIALS_BEFORE_GIVING_UP) throw error
    }
  }
  try {
    // One at a time until one is made: credentials or an endpoint without usage reports fail a few
    // calls, not one per image. Then the rest together.
    let next = 0
    try {
      while (made === 0 && next < images.length) await create(images[next++]!)
      await inPool(images.slice(next), IN_FLIGHT, create)
    } catch (error) {
      if (!unavailable(error)) throw error
      return error
    }
    const states = await waitForReports(context, region, [...reports.values()])
    const available = new Map([...reports].filter(([, id]) => states.get(id)?.state === 'available'))
    const entries = await reportEntries(aws, region, available)
    for (const image of images) {
      const reportId = reports.get(image.imageId)
      if (reportId === undefined) continue
      const state = states.get(reportId) ?? { state: 'missing' }
      if (state.state !== 'available') {
        failClosed(image, notRead(reportId, state))
        use.warnings.push(`${image.imageId} in ${region} is kept: ${notRead(reportId, state)}.`)
        continue
      }
      for (const [account, counts] of entries.get(reportId) ?? []) {
        const users = use.users.get(image.imageId) ?? []
        users.push(describeAccountUse(account, counts))
        use.users.set(image.imageId, users)
      }
    }
    return undefined
  } finally {
    const strays = await findLost(context, region, lost, new Set(reports.values()))
    await deleteReports(context, region, [...reports.values(), ...strays])
  }
}

/**
 * Reports EC2 made for a call whose every reply was lost: listed by image, made since the call
 * (less the clocks' skew), so they are deleted with the others. When they cannot be listed, the log
 * says which images may have one.
 */
async function findLost(
  context: Context,
  region: string,
  lost: readonly { imageId: string; sentAt: number }[],
  known: ReadonlySet<string>
): Promise<string[]> {
  if (lost.length === 0) return []
  try {
    if (context.signal.aborted) throw new Error('the job was cancelled')
    const since = Math.min(...lost.map((l) => l.sentAt)) - CLOCK_SKEW_MS
    const found = await reportsOf(
      context.aws,
      region,
      lost.map((l) => l.imageId),
      since
    )
    return found.filter((id) => !known.has(id))
  } catch (error) {
    context.log.warning(
      `EC2 may have made AMI usage reports for ${lost.map((l) => l.imageId).join(', ')} in ${region} though no reply said so, and they could not be looked for (${errorMessage(error)}). They change nothing, and EC2 deletes them 30 days after creation.`
    )
    return []
  }
}

function notRead(reportId: string, state: ReportState): string {
  switch (state.state) {
    case 'error':
      return `its AMI usage report ${reportId} ended in error${state.reason ? ` (${state.reason})` : ''}`
    case 'pending':
      return `its AMI usage report ${reportId} was still pending when the step stopped waiting`
    default:
      return `its AMI usage report ${reportId} vanished before it could be read`
  }
}

/** Looks at every pending report at once (200 to a call) until none is pending, or the schedule ends. */
async function waitForReports(context: Context, region: string, reportIds: readonly string[]): Promise<Map<string, ReportState>> {
  const states = new Map<string, ReportState>(reportIds.map((id) => [id, { state: 'pending' }]))
  const unsettled = () => [...states].filter(([, s]) => s.state === 'pending' || s.state === 'missing').map(([id]) => id)
  if (reportIds.length === 0) return states
  await lookAgain(
    context,
    'usageReport',
    async () => {
      // A report EC2 does not list yet (eventual consistency) is looked for again; missing only at the end.
      for (const [id, state] of await reportStates(context.aws, region, unsettled())) states.set(id, state)
      return unsettled().length === 0 ? true : undefined
    },
    `${reportIds.length} AMI usage reports in ${region} to be ready`
  )
  return states
}

async function deleteReports(context: Context, region: string, reportIds: readonly string[]): Promise<void> {
  const left: string[] = []
  await inPool(reportIds, IN_FLIGHT, async (id) => {
    try {
      if (context.signal.aborted) throw new Error('the job was cancelled')
      await deleteUsageReport(context.aws, region, id)
    } catch (error) {
      left.push(`${id} (${errorMessage(error)})`)
    }
  })
  if (left.length > 0) {
    context.log.warning(
      `AMI usage reports left in ${region}: ${left.join(', ')}. They change nothing and EC2 deletes them 30 days after creation; ` +
        'delete them sooner with aws ec2 delete-image-usage-report --report-id ID (allow ec2:DeleteImageUsageReport).'
    )
  }
}
