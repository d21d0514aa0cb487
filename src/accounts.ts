// Target accounts: the other AWS accounts a step serves (target-accounts). The step assumes
// target-role in each and then acts there as it acts in its own account — each account with its
// own credentials, clients and token buckets, its own images of the release and its own journal —
// so every mode runs unchanged inside an account (inAccount).
import type { Aws } from './aws/client.ts'
import { errorCode } from './aws/errors.ts'
import type { Context, Log } from './context.ts'
import { errorMessage, StepError } from './errors.ts'
import type { TargetsPlan } from './inputs/index.ts'
import { Journal } from './journal.ts'
import { Release } from './release.ts'

export interface TargetAccount {
  id: string
  roleArn: string
  aws: Aws
  /** The account's own images of this release: its copies, or those account-image-ids gave. */
  release: Release
  /** What the step did in the account. */
  journal: Journal
}

/**
 * The partition a region belongs to, for the role's ARN (AWS General Reference, "Amazon Resource
 * Names": arn:partition:…; the SDK's partitions: aws-cn, aws-us-gov, aws-iso, aws-iso-b, …).
 */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  if (region.startsWith('eusc-')) return 'aws-eusc'
  const iso = /^[a-z]{2}-iso([a-z]?)-/.exec(region)
  if (iso) return iso[1] ? `aws-iso-${iso[1]}` : 'aws-iso'
  return 'aws'
}

export function roleArn(account: string, role: string, region: string): string {
  return `arn:${partitionOf(region)}:iam::${account}:role/${role}`
}

/**
 * The session name CloudTrail shows in each target account: the workflow run and attempt, so a
 * change there leads back to the run (STS API Reference, AssumeRole: RoleSessionName, 2–64
 * characters of letters, digits and +=,.@-).
 */
export function sessionName(env: NodeJS.ProcessEnv = process.env): string {
  const run = env.GITHUB_RUN_ID
  const name = run ? `ami-pipeline-${run}-${env.GITHUB_RUN_ATTEMPT ?? '1'}` : `ami-pipeline-local-${process.pid}`
  return name.replace(/[^\w+=,.@-]/g, '-').slice(0, 64)
}

/**
 * Assumes the role in every target account, all at once, before anything changes: a role that
 * cannot be assumed fails the step here, naming the account, the role and what to check.
 */
export async function assumeTargetRoles(context: Context, targets: TargetsPlan): Promise<TargetAccount[]> {
  const { region } = context.plan
  const session = sessionName()
  const assumed = await Promise.allSettled(
    targets.accounts.map(async (id): Promise<TargetAccount> => {
      const arn = roleArn(id, targets.role, region)
      const { aws, credentials } = await context.aws.assumeRole(id, arn, session, region)
      try {
        await credentials()
      } catch (error) {
        throw new StepError(
          `Could not assume ${arn} in account ${id} (${errorCode(error)}: ${errorMessage(error)}). ` +
            `Check that the role exists in ${id} and that its trust policy allows sts:AssumeRole to the role this step runs as; ` +
            'docs/iam.md shows the trust policy and the role each target account needs.'
        )
      }
      return { id, roleArn: arn, aws, release: new Release(region), journal: new Journal() }
    })
  )
  const refused = assumed.flatMap((result) => (result.status === 'rejected' ? [errorMessage(result.reason)] : []))
  if (refused.length > 0) throw new StepError(`${refused.join(' ')} Nothing was changed.`)
  const accounts = assumed.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  context.log.info(`Assumed ${targets.role} in ${accounts.map((account) => account.id).join(', ')} (session ${session}).`)
  return accounts
}

/**
 * The step as it acts inside a target account: that account's credentials, images and journal,
 * and a log whose lines say which account they are about.
 */
export function inAccount(context: Context, account: TargetAccount): Context {
  return { ...context, aws: account.aws, release: account.release, journal: account.journal, log: accountLog(context.log, account.id) }
}

function accountLog(log: Log, account: string): Log {
  const say = (message: string): string => `[account ${account}] ${message}`
  return {
    info: (message) => log.info(say(message)),
    notice: (message) => log.notice(say(message)),
    warning: (message) => log.warning(say(message)),
    debug: (message) => log.debug(say(message)),
    group: (title, work) => log.group(say(title), work)
  }
}

/**
 * Runs `work` in every target account at once; each account finishes whatever another met, and
 * the failures are reported together, each naming its account.
 */
export async function inEveryAccount(
  context: Context,
  accounts: readonly TargetAccount[],
  what: string,
  work: (context: Context, account: TargetAccount) => Promise<void>
): Promise<void> {
  const outcomes = await Promise.allSettled(accounts.map((account) => work(inAccount(context, account), account)))
  const failures = outcomes.flatMap((outcome, i) =>
    outcome.status === 'rejected' ? [`account ${accounts[i]?.id}: ${errorMessage(outcome.reason)}`] : []
  )
  context.signal.throwIfAborted()
  if (failures.length > 0)
    throw new StepError(
      `${what} failed in ${failures.length} of ${accounts.length} target accounts (the others are done): ${failures.join('; ')}`
    )
}
