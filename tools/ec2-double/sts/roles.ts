// STS as the double answers it: AssumeRole of the roles a test defines (Front.role), with the
// trust policy and session limits STS enforces and moto does not — moto's AssumeRole accepts any
// role ARN, of any account, from anyone — and GetCallerIdentity, which moto answers inconsistently.
// The credentials moto issues act in the role's account (moto keeps one backend per account); the
// double remembers whose session each is (Accounts.sessions), so a session that assumes another role
// is known as role chaining, and ARNs, trust and KMS key policies see the right principal.
import type { Caller } from '../caller.ts'
import { FrontError, STS_NAMESPACE, type Reply } from '../protocol.ts'
import type { DoubleState, Role, RoleSession } from '../state.ts'
import { leaf, node, parseXml, serializeXml, textOf, child } from '../xml.ts'

export type StsHandler = (caller: Caller, params: URLSearchParams, body: string) => Promise<Reply>

export const STS_HANDLERS: Record<string, StsHandler> = {
  AssumeRole: assumeRole,
  GetCallerIdentity: getCallerIdentity
}

/** Account ids are twelve digits (IAM User Guide, "Your AWS account ID"). */
const ACCOUNT_ID = /^\d{12}$/
/**
 * IAM API Reference, CreateRole: RoleName "[\w+=,.@-]+", 1 to 64 characters; Path "/" or
 * "/…/" of printable ASCII. A name given with a path (`team/ami-pipeline`) is split on its last "/".
 */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/
const PATH_SEGMENT = /^[\w+=,.@-]+$/
/** AssumeRole, RoleSessionName: "[\w+=,.@-]*", 2 to 64 characters. */
const SESSION_NAME = /^[\w+=,.@-]*$/
/** An IAM role's ARN (IAM User Guide, "IAM identifiers"): arn:aws:iam::ACCOUNT:role/PATH/NAME. */
const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/([\w+=,.@/-]+)$/

/** The IAM user the double names for credentials no session issued: moto calls it `moto`. */
const DEFAULT_USER = 'moto'
/** IAM User Guide, "Role chaining": "limits your AWS CLI or AWS API role session to a maximum of one hour". */
const CHAINED_MAX_SECONDS = 3600

/**
 * Defines a role (Front.role) and returns its ARN. `trusts`: the principals its trust policy allows,
 * account ids or principal ARNs (`arn:aws:iam::ID:root` reads as the account id); default: the
 * double's default account. `maxSessionSeconds`: the role's MaxSessionDuration (IAM API Reference,
 * CreateRole: "If you do not specify a value for this setting, the default value of one hour is
 * applied. This setting can have a value from 1 hour to 12 hours").
 */
export function defineRole(
  state: DoubleState,
  account: string,
  name: string,
  options: { trusts?: string[]; maxSessionSeconds?: number } = {}
): string {
  if (!ACCOUNT_ID.test(account)) throw new Error(`role: '${account}' is not a 12-digit account id`)
  const parts = name.split('/')
  const roleName = parts.pop()!
  if (!ROLE_NAME.test(roleName) || !parts.every((segment) => PATH_SEGMENT.test(segment)))
    throw new Error(`role: '${name}' is not a role name ([\\w+=,.@-], at most 64 characters), with an optional path before it`)
  const maxSessionSeconds = options.maxSessionSeconds ?? 3600
  if (!Number.isInteger(maxSessionSeconds) || maxSessionSeconds < 3600 || maxSessionSeconds > 43_200)
    throw new Error(`role: maxSessionSeconds must be a whole number of seconds from 3600 to 43200; got ${maxSessionSeconds}`)
  const trusts = (options.trusts ?? [state.accounts.default]).map((principal) => {
    const root = /^arn:aws[\w-]*:iam::(\d{12}):root$/.exec(principal)?.[1]
    if (root) return root
    if (!ACCOUNT_ID.test(principal) && !/^arn:aws[\w-]*:(iam|sts)::\d{12}:\S+$/.test(principal))
      throw new Error(`role: trusts takes account ids and principal ARNs; '${principal}' is neither`)
    return principal
  })
  const arn = `arn:aws:iam::${account}:role/${name}`
  const role: Role = { arn, account, name, trusts, maxSessionSeconds }
  state.roles.set(arn, role)
  return arn
}

/** Who a caller is (STS API Reference, GetCallerIdentity): its account, ARN, user id and role, if a session. */
export interface Principal {
  account: string
  arn: string
  userId: string
  session?: RoleSession
}

/**
 * The caller as IAM knows it: a session's assumed-role ARN, or, for credentials STS did not issue,
 * an IAM user of the caller's account (IAM User Guide, "IAM identifiers": arn:aws:iam::ACCOUNT:user/NAME).
 * moto names that user arn:aws:sts::…:user/moto, an ARN no IAM user has, so the double says iam.
 */
export function principalOf(caller: Caller): Principal {
  const session = caller.state.accounts.sessions.get(caller.accessKeyId)
  if (session) return { account: session.account, arn: session.arn, userId: session.assumedRoleId, session }
  return {
    account: caller.account,
    arn: `arn:aws:iam::${caller.account}:user/${DEFAULT_USER}`,
    // IAM User Guide, "IAM identifiers", unique IDs: an IAM user's begins AIDA.
    userId: `AIDA${caller.account}${DEFAULT_USER.toUpperCase()}`
  }
}

/** Whether the role's trust policy names the principal: its account, its role (a session of it), or its ARN. */
function trusted(role: Role, principal: Principal): boolean {
  return role.trusts.some((trustee) => trustee === principal.account || trustee === principal.arn || trustee === principal.session?.roleArn)
}

/** STS's ValidationError for a parameter out of its constraints, in STS's words. */
function invalid(message: string): FrontError {
  return new FrontError(400, 'ValidationError', message)
}

/**
 * AssumeRole (STS API Reference, AssumeRole; IAM User Guide, "Role chaining", "Methods to assume
 * a role"). In order:
 * - RoleArn (20 to 2048 characters, an IAM role's ARN), RoleSessionName (2 to 64 characters of
 *   [\w+=,.@-]) and DurationSeconds (900 to 43200) are checked: ValidationError, HTTP 400.
 * - The role must exist and its trust policy must name the caller: "User: <caller ARN> is not
 *   authorized to perform: sts:AssumeRole on resource: <role ARN>" (AccessDenied, HTTP 403), as STS
 *   answers both, telling neither apart.
 * - DurationSeconds (default 3600): "If you specify a value higher than this setting [the role's
 *   maximum session duration] ..., the operation fails"; and "if you assume a role using role
 *   chaining and provide a DurationSeconds parameter value greater than one hour, the operation
 *   fails". STS's own words for each (ValidationError): "The requested DurationSeconds exceeds the
 *   1 hour session limit for roles assumed by role chaining." / "... exceeds the MaxSessionDuration
 *   set for this role."
 * Then moto issues the credentials, which act in the role's account, and the double records whose
 * session they are.
 */
async function assumeRole(caller: Caller, params: URLSearchParams, body: string): Promise<Reply> {
  const roleArn = params.get('RoleArn')
  const sessionName = params.get('RoleSessionName')
  const durationText = params.get('DurationSeconds')
  if (roleArn === null)
    throw invalid("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
  if (roleArn.length < 20 || roleArn.length > 2048)
    throw invalid(
      `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048`
    )
  if (!ROLE_ARN.test(roleArn)) throw invalid(`${roleArn} is not a valid role ARN (arn:aws:iam::<account>:role/<name>)`)
  if (sessionName === null)
    throw invalid("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
  if (sessionName.length < 2 || sessionName.length > 64)
    throw invalid(
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64`
    )
  if (!SESSION_NAME.test(sessionName))
    throw invalid(
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`
    )
  const duration = durationText === null ? 3600 : Number(durationText)
  if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
    const bound = duration > 43_200 ? 'less than or equal to 43200' : 'greater than or equal to 900'
    throw invalid(
      `1 validation error detected: Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value ${bound}`
    )
  }
  const principal = principalOf(caller)
  const role = caller.state.roles.get(roleArn)
  if (!role || !trusted(role, principal))
    throw new FrontError(403, 'AccessDenied', `User: ${principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`)
  if (principal.session && duration > CHAINED_MAX_SECONDS)
    throw invalid('The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.')
  if (duration > role.maxSessionSeconds) throw invalid('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.')
  const reply = await caller.stsRaw(body)
  if (reply.status >= 400) return reply
  const result = child(parseXml(reply.body), 'AssumeRoleResult')
  const credentials = result && child(result, 'Credentials')
  const user = result && child(result, 'AssumedRoleUser')
  const accessKeyId = credentials && textOf(credentials, 'AccessKeyId')
  if (!accessKeyId || !user) throw new Error(`moto's AssumeRole answer has no credentials: ${reply.body.slice(0, 200)}`)
  const session: RoleSession = {
    accessKeyId,
    roleArn,
    account: role.account,
    sessionName,
    arn: textOf(user, 'Arn') ?? `arn:aws:sts::${role.account}:assumed-role/${role.name.split('/').pop()}/${sessionName}`,
    assumedRoleId: textOf(user, 'AssumedRoleId') ?? `AROA${role.account}:${sessionName}`
  }
  caller.state.accounts.sessions.set(accessKeyId, session)
  caller.state.accounts.byAccessKey.set(accessKeyId, role.account)
  return reply
}

/**
 * GetCallerIdentity (STS API Reference): the caller's account, ARN and user id. The double answers
 * it: moto makes up a new role id for a session on every call and names a user arn:aws:sts::…, and
 * does not know the accounts a test maps keys to (Accounts.byAccessKey).
 */
async function getCallerIdentity(caller: Caller): Promise<Reply> {
  const principal = principalOf(caller)
  const xml = {
    name: 'GetCallerIdentityResponse',
    attributes: ` xmlns="${STS_NAMESPACE}"`,
    text: '',
    children: [
      node('GetCallerIdentityResult', [leaf('Arn', principal.arn), leaf('UserId', principal.userId), leaf('Account', principal.account)]),
      node('ResponseMetadata', [leaf('RequestId', 'front')])
    ]
  }
  return { status: 200, body: serializeXml(xml) }
}
