// Recycle Bin retention rules as data (DoubleState.recycleBin.rules), and the little of the Recycle
// Bin API the action asks: ListRules, GetRule, and CreateRule. moto has no Recycle Bin at all. The
// API is REST-JSON (Recycle Bin API Reference): each operation is a method and a path, told apart
// from EC2's by the credential scope's service, rbin. EC2 reads the same rules when an image is
// deregistered or a snapshot deleted (ec2/recycle-bin.ts): which rule, if any, retains it.
import { createHash } from 'node:crypto'
import type { Caller } from '../caller.ts'
import { RECYCLE_BIN_ACTIVATION_MS } from '../options.ts'
import { FrontError, RBIN_CONTENT_TYPE, type Reply } from '../protocol.ts'
import type { DoubleState, RecycleBinRule, RuleTag } from '../state.ts'

/** A refusal in Recycle Bin's words: its code, and the Reason its model gives that error. */
export class RbinFailure extends FrontError {
  readonly reason: string | undefined
  constructor(status: number, code: string, message: string, reason?: string) {
    super(status, code, message)
    this.reason = reason
  }
}

const invalid = (message: string): RbinFailure => new RbinFailure(400, 'ValidationException', message, 'INVALID_PARAMETER_VALUE')

export type RbinHandler = (caller: Caller, input: Record<string, unknown>) => Promise<Reply>

/**
 * The operations the double answers, by method and path (Recycle Bin API Reference, each
 * operation's Request Syntax): ListRules is POST /list-rules, GetRule GET /rules/{identifier},
 * CreateRule POST /rules. The path's identifier becomes the input's Identifier.
 */
export function rbinRoute(method: string, path: string): { operation: string; identifier?: string } | undefined {
  const bare = path.split('?')[0] ?? ''
  if (method === 'POST' && bare === '/list-rules') return { operation: 'ListRules' }
  if (method === 'POST' && bare === '/rules') return { operation: 'CreateRule' }
  const rule = /^\/rules\/([^/]+)$/.exec(bare)
  if (method === 'GET' && rule) return { operation: 'GetRule', identifier: decodeURIComponent(rule[1]!) }
  return undefined
}

export const RBIN_HANDLERS: Record<string, RbinHandler> = {
  ListRules: listRules,
  GetRule: getRule,
  CreateRule: createRule
}

const RESOURCE_TYPES = ['EBS_SNAPSHOT', 'EC2_IMAGE', 'EBS_VOLUME'] as const
type ResourceType = (typeof RESOURCE_TYPES)[number]
const LOCK_STATES = ['locked', 'pending_unlock', 'unlocked'] as const
/** Recycle Bin API Reference, RuleIdentifier: [0-9a-zA-Z]{11}. */
const IDENTIFIER = /^[0-9a-zA-Z]{11}$/
/** Description: ^[\S ]{0,255}$ — no line breaks or tabs. */
const DESCRIPTION = /^[\S ]{0,255}$/u
/** ListRules, NextToken: ^[A-Za-z0-9+/=]{1,2048}$. */
const NEXT_TOKEN = /^[A-Za-z0-9+/=]{1,2048}$/
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
/** EBS User Guide, "Recycle Bin", Quotas: "Retention rules per Region: 250"; "Tag key and value pairs per retention rule: 50". */
const RULES_PER_REGION = 250
const TAGS_PER_RULE = 50
/** CreateRule, ExcludeResourceTags: "Maximum number of 5 items". */
const EXCLUSIONS_PER_RULE = 5
/** CreateRule, ResourceTags: "You can add the same tag key and value pair to a maximum or five retention rules." */
const RULES_PER_TAG = 5
const DAY = 86_400_000

/**
 * RetentionPeriod, RetentionPeriodValue (Recycle Bin API Reference): "The supported retention
 * periods are: EBS volumes: 1 - 7 days; EBS snapshots and EBS-backed AMIs: 1 - 365 days". The
 * model's own bound is 3650; the double keeps to the documented periods, the stricter.
 */
function maxRetentionDays(resourceType: ResourceType): number {
  return resourceType === 'EBS_VOLUME' ? 7 : 365
}

/** A rule's identifier: 11 base62 characters from its account, region and number, so a run repeats exactly. */
function identifierFor(state: DoubleState, account: string, region: string): string {
  const digest = createHash('sha256').update(`rbin-rule|${account}|${region}|${++state.recycleBin.rulesMade}`).digest()
  return Array.from(digest.subarray(0, 11), (byte) => BASE62[byte % 62]).join('')
}

/** Whether the rule retains resources at `now` (GetRule, Status: "Only retention rules that are in the available state retain resources"). */
export function ruleStatusAt(rule: RecycleBinRule, now: number): 'pending' | 'available' {
  return now < rule.pendingUntil ? 'pending' : 'available'
}

/** The rules of an account in a region, in the order they were made. */
function rulesIn(state: DoubleState, account: string, region: string): RecycleBinRule[] {
  return [...state.recycleBin.rules.values()].filter((rule) => rule.account === account && rule.region === region)
}

/** Whether any rule for the resource type exists there, whatever its status: a cheap first look before EC2 reads a resource's tags. */
export function anyRuleFor(state: DoubleState, account: string, region: string, resourceType: ResourceType): boolean {
  return rulesIn(state, account, region).some((rule) => rule.resourceType === resourceType)
}

/**
 * A resource tag matches a rule's tag when key and value are equal. Recycle Bin speaks only of "tag
 * key and value pairs"; a rule's tag given without a value is read as the pair with the empty value
 * (the double's reading: AWS documents no key-only match).
 */
function hasTag(tags: Map<string, string>, tag: RuleTag): boolean {
  return tags.get(tag.key) === (tag.value ?? '')
}

/**
 * The rule that retains a deleted resource of the account, if any (EBS User Guide, "Recycle Bin",
 * How does it work; "Considerations for Recycle Bin"; CreateRule, ResourceTags and
 * ExcludeResourceTags): only available rules of its account, region and resource type; a tag-level
 * rule when the resource has "one or more of the specified tag key and value pairs", a Region-level
 * rule unless the resource has any of its exclusion tags. "If a resource matches more than one
 * retention rule upon deletion, then the retention rule with the longest retention period takes
 * precedence" (of two as long, the older).
 */
export function retainingRule(
  state: DoubleState,
  account: string,
  region: string,
  resourceType: ResourceType,
  tags: Map<string, string>,
  now: number
): RecycleBinRule | undefined {
  const applying = rulesIn(state, account, region).filter(
    (rule) =>
      rule.resourceType === resourceType &&
      ruleStatusAt(rule, now) === 'available' &&
      (rule.resourceTags.length > 0
        ? rule.resourceTags.some((tag) => hasTag(tags, tag))
        : !rule.excludeResourceTags.some((tag) => hasTag(tags, tag)))
  )
  return applying.reduce<RecycleBinRule | undefined>(
    (best, rule) => (best && best.retentionDays >= rule.retentionDays ? best : rule),
    undefined
  )
}

/** When a resource that enters the bin at `now` under the rule leaves it for good. */
export function exitTime(rule: RecycleBinRule, now: number): number {
  return now + rule.retentionDays * DAY
}

interface RuleSpec {
  resourceType: ResourceType
  retentionDays: number
  resourceTags: RuleTag[]
  excludeResourceTags: RuleTag[]
  description?: string
}

/** Why a rule cannot be made as asked (the words CreateRule's ValidationException would carry), if it cannot. */
function specProblem(spec: RuleSpec): string | undefined {
  if (!RESOURCE_TYPES.includes(spec.resourceType))
    return `Value '${String(spec.resourceType)}' at 'resourceType' failed to satisfy constraint: Member must satisfy enum value set: [${RESOURCE_TYPES.join(', ')}]`
  const max = maxRetentionDays(spec.resourceType)
  if (!Number.isInteger(spec.retentionDays) || spec.retentionDays < 1 || spec.retentionDays > max)
    return `The retention period for ${spec.resourceType} must be a whole number of days from 1 to ${max}; got ${String(spec.retentionDays)}.`
  if (spec.resourceTags.length > TAGS_PER_RULE) return `A retention rule takes at most ${TAGS_PER_RULE} resource tags.`
  if (spec.excludeResourceTags.length > EXCLUSIONS_PER_RULE) return `A retention rule takes at most ${EXCLUSIONS_PER_RULE} exclusion tags.`
  // CreateRule, ExcludeResourceTags: "You can't specify exclusion tags for tag-level retention rules."
  if (spec.resourceTags.length > 0 && spec.excludeResourceTags.length > 0)
    return "You can't specify exclusion tags for tag-level retention rules."
  for (const tag of [...spec.resourceTags, ...spec.excludeResourceTags]) {
    // ResourceTag: ResourceTagKey ^[\S\s]{1,128}$, ResourceTagValue ^[\S\s]{0,256}$.
    if (typeof tag.key !== 'string' || tag.key.length < 1 || tag.key.length > 128)
      return 'A resource tag key must be 1 to 128 characters long.'
    if (tag.value !== undefined && (typeof tag.value !== 'string' || tag.value.length > 256))
      return 'A resource tag value must be at most 256 characters long.'
  }
  if (spec.description !== undefined && (typeof spec.description !== 'string' || !DESCRIPTION.test(spec.description)))
    return `Value '${String(spec.description)}' at 'description' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[\\S ]{0,255}$`
  return undefined
}

/** Why another rule cannot be made in the account's region, if it cannot (the quotas). */
function quotaProblem(state: DoubleState, account: string, region: string, spec: RuleSpec): string | undefined {
  const existing = rulesIn(state, account, region)
  if (existing.length >= RULES_PER_REGION) return `You have reached the quota of ${RULES_PER_REGION} retention rules in ${region}.`
  for (const tag of spec.resourceTags) {
    const using = existing.filter((rule) =>
      rule.resourceTags.some((other) => other.key === tag.key && (other.value ?? '') === (tag.value ?? ''))
    )
    if (using.length >= RULES_PER_TAG)
      return `The resource tag ${tag.key}=${tag.value ?? ''} is already used by ${RULES_PER_TAG} retention rules, the most allowed.`
  }
  return undefined
}

function makeRule(
  state: DoubleState,
  account: string,
  region: string,
  spec: RuleSpec,
  extra: {
    pendingUntil: number
    now: number
    lockState?: RecycleBinRule['lockState']
    unlockDelayDays?: number
    tags?: RecycleBinRule['tags']
  }
): RecycleBinRule {
  const identifier = identifierFor(state, account, region)
  const rule: RecycleBinRule = {
    identifier,
    arn: `arn:aws:rbin:${region}:${account}:rule/${identifier}`,
    account,
    region,
    resourceType: spec.resourceType,
    retentionDays: spec.retentionDays,
    resourceTags: spec.resourceTags.map((tag) => ({ ...tag })),
    excludeResourceTags: spec.excludeResourceTags.map((tag) => ({ ...tag })),
    ...(spec.description !== undefined && { description: spec.description }),
    pendingUntil: extra.pendingUntil,
    ...(extra.lockState !== undefined && { lockState: extra.lockState }),
    ...(extra.unlockDelayDays !== undefined && { unlockDelayDays: extra.unlockDelayDays }),
    tags: extra.tags ?? [],
    createdAt: extra.now
  }
  state.recycleBin.rules.set(identifier, rule)
  return rule
}

/**
 * Front.recycleBinRule: a rule of `account` in `region`, as CreateRule would make it but with the
 * status a test asks (default available, so it retains at once; pending never retains until a test
 * sets rule.pendingUntil). Checked as CreateRule checks it, quotas included; a rule the API would
 * refuse throws.
 */
export function defineRecycleBinRule(
  state: DoubleState,
  account: string,
  region: string,
  rule: {
    resourceType: 'EC2_IMAGE' | 'EBS_SNAPSHOT'
    retentionDays: number
    resourceTags?: RuleTag[]
    excludeResourceTags?: RuleTag[]
    status?: 'available' | 'pending'
    description?: string
  },
  now: number
): string {
  if (!/^\d{12}$/.test(account)) throw new Error(`recycleBinRule: '${account}' is not a 12-digit account id`)
  if (rule.status !== undefined && rule.status !== 'available' && rule.status !== 'pending')
    throw new Error(`recycleBinRule: status is 'available' or 'pending'; got '${String(rule.status)}'`)
  const spec: RuleSpec = {
    resourceType: rule.resourceType,
    retentionDays: rule.retentionDays,
    resourceTags: rule.resourceTags ?? [],
    excludeResourceTags: rule.excludeResourceTags ?? [],
    ...(rule.description !== undefined && { description: rule.description })
  }
  const problem = specProblem(spec) ?? quotaProblem(state, account, region, spec)
  if (problem) throw new Error(`recycleBinRule: ${problem}`)
  return makeRule(state, account, region, spec, { pendingUntil: rule.status === 'pending' ? Number.POSITIVE_INFINITY : 0, now }).identifier
}

/** A JSON list of ResourceTag ({ ResourceTagKey, ResourceTagValue? }) as the double holds it; ValidationException if it is not one. */
function readTags(value: unknown, member: string): RuleTag[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw invalid(`Value at '${member}' failed to satisfy constraint: Member must be a list`)
  return value.map((tag: unknown, i) => {
    const { ResourceTagKey: key, ResourceTagValue: tagValue } = (tag ?? {}) as Record<string, unknown>
    if (typeof key !== 'string')
      throw invalid(
        `1 validation error detected: Value null at '${member}.${i + 1}.member.resourceTagKey' failed to satisfy constraint: Member must not be null`
      )
    if (tagValue !== undefined && typeof tagValue !== 'string')
      throw invalid(`Value at '${member}.${i + 1}.member.resourceTagValue' must be a string`)
    return tagValue === undefined ? { key } : { key, value: tagValue }
  })
}

/** ResourceType, required and one of the enum's values (ValidationException otherwise). */
function readResourceType(input: Record<string, unknown>): ResourceType {
  const type = input.ResourceType
  if (type === undefined || type === null)
    throw invalid("1 validation error detected: Value null at 'resourceType' failed to satisfy constraint: Member must not be null")
  if (typeof type !== 'string' || !(RESOURCE_TYPES as readonly string[]).includes(type))
    throw invalid(
      `1 validation error detected: Value '${String(type)}' at 'resourceType' failed to satisfy constraint: Member must satisfy enum value set: [${RESOURCE_TYPES.join(', ')}]`
    )
  return type as ResourceType
}

function tagJson(tags: RuleTag[]): { ResourceTagKey: string; ResourceTagValue?: string }[] {
  return tags.map((tag) =>
    tag.value === undefined ? { ResourceTagKey: tag.key } : { ResourceTagKey: tag.key, ResourceTagValue: tag.value }
  )
}

function retentionJson(rule: RecycleBinRule): { RetentionPeriodValue: number; RetentionPeriodUnit: 'DAYS' } {
  return { RetentionPeriodValue: rule.retentionDays, RetentionPeriodUnit: 'DAYS' }
}

/**
 * A rule as GetRule and CreateRule answer it: resource tags only for a tag-level rule, exclusion
 * tags only for a Region-level one that has some ("[Tag-level retention rules only]", "[Region-level
 * retention rules only]"), LockState and LockConfiguration only for a rule ever locked.
 */
function ruleJson(rule: RecycleBinRule, now: number): Record<string, unknown> {
  return {
    Identifier: rule.identifier,
    ...(rule.description !== undefined && { Description: rule.description }),
    ResourceType: rule.resourceType,
    RetentionPeriod: retentionJson(rule),
    ...(rule.resourceTags.length > 0 && { ResourceTags: tagJson(rule.resourceTags) }),
    ...(rule.excludeResourceTags.length > 0 && { ExcludeResourceTags: tagJson(rule.excludeResourceTags) }),
    Status: ruleStatusAt(rule, now),
    ...(rule.unlockDelayDays !== undefined && {
      LockConfiguration: { UnlockDelay: { UnlockDelayValue: rule.unlockDelayDays, UnlockDelayUnit: 'DAYS' } }
    }),
    ...(rule.lockState !== undefined && { LockState: rule.lockState }),
    RuleArn: rule.arn
  }
}

function json(status: number, body: unknown): Reply {
  return { status, body: JSON.stringify(body), contentType: RBIN_CONTENT_TYPE }
}

/** The order of a request's filters, so a token from one listing is refused by another. */
function fingerprintOf(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16)
}

/**
 * ListRules (Recycle Bin API Reference): the rules of the caller's account in its region that
 * retain ResourceType (required); ResourceTags and ExcludeResourceTags list only rules that have
 * every pair given (the double's reading of "Information about the resource tags used to identify
 * resources that are retained by the retention rule"; none given: no filter), LockState only rules
 * in that lock state (never-locked rules have none). MaxResults 1 to 1000 (FrontOptions.pageSize caps
 * a page); NextToken must be one this listing gave (ValidationException, Reason INVALID_PAGE_TOKEN).
 * Each rule is a RuleSummary: Identifier, Description, RetentionPeriod, LockState, RuleArn — not its
 * resource type, tags or status, which only GetRule tells.
 */
async function listRules(caller: Caller, input: Record<string, unknown>): Promise<Reply> {
  const resourceType = readResourceType(input)
  const resourceTags = readTags(input.ResourceTags, 'resourceTags')
  const excludeResourceTags = readTags(input.ExcludeResourceTags, 'excludeResourceTags')
  if (resourceTags.length > TAGS_PER_RULE)
    throw invalid(
      `1 validation error detected: Value at 'resourceTags' failed to satisfy constraint: Member must have length less than or equal to ${TAGS_PER_RULE}`
    )
  if (excludeResourceTags.length > EXCLUSIONS_PER_RULE)
    throw invalid(
      `1 validation error detected: Value at 'excludeResourceTags' failed to satisfy constraint: Member must have length less than or equal to ${EXCLUSIONS_PER_RULE}`
    )
  const lockState = input.LockState
  if (lockState !== undefined && lockState !== null && !(LOCK_STATES as readonly unknown[]).includes(lockState))
    throw invalid(
      `1 validation error detected: Value '${String(lockState)}' at 'lockState' failed to satisfy constraint: Member must satisfy enum value set: [${LOCK_STATES.join(', ')}]`
    )
  const maxResults = input.MaxResults
  if (
    maxResults !== undefined &&
    maxResults !== null &&
    (!Number.isInteger(maxResults) || (maxResults as number) < 1 || (maxResults as number) > 1000)
  )
    throw invalid(
      `1 validation error detected: Value '${String(maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000`
    )
  const fingerprint = fingerprintOf([caller.scope, resourceType, resourceTags, excludeResourceTags, lockState ?? null])
  let offset = 0
  const token = input.NextToken
  if (token !== undefined && token !== null) {
    const read =
      typeof token === 'string' && NEXT_TOKEN.test(token)
        ? /^(\d+):([0-9a-f]{16})$/.exec(Buffer.from(token, 'base64').toString('utf8'))
        : null
    if (!read || read[2] !== fingerprint)
      throw new RbinFailure(400, 'ValidationException', 'The specified NextToken is not valid for this request.', 'INVALID_PAGE_TOKEN')
    offset = Number(read[1])
  }
  const holds = (have: RuleTag[], wanted: RuleTag[]): boolean =>
    wanted.every((tag) => have.some((other) => other.key === tag.key && (other.value ?? '') === (tag.value ?? '')))
  const matching = rulesIn(caller.state, caller.account, caller.region).filter(
    (rule) =>
      rule.resourceType === resourceType &&
      holds(rule.resourceTags, resourceTags) &&
      holds(rule.excludeResourceTags, excludeResourceTags) &&
      (lockState === undefined || lockState === null || rule.lockState === lockState)
  )
  const asked = typeof maxResults === 'number' ? maxResults : matching.length
  const size = Math.max(1, Math.min(asked, caller.options.pageSize ?? asked))
  const page = matching.slice(offset, offset + size)
  const more = offset + size < matching.length
  return json(200, {
    Rules: page.map((rule) => ({
      Identifier: rule.identifier,
      ...(rule.description !== undefined && { Description: rule.description }),
      RetentionPeriod: retentionJson(rule),
      ...(rule.lockState !== undefined && { LockState: rule.lockState }),
      RuleArn: rule.arn
    })),
    ...(more && { NextToken: Buffer.from(`${offset + size}:${fingerprint}`).toString('base64') })
  })
}

/**
 * GetRule (Recycle Bin API Reference): GET /rules/{identifier}. An identifier not of the form
 * [0-9a-zA-Z]{11} is a ValidationException; one of no rule of the caller's account in its region
 * (rules are regional: "Retention rules function only in the Regions in which they are created") is
 * ResourceNotFoundException, HTTP 404, Reason RULE_NOT_FOUND.
 */
async function getRule(caller: Caller, input: Record<string, unknown>): Promise<Reply> {
  const identifier = input.Identifier
  if (typeof identifier !== 'string' || !IDENTIFIER.test(identifier))
    throw invalid(
      `1 validation error detected: Value '${String(identifier)}' at 'identifier' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-zA-Z]{11}`
    )
  const rule = caller.state.recycleBin.rules.get(identifier)
  if (!rule || rule.account !== caller.account || rule.region !== caller.region)
    throw new RbinFailure(
      404,
      'ResourceNotFoundException',
      `The specified retention rule '${identifier}' does not exist.`,
      'RULE_NOT_FOUND'
    )
  return json(200, ruleJson(rule, caller.now()))
}

/**
 * CreateRule (Recycle Bin API Reference; EBS User Guide, "Create a Recycle Bin retention rule"):
 * RetentionPeriod (days only, within the documented periods) and ResourceType are required;
 * Description to 255 characters on one line; at most 50 resource tags, at most 5 exclusion tags,
 * never both; a lock (UnlockDelay 7 to 30 days) only on a Region-level rule ("You can also
 * optionally lock Region-level retention rules on creation"); Tags, the rule's own, at most 200. All
 * of these are ValidationException. The quotas — 250 rules per Region, a tag pair on at most five
 * rules — are ServiceQuotaExceededException (HTTP 402, Reason SERVICE_QUOTA_EXCEEDED), the error
 * CreateRule documents for a quota, though its page words it for tags (the double's choice). The new
 * rule answers 201; it is pending for FrontOptions.recycleBinActivationMs if it is the account's
 * first in the region, else available at once ("Considerations for Recycle Bin").
 */
async function createRule(caller: Caller, input: Record<string, unknown>): Promise<Reply> {
  const period = input.RetentionPeriod as Record<string, unknown> | undefined | null
  if (period === undefined || period === null || typeof period !== 'object')
    throw invalid("1 validation error detected: Value null at 'retentionPeriod' failed to satisfy constraint: Member must not be null")
  if (period.RetentionPeriodUnit !== 'DAYS')
    throw invalid(
      `1 validation error detected: Value '${String(period.RetentionPeriodUnit)}' at 'retentionPeriod.retentionPeriodUnit' failed to satisfy constraint: Member must satisfy enum value set: [DAYS]`
    )
  const resourceType = readResourceType(input)
  const description = input.Description
  if (description !== undefined && description !== null && typeof description !== 'string')
    throw invalid("Value at 'description' failed to satisfy constraint: Member must be a string")
  const spec: RuleSpec = {
    resourceType,
    retentionDays: typeof period.RetentionPeriodValue === 'number' ? period.RetentionPeriodValue : Number.NaN,
    resourceTags: readTags(input.ResourceTags, 'resourceTags'),
    excludeResourceTags: readTags(input.ExcludeResourceTags, 'excludeResourceTags'),
    ...(typeof description === 'string' && { description })
  }
  const problem = specProblem(spec)
  if (problem) throw invalid(problem)
  const tags = readRuleTags(input.Tags)
  const lock = input.LockConfiguration as { UnlockDelay?: { UnlockDelayValue?: unknown; UnlockDelayUnit?: unknown } } | undefined | null
  let unlockDelayDays: number | undefined
  if (lock !== undefined && lock !== null) {
    if (spec.resourceTags.length > 0) throw invalid('Only Region-level retention rules can be locked; this rule has resource tags.')
    const delay = lock.UnlockDelay
    if (!delay || delay.UnlockDelayUnit !== 'DAYS' || !Number.isInteger(delay.UnlockDelayValue))
      throw invalid("LockConfiguration.UnlockDelay needs UnlockDelayValue (days) and UnlockDelayUnit 'DAYS'.")
    const days = delay.UnlockDelayValue as number
    if (days < 7 || days > 30)
      throw invalid(
        `1 validation error detected: Value '${days}' at 'lockConfiguration.unlockDelay.unlockDelayValue' failed to satisfy constraint: Member must have value between 7 and 30`
      )
    unlockDelayDays = days
  }
  const quota = quotaProblem(caller.state, caller.account, caller.region, spec)
  if (quota) throw new RbinFailure(402, 'ServiceQuotaExceededException', quota, 'SERVICE_QUOTA_EXCEEDED')
  const now = caller.now()
  const first = rulesIn(caller.state, caller.account, caller.region).length === 0
  const rule = makeRule(caller.state, caller.account, caller.region, spec, {
    pendingUntil: first ? now + (caller.options.recycleBinActivationMs ?? RECYCLE_BIN_ACTIVATION_MS) : 0,
    now,
    ...(unlockDelayDays !== undefined && { lockState: 'locked' as const, unlockDelayDays }),
    tags
  })
  return json(201, { ...ruleJson(rule, now), Tags: rule.tags })
}

/** CreateRule, Tags: the rule's own tags (Tag: Key 1 to 128 characters, Value 0 to 256, both required; at most 200). */
function readRuleTags(value: unknown): RecycleBinRule['tags'] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || value.length > 200)
    throw invalid("Value at 'tags' failed to satisfy constraint: Member must be a list of at most 200 tags")
  return value.map((tag: unknown) => {
    const { Key, Value } = (tag ?? {}) as Record<string, unknown>
    if (typeof Key !== 'string' || Key.length < 1 || Key.length > 128 || typeof Value !== 'string' || Value.length > 256)
      throw invalid('Each tag needs a Key of 1 to 128 characters and a Value of at most 256.')
    return { Key, Value }
  })
}
