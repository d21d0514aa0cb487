// What the double adds to SSM Parameter Store where moto takes shortcuts: moto stores an
// aws:ec2:image parameter at once, without looking at the image, and lets a parameter change to or
// from that data type. SSM validates such a value after it has answered, and stores nothing when
// the check fails. Operations without a handler go to moto unchanged.
import type { Caller } from '../caller.ts'
import { FrontError, SSM_CONTENT_TYPE, type Reply } from '../protocol.ts'
import { IMAGE, parameterKey, schedule } from './validation.ts'

export type SsmHandler = (caller: Caller, input: Record<string, unknown>, body: string) => Promise<Reply>

export const SSM_HANDLERS: Record<string, SsmHandler> = {
  PutParameter: putParameter
}

// SSM User Guide, "Parameter data types": "You can change an existing parameter from one data type to
// another ... The exceptions are aws:ec2:image and aws:ssm:integration. You can't change a parameter
// to or from either of these data types."
const FIXED_DATA_TYPES = new Set([IMAGE, 'aws:ssm:integration'])

/** A parameter as moto has it now (not counting puts still being checked). */
export interface StoredParameter {
  version: number
  type: string
  dataType: string
  tier: string
}

/**
 * PutParameter (SSM API Reference, PutParameter, DataType): "If you call PutParameter with
 * aws:ec2:image data type, a successful HTTP 200 response does not guarantee that your parameter was
 * successfully created or updated. The aws:ec2:image value is validated asynchronously, and the
 * PutParameter call returns before the validation is complete. If you submit an invalid AMI value,
 * the PutParameter operation will return success, but the asynchronous validation will fail and the
 * parameter will not be created or updated." So the double answers such a put itself, at once, with
 * the version and tier it would have; the parameter keeps its old state (GetParameter, GetParameters,
 * GetParameterHistory all show it) for ssmValidationMs; then the value is checked and, if it passes,
 * the put is carried out by moto (validation.ts). While a put is being validated, and for five
 * minutes after one that failed, the parameter takes no other put (the troubleshooting quote below).
 * What SSM checks at once is checked at once: data type changes, the type aws:ec2:image needs, and
 * moto's own synchronous checks, which it would otherwise only make when the put reaches it.
 */
async function putParameter(caller: Caller, input: Record<string, unknown>, body: string): Promise<Reply> {
  const name = typeof input.Name === 'string' ? input.Name : ''
  if (!name) return caller.ssmRaw('PutParameter', body)
  // Parameter data types: "The default data type is text".
  const dataType = typeof input.DataType === 'string' ? input.DataType : 'text'
  const stored = await storedParameter(caller, name)
  refuseAnyPut(caller, name, dataType, input, stored)
  if (dataType !== IMAGE) return caller.ssmRaw('PutParameter', body)
  refuseImagePut(name, input, stored)
  const version = (stored?.version ?? 0) + 1
  // An overwrite without a tier keeps the parameter's tier (moto does the same); a new one is Standard.
  const tier = typeof input.Tier === 'string' ? input.Tier : (stored?.tier ?? 'Standard')
  schedule(caller, name, input, version)
  return { status: 200, body: JSON.stringify({ Version: version, Tier: tier }), contentType: SSM_CONTENT_TYPE }
}

/** What SSM refuses of a put of any data type, before it answers. */
function refuseAnyPut(caller: Caller, name: string, dataType: string, input: Record<string, unknown>, stored?: StoredParameter): void {
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
  // then. The error code is not documented: the double answers ValidationException, a 400 like SSM's
  // other refusals of a put.
  const key = parameterKey(caller, name)
  const { pending, lockouts } = caller.state.parameters
  const lockedUntil = lockouts.get(key) ?? 0
  const locked = caller.now() < lockedUntil
  if ((pending.get(key)?.length ?? 0) > 0 || locked) {
    throw new FrontError(
      400,
      'ValidationException',
      `Parameter ${name}: validation is still in process` +
        (locked ? ' (the last value failed validation: try again after five minutes have passed from that attempt)' : '.')
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
}

/** What SSM (and moto) refuse at once of an aws:ec2:image put. */
function refuseImagePut(name: string, input: Record<string, unknown>, stored?: StoredParameter): void {
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
}

/** The parameter as moto has it now (not counting puts still being validated), or undefined. */
export async function storedParameter(caller: Caller, name: string): Promise<StoredParameter | undefined> {
  const found = await caller.ssm('DescribeParameters', { ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] })
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
