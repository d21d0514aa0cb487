// SSM's asynchronous check of an aws:ec2:image value: a put answered at once is checked after
// ssmValidationMs and carried out by moto only if the image is there and available.
import { Caller } from '../caller.ts'
import { describeImages } from '../ec2/describe-images.ts'
import { SSM_RETRY_AFTER_MS, SSM_VALIDATION_MS } from '../options.ts'
import { ec2ErrorCode, FrontError, type Reply } from '../protocol.ts'
import type { Front } from '../front.ts'
import type { DoubleState } from '../state.ts'
import { items, parseXml, textOf } from '../xml.ts'
import { storedParameter } from './parameters.ts'

export const IMAGE = 'aws:ec2:image'
// EC2 API Reference, error codes, InvalidAMIID.Malformed: "the full AMI ID, in the form
// ami-xxxxxxxxxxxxxxxxx" (17 hex digits; older images have 8).
const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/

/** How one asynchronous aws:ec2:image validation ended (ParameterState.validations). */
export interface ParameterValidation {
  region: string
  name: string
  value: string
  /** The version PutParameter answered. */
  version: number
  /** Whether the value passed and was stored. */
  ok: boolean
  /** Why it was not stored. */
  reason?: string
  /**
   * The version moto stored it as: the announced one unless an earlier put to the same parameter,
   * answered before this one, failed its own validation (its version was never used).
   */
  storedVersion?: number
}

/** A PutParameter of data type aws:ec2:image that SSM has answered but not yet validated. */
export interface PendingPut {
  /** The caller that put it: the check acts as it. */
  region: string
  accessKeyId: string
  name: string
  input: Record<string, unknown>
  /** The version the answer gave. */
  version: number
  /** When SSM answered it, and when its check is due (ms since the epoch, on the front's clock). */
  answeredAt: number
  due: number
}

/** Where SSM keeps a parameter's pending put and lockout: per account, region and name. */
export function parameterKey(caller: Caller, name: string): string {
  return `${caller.scope}|${name}`
}

/**
 * Records an answered put, to be checked once ssmValidationMs has passed. Nothing waits for that
 * on a timer: the check is made when it is due and something looks — the next request to the
 * front (applyDue), or a test's settled() — and is judged as of the moment it fell due, so it ends
 * the same on a real clock and on a virtual one.
 */
export function schedule(caller: Caller, name: string, input: Record<string, unknown>, version: number): void {
  const now = caller.now()
  const { pending } = caller.state.parameters
  const key = parameterKey(caller, name)
  pending.set(key, [
    ...(pending.get(key) ?? []),
    {
      region: caller.region,
      accessKeyId: caller.accessKeyId,
      name,
      input,
      version,
      answeredAt: now,
      due: now + (caller.options.ssmValidationMs ?? SSM_VALIDATION_MS)
    }
  ])
}

/**
 * Makes every check that is due, in the order they fell due. The front calls this before it
 * handles any request, so no request sees a parameter (or changes an image) as if a due check had
 * not been made yet. One pass at a time: a request that arrives during one waits for it.
 */
export function applyDue(front: Front): Promise<void> {
  const { parameters } = front.state
  if (parameters.pending.size === 0) return Promise.resolve()
  parameters.applying ??= checkDue(front, front.state).finally(() => (parameters.applying = undefined))
  return parameters.applying
}

/** Waits, on the front's clock, until every put answered so far has been checked. */
export async function settled(front: Front): Promise<void> {
  const state = front.state
  for (;;) {
    await applyDue(front)
    const next = nextDue(state)
    if (front.state !== state || !next) return
    const wait = next.due - front.clock.now()
    if (wait > 0) await front.clock.sleep(wait)
  }
}

function nextDue(state: DoubleState): PendingPut | undefined {
  return [...state.parameters.pending.values()].flat().sort((a, b) => a.due - b.due)[0]
}

async function checkDue(front: Front, state: DoubleState): Promise<void> {
  for (let next = nextDue(state); next && next.due <= front.clock.now() && front.state === state; next = nextDue(state)) {
    const caller = new Caller(front, next.region, next.accessKeyId, next.due)
    let outcome: Outcome | undefined
    try {
      outcome = await check(caller, next)
    } catch (error) {
      // Never thrown on, so one check's failure cannot stop the ones after it.
      outcome = { reason: `front: ${String(error)}` }
    }
    if (outcome) finish(caller, next, outcome)
  }
}

interface Outcome {
  /** Why the value was not stored; absent when it was. */
  reason?: string
  storedVersion?: number
}

/**
 * The asynchronous check (SSM User Guide, "Native parameter support for Amazon Machine Image IDs",
 * "How AMI format validation works": Systems Manager "performs an asynchronous validation operation to
 * ensure that the parameter value meets the formatting requirements for an AMI ID, and that the
 * specified AMI is available in your AWS account"; creating one needs ec2:DescribeImages). The double
 * asks its own DescribeImages view as of when the check fell due, so eventual consistency,
 * deregistration and its image states count. Only an `available` image passes: refusing a pending,
 * failed or disabled one is the strict reading of "available" (a disabled AMI "can't be used for
 * instance launches", EC2 User Guide, "Disable an AMI"). Undefined if the front was reset meanwhile.
 */
async function check(caller: Caller, entry: PendingPut): Promise<Outcome | undefined> {
  const value = String(entry.input.Value)
  let reason = AMI_ID.test(value) ? await imageRefusal(caller, value) : `${value} is not an AMI id (ami- and 8 or 17 hexadecimal digits)`
  if (!reason) {
    // Another put may have changed the parameter since this one was answered.
    const stored = await storedParameter(caller, entry.name)
    if (stored && stored.dataType !== IMAGE) reason = `ValidationException: ${entry.name} now has data type ${stored.dataType}`
  }
  if (!caller.current) return undefined
  if (reason) return { reason }
  try {
    return { storedVersion: Number((await caller.ssm('PutParameter', entry.input)).Version) }
  } catch (error) {
    if (!(error instanceof FrontError)) throw error
    return { reason: `${error.code}: ${messageOf(error)}` }
  }
}

/** Records how the check ended and drops the put from the pending ones. */
function finish(caller: Caller, entry: PendingPut, { reason, storedVersion }: Outcome): void {
  if (!caller.current) return
  const { parameters } = caller.state
  const key = parameterKey(caller, entry.name)
  if (reason !== undefined) parameters.lockouts.set(key, entry.answeredAt + (caller.options.ssmRetryAfterMs ?? SSM_RETRY_AFTER_MS))
  const rest = (parameters.pending.get(key) ?? []).filter((put) => put !== entry)
  if (rest.length > 0) parameters.pending.set(key, rest)
  else parameters.pending.delete(key)
  parameters.validations.push({
    region: entry.region,
    name: entry.name,
    value: String(entry.input.Value),
    version: entry.version,
    ok: reason === undefined,
    ...(reason !== undefined && { reason }),
    ...(storedVersion !== undefined && { storedVersion })
  })
}

/** Why DescribeImages (as the double answers it) does not show the image available, if it does not. */
async function imageRefusal(caller: Caller, imageId: string): Promise<string | undefined> {
  const params = new URLSearchParams({ Action: 'DescribeImages', Version: '2016-11-15', 'ImageId.1': imageId, IncludeDisabled: 'true' })
  let reply: Reply
  try {
    reply = await describeImages(caller, params)
  } catch (error) {
    if (!(error instanceof FrontError)) throw error
    return `DescribeImages refused ${imageId}: ${error.code}`
  }
  if (reply.status >= 400) return `DescribeImages refused ${imageId}: ${ec2ErrorCode(reply.body) ?? reply.status}`
  const image = items(parseXml(reply.body), 'imagesSet')[0]
  if (!image) return `${imageId} is not listed by DescribeImages in ${caller.region}`
  const state = textOf(image, 'imageState')
  return state === 'available' ? undefined : `${imageId} is ${state}, not available`
}

function messageOf(error: FrontError): string {
  try {
    const body = JSON.parse(error.message) as { message?: string; Message?: string }
    return body.message ?? body.Message ?? error.message
  } catch {
    return error.message
  }
}
