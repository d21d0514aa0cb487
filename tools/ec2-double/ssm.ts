// What the front adds to SSM Parameter Store where moto takes shortcuts: moto stores an aws:ec2:image
// parameter at once, without looking at the image, and lets a parameter change to or from that data
// type. SSM validates such a value after it has answered, and stores nothing when the check fails.
// Operations without a handler go to moto unchanged.
import { FrontError, SSM_RETRY_AFTER_MS, SSM_VALIDATION_MS, type Front, type Reply } from './front.ts'
import { HANDLERS } from './ec2-actions.ts'
import type { DoubleState } from './state.ts'
import { items, parseXml, textOf } from './xml.ts'

export const SSM_CONTENT_TYPE = 'application/x-amz-json-1.1'

/** How one asynchronous aws:ec2:image validation ended (Front.parameterValidations). */
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
  /** The version, type, data type and tier the answer implied, which later puts build on. */
  version: number
  type: string
  dataType: string
  tier: string
  /** When SSM answered it, and when the validation runs (ms since the epoch). */
  answeredAt: number
  due: number
  /** Settles when this put's validation has finished. */
  done: Promise<void>
}

type SsmHandler = (front: Front, region: string, input: Record<string, unknown>, body: string) => Promise<Reply>

export const SSM_HANDLERS: Record<string, SsmHandler> = {
  PutParameter: putParameter
}

const IMAGE = 'aws:ec2:image'
// SSM User Guide, "Parameter data types": "You can change an existing parameter from one data type to
// another ... The exceptions are aws:ec2:image and aws:ssm:integration. You can't change a parameter
// to or from either of these data types."
const FIXED_DATA_TYPES = new Set([IMAGE, 'aws:ssm:integration'])
// EC2 API Reference, error codes, InvalidAMIID.Malformed: "the full AMI ID, in the form
// ami-xxxxxxxxxxxxxxxxx" (17 hex digits; older images have 8).
const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/

export function ssmErrorBody(code: string, message: string): string {
  return JSON.stringify({ __type: code, message })
}

/** The JSON input as strings, for Call.params: nested members dotted, list members numbered from 1. */
export function flattenInput(input: unknown, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {}
  const visit = (value: unknown, key: string): void => {
    if (Array.isArray(value)) value.forEach((member, i) => visit(member, `${key}.${i + 1}`))
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, key ? `${key}.${k}` : k)
    else if (value !== undefined) out[key] = String(value)
  }
  visit(input, prefix)
  return out
}

/**
 * PutParameter (SSM API Reference, PutParameter, DataType): "If you call PutParameter with
 * aws:ec2:image data type, a successful HTTP 200 response does not guarantee that your parameter was
 * successfully created or updated. The aws:ec2:image value is validated asynchronously, and the
 * PutParameter call returns before the validation is complete. If you submit an invalid AMI value,
 * the PutParameter operation will return success, but the asynchronous validation will fail and the
 * parameter will not be created or updated." So the front answers such a put itself, at once, with
 * the version and tier it would have; the parameter keeps its old state (GetParameter, GetParameters,
 * GetParameterHistory all show it) for ssmValidationMs; then the value is checked and, if it passes,
 * the put is carried out by moto. While a put is being validated, and for five minutes after one
 * that failed, the parameter takes no other put (the troubleshooting quote below). What SSM checks
 * at once is checked at once: data type changes, the type aws:ec2:image needs, and moto's own
 * synchronous checks, which it would otherwise only make when the put reaches it.
 */
async function putParameter(front: Front, region: string, input: Record<string, unknown>, body: string): Promise<Reply> {
  const name = typeof input.Name === 'string' ? input.Name : ''
  if (!name) return front.ssmRaw(region, 'PutParameter', body)
  // Parameter data types: "The default data type is text".
  const dataType = typeof input.DataType === 'string' ? input.DataType : 'text'
  const key = `${region}|${name}`
  const stored = await storedParameter(front, region, name)
  if (stored && input.Overwrite !== true) {
    // moto refuses this too; it is checked here so that an aws:ec2:image put is refused at once.
    throw new FrontError(
      400,
      'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.'
    )
  }
  // SSM User Guide, "Troubleshooting Parameter Store": "If you attempt to create or update the
  // parameter again before the validation process completes, the system reports that validation is
  // still in process. If the parameter isn't created or updated successfully, you can try again
  // after five minutes have passed from the original attempt." Any put, of any data type, is refused
  // then. The error code is not documented: the front answers ValidationException, a 400 like SSM's
  // other refusals of a put.
  const lockedUntil = front.state.parameters.lockouts.get(key) ?? 0
  if ((front.state.parameters.pending.get(key)?.length ?? 0) > 0 || Date.now() < lockedUntil) {
    throw new FrontError(
      400,
      'ValidationException',
      `Parameter ${name}: validation is still in process` +
        (Date.now() < lockedUntil ? ' (the last value failed validation: try again after five minutes have passed from that attempt)' : '.')
    )
  }
  if (stored && stored.dataType !== dataType && (FIXED_DATA_TYPES.has(stored.dataType) || FIXED_DATA_TYPES.has(dataType))) {
    throw new FrontError(
      400,
      'ValidationException',
      `Parameter ${name} has data type ${stored.dataType}; it cannot be changed to ${dataType} (a parameter can't change to or from ` +
        `aws:ec2:image or aws:ssm:integration).`
    )
  }
  if (dataType !== IMAGE) return front.ssmRaw(region, 'PutParameter', body)

  // moto's synchronous checks, with its messages.
  if (typeof input.Value !== 'string' || input.Value === '') {
    throw new FrontError(
      400,
      'ValidationException',
      "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1."
    )
  }
  if (input.Overwrite === true && Array.isArray(input.Tags) && input.Tags.length > 0) {
    throw new FrontError(
      400,
      'ValidationException',
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. " +
        'To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.'
    )
  }
  if (/^\/?(aws|ssm)/i.test(name)) {
    throw new FrontError(400, 'ValidationException', 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).')
  }
  // SSM User Guide, "Understanding parameter types": "For String parameters, however, you can specify
  // the data type as aws:ec2:image"; SSM API Reference, PutParameter, DataType: "The data type for a
  // String parameter." Only String, then; an overwrite without Type keeps the type it had.
  const type = typeof input.Type === 'string' ? input.Type : stored?.type
  if (!type) throw new FrontError(400, 'ValidationException', 'A parameter type is required when you create a parameter.')
  if (type !== 'String') {
    throw new FrontError(400, 'ValidationException', `Data type ${IMAGE} is only for parameters of type String; ${name} would be ${type}.`)
  }

  const version = (stored?.version ?? 0) + 1
  // An overwrite without a tier keeps the parameter's tier (moto does the same); a new one is Standard.
  const tier = typeof input.Tier === 'string' ? input.Tier : (stored?.tier ?? 'Standard')
  const pending = front.state.parameters.pending.get(key) ?? []
  front.state.parameters.pending.set(key, pending)
  const previous = pending.at(-1)?.done ?? Promise.resolve()
  const entry: PendingPut = {
    input,
    version,
    type,
    dataType,
    tier,
    answeredAt: Date.now(),
    due: Date.now() + (front.state.options.ssmValidationMs ?? SSM_VALIDATION_MS),
    done: Promise.resolve()
  }
  const state = front.state
  // Never rejects, so one validation's failure cannot stop the ones after it.
  entry.done = previous
    .then(() => validate(front, region, name, entry, state))
    .catch((error: unknown) => finish(front, region, name, entry, state, `front: ${String(error)}`))
    .finally(() => state.parameters.running.delete(entry.done))
  pending.push(entry)
  front.state.parameters.running.add(entry.done)
  return { status: 200, body: JSON.stringify({ Version: version, Tier: tier }), contentType: SSM_CONTENT_TYPE }
}

/**
 * The asynchronous check (SSM User Guide, "Native parameter support for Amazon Machine Image IDs",
 * "How AMI format validation works": Systems Manager "performs an asynchronous validation operation to
 * ensure that the parameter value meets the formatting requirements for an AMI ID, and that the
 * specified AMI is available in your AWS account"; creating one needs ec2:DescribeImages). The front
 * asks its own DescribeImages view, so eventual consistency, deregistration and its image states
 * count. Only an `available` image passes: refusing a pending, failed or disabled one is the strict
 * reading of "available" (a disabled AMI "can't be used for instance launches", EC2 User Guide,
 * "Disable an AMI").
 */
async function validate(front: Front, region: string, name: string, entry: PendingPut, state: DoubleState): Promise<void> {
  const wait = entry.due - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  if (front.state !== state) return
  const value = String(entry.input.Value)
  let reason = AMI_ID.test(value)
    ? await imageRefusal(front, region, value)
    : `${value} is not an AMI id (ami- and 8 or 17 hexadecimal digits)`
  if (!reason) {
    // Another put may have changed the parameter since this one was answered.
    const stored = await storedParameter(front, region, name)
    if (stored && stored.dataType !== IMAGE) reason = `ValidationException: ${name} now has data type ${stored.dataType}`
  }
  if (front.state !== state) return
  let storedVersion: number | undefined
  if (!reason) {
    try {
      storedVersion = Number((await front.ssm(region, 'PutParameter', entry.input)).Version)
    } catch (error) {
      if (!(error instanceof FrontError)) throw error
      reason = `${error.code}: ${messageOf(error)}`
    }
  }
  finish(front, region, name, entry, state, reason, storedVersion)
}

/** Records how the validation ended and drops the put from the pending ones. */
function finish(
  front: Front,
  region: string,
  name: string,
  entry: PendingPut,
  state: DoubleState,
  reason?: string,
  storedVersion?: number
): void {
  if (front.state !== state) return
  const value = String(entry.input.Value)
  const key = `${region}|${name}`
  if (reason !== undefined)
    front.state.parameters.lockouts.set(key, entry.answeredAt + (front.state.options.ssmRetryAfterMs ?? SSM_RETRY_AFTER_MS))
  const pending = front.state.parameters.pending.get(key) ?? []
  if (pending.includes(entry)) pending.splice(pending.indexOf(entry), 1)
  if (pending.length === 0) front.state.parameters.pending.delete(key)
  front.state.parameters.validations.push({
    region,
    name,
    value,
    version: entry.version,
    ok: reason === undefined,
    ...(reason !== undefined && { reason }),
    ...(storedVersion !== undefined && { storedVersion })
  })
}

/** Why DescribeImages (as the front answers it) does not show the image available, if it does not. */
async function imageRefusal(front: Front, region: string, imageId: string): Promise<string | undefined> {
  const params = new URLSearchParams({ Action: 'DescribeImages', Version: '2016-11-15', 'ImageId.1': imageId, IncludeDisabled: 'true' })
  let reply: Reply
  try {
    reply = await HANDLERS.DescribeImages!(front, region, params)
  } catch (error) {
    if (!(error instanceof FrontError)) throw error
    return `DescribeImages refused ${imageId}: ${error.code}`
  }
  if (reply.status >= 400) return `DescribeImages refused ${imageId}: ${/<Code>([^<]+)<\/Code>/.exec(reply.body)?.[1] ?? reply.status}`
  const image = items(parseXml(reply.body), 'imagesSet')[0]
  if (!image) return `${imageId} is not listed by DescribeImages in ${region}`
  const state = textOf(image, 'imageState')
  return state === 'available' ? undefined : `${imageId} is ${state}, not available`
}

/** The parameter as moto has it now (not counting puts still being validated), or undefined. */
export async function storedParameter(
  front: Front,
  region: string,
  name: string
): Promise<{ version: number; type: string; dataType: string; tier: string } | undefined> {
  const found = await front.ssm(region, 'DescribeParameters', { ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] })
  const parameter = (
    found.Parameters as { Name: string; Version?: number; Type?: string; DataType?: string; Tier?: string }[] | undefined
  )?.find((p) => p.Name === name)
  if (!parameter) return undefined
  return {
    version: parameter.Version ?? 0,
    type: parameter.Type ?? 'String',
    dataType: parameter.DataType ?? 'text',
    tier: parameter.Tier ?? 'Standard'
  }
}

function messageOf(error: FrontError): string {
  try {
    const body = JSON.parse(error.message) as { message?: string; Message?: string }
    return body.message ?? body.Message ?? error.message
  } catch {
    return error.message
  }
}
