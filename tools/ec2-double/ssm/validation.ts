// SSM's asynchronous check of an aws:ec2:image value: a put answered at once is checked after
// ssmValidationMs and carried out by moto only if the image is there and available.
import type { Caller } from '../caller.ts'
import { describeImages } from '../ec2/describe-images.ts'
import { SSM_RETRY_AFTER_MS, SSM_VALIDATION_MS } from '../options.ts'
import { ec2ErrorCode, FrontError, type Reply } from '../protocol.ts'
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
  input: Record<string, unknown>
  /** The version the answer gave. */
  version: number
  /** When SSM answered it, and when the validation runs (ms since the epoch). */
  answeredAt: number
  due: number
  /** Settles when this put's validation has finished. */
  done: Promise<void>
}

/** Where SSM keeps a parameter's pending puts and lockout: per account, region and name. */
export function parameterKey(caller: Caller, name: string): string {
  return `${caller.scope}|${name}`
}

/** Records an answered put, to be checked once ssmValidationMs has passed. */
export function schedule(caller: Caller, name: string, input: Record<string, unknown>, version: number): void {
  const key = parameterKey(caller, name)
  const { parameters } = caller.state
  const pending = parameters.pending.get(key) ?? []
  parameters.pending.set(key, pending)
  const previous = pending.at(-1)?.done ?? Promise.resolve()
  const now = Date.now()
  const entry: PendingPut = {
    input,
    version,
    answeredAt: now,
    due: now + (caller.options.ssmValidationMs ?? SSM_VALIDATION_MS),
    done: Promise.resolve()
  }
  // Never rejects, so one validation's failure cannot stop the ones after it.
  entry.done = previous
    .then(() => validate(caller, name, entry))
    .catch((error: unknown) => finish(caller, name, entry, `front: ${String(error)}`))
    .finally(() => parameters.running.delete(entry.done))
  pending.push(entry)
  parameters.running.add(entry.done)
}

/**
 * The asynchronous check (SSM User Guide, "Native parameter support for Amazon Machine Image IDs",
 * "How AMI format validation works": Systems Manager "performs an asynchronous validation operation to
 * ensure that the parameter value meets the formatting requirements for an AMI ID, and that the
 * specified AMI is available in your AWS account"; creating one needs ec2:DescribeImages). The double
 * asks its own DescribeImages view, so eventual consistency, deregistration and its image states
 * count. Only an `available` image passes: refusing a pending, failed or disabled one is the strict
 * reading of "available" (a disabled AMI "can't be used for instance launches", EC2 User Guide,
 * "Disable an AMI").
 */
async function validate(caller: Caller, name: string, entry: PendingPut): Promise<void> {
  const wait = entry.due - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  if (!caller.current) return
  const value = String(entry.input.Value)
  let reason = AMI_ID.test(value) ? await imageRefusal(caller, value) : `${value} is not an AMI id (ami- and 8 or 17 hexadecimal digits)`
  if (!reason) {
    // Another put may have changed the parameter since this one was answered.
    const stored = await storedParameter(caller, name)
    if (stored && stored.dataType !== IMAGE) reason = `ValidationException: ${name} now has data type ${stored.dataType}`
  }
  if (!caller.current) return
  let storedVersion: number | undefined
  if (!reason) {
    try {
      storedVersion = Number((await caller.ssm('PutParameter', entry.input)).Version)
    } catch (error) {
      if (!(error instanceof FrontError)) throw error
      reason = `${error.code}: ${messageOf(error)}`
    }
  }
  finish(caller, name, entry, reason, storedVersion)
}

/** Records how the validation ended and drops the put from the pending ones. */
function finish(caller: Caller, name: string, entry: PendingPut, reason?: string, storedVersion?: number): void {
  if (!caller.current) return
  const { parameters } = caller.state
  const key = parameterKey(caller, name)
  if (reason !== undefined) parameters.lockouts.set(key, entry.answeredAt + (caller.options.ssmRetryAfterMs ?? SSM_RETRY_AFTER_MS))
  const pending = parameters.pending.get(key) ?? []
  if (pending.includes(entry)) pending.splice(pending.indexOf(entry), 1)
  if (pending.length === 0) parameters.pending.delete(key)
  parameters.validations.push({
    region: caller.region,
    name,
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
