// How the double answers in each protocol: EC2's query protocol (XML), Auto Scaling's query
// protocol (its own XML errors), SSM's and KMS's JSON protocol, Recycle Bin's REST-JSON protocol,
// their errors, and the answers its faults give (throttled, a 5xx, a refused permission).
import { serializeXml, type XmlElement } from './xml.ts'

export interface Reply {
  status: number
  body: string
  /** text/xml unless said (SSM answers JSON). */
  contentType?: string
  /** Headers beyond content-type (Recycle Bin names its errors in x-amzn-errortype). */
  headers?: Record<string, string>
}

/** A refusal the double makes itself, answered in the protocol of the call. */
export class FrontError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export const SSM_CONTENT_TYPE = 'application/x-amz-json-1.1'

export function errorBody(code: string, message: string): string {
  const escaped = message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${escaped}</Message></Error></Errors><RequestID>front</RequestID></Response>`
}

export function okBody(action: string, children: XmlElement[]): string {
  return serializeXml({
    name: `${action}Response`,
    attributes: ' xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"',
    text: '',
    children: [{ name: 'requestId', attributes: '', children: [], text: 'front' }, ...children]
  })
}

export function ec2ErrorCode(body: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body)?.[1]
}

export function ssmErrorBody(code: string, message: string): string {
  return JSON.stringify({ __type: code, message })
}

/** An SSM error's code: __type without its namespace (com.amazonaws.ssm#ParameterNotFound). */
export function ssmErrorCode(body: string): string | undefined {
  try {
    const type = (JSON.parse(body) as { __type?: unknown }).__type
    return typeof type === 'string' ? type.split('#').at(-1) : undefined
  } catch {
    return undefined
  }
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

/** How each protocol answers the double's own throttling, 5xx and refused permissions. */
export interface Protocol {
  throttled(): Reply
  internalError(): Reply
  denied(action: string): Reply
}

export const EC2_PROTOCOL: Protocol = {
  throttled: () => ({ status: 503, body: errorBody('RequestLimitExceeded', 'Request limit exceeded.') }),
  internalError: () => ({ status: 500, body: errorBody('InternalError', 'An internal error has occurred.') }),
  denied: (action) => ({
    status: 403,
    body: errorBody('UnauthorizedOperation', `You are not authorized to perform this operation. (ec2:${action})`)
  })
}

// SSM API Reference, Common Errors: ThrottlingException, "The request was denied due to request
// throttling", HTTP 400; each action's Errors (PutParameter, GetParameter, …): InternalServerError,
// "An error occurred on the server side", HTTP 500. Both as JSON-protocol errors (__type, message).
export const SSM_PROTOCOL: Protocol = {
  throttled: () => ({ status: 400, body: ssmErrorBody('ThrottlingException', 'Rate exceeded'), contentType: SSM_CONTENT_TYPE }),
  internalError: () => ({
    status: 500,
    body: ssmErrorBody('InternalServerError', 'An error occurred on the server side.'),
    contentType: SSM_CONTENT_TYPE
  }),
  denied: (action) => ({
    status: 400,
    body: ssmErrorBody('AccessDeniedException', `User is not authorized to perform: ssm:${action}`),
    contentType: SSM_CONTENT_TYPE
  })
}

/**
 * Auto Scaling answers in the AWS query protocol, whose errors are an ErrorResponse (Auto Scaling API
 * Reference, Common Errors: Throttling, HTTP 400; InternalFailure, HTTP 500; AccessDenied, HTTP 403).
 */
export function autoScalingErrorBody(code: string, message: string): string {
  const escaped = message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escaped}</Message></Error><RequestId>front</RequestId></ErrorResponse>`
}

export const AUTO_SCALING_PROTOCOL: Protocol = {
  throttled: () => ({ status: 400, body: autoScalingErrorBody('Throttling', 'Rate exceeded') }),
  internalError: () => ({ status: 500, body: autoScalingErrorBody('InternalFailure', 'An internal error has occurred.') }),
  denied: (action) => ({
    status: 403,
    body: autoScalingErrorBody('AccessDenied', `User is not authorized to perform: autoscaling:${action}`)
  })
}

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/'

/** An STS error in the query protocol: an ErrorResponse, as Auto Scaling's (STS API Reference, Common Errors). */
export function stsErrorBody(code: string, message: string): string {
  const escaped = message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${STS_NAMESPACE}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escaped}</Message></Error><RequestId>front</RequestId></ErrorResponse>`
}

/**
 * STS (STS API Reference, Common Errors): ThrottlingException, HTTP 400; InternalFailure, HTTP 500.
 * A refused permission reads as STS words it, naming the caller and, for AssumeRole, the role:
 * "User: <caller ARN> is not authorized to perform: sts:AssumeRole on resource: <role ARN>"
 * (AccessDenied, HTTP 403).
 */
export function stsProtocol(principal: string, resource?: string): Protocol {
  return {
    throttled: () => ({ status: 400, body: stsErrorBody('ThrottlingException', 'Rate exceeded') }),
    internalError: () => ({ status: 500, body: stsErrorBody('InternalFailure', 'An internal error has occurred.') }),
    denied: (action) => ({
      status: 403,
      body: stsErrorBody(
        'AccessDenied',
        `User: ${principal} is not authorized to perform: sts:${action}${resource ? ` on resource: ${resource}` : ''}`
      )
    })
  }
}

export const KMS_CONTENT_TYPE = 'application/x-amz-json-1.1'

export function kmsErrorBody(code: string, message: string): string {
  return JSON.stringify({ __type: code, message })
}

/**
 * KMS answers in the JSON protocol (KMS API Reference, Common Errors and each action's Errors):
 * ThrottlingException, HTTP 400; KMSInternalException, HTTP 500; AccessDeniedException, HTTP 400,
 * "User: <caller ARN> is not authorized to perform: kms:<Action> on resource: <key ARN> because no
 * identity-based policy allows the kms:<Action> action".
 */
export function kmsProtocol(principal: string, resource: string): Protocol {
  const json = (status: number, code: string, message: string): Reply => ({
    status,
    body: kmsErrorBody(code, message),
    contentType: KMS_CONTENT_TYPE
  })
  return {
    throttled: () => json(400, 'ThrottlingException', 'Rate exceeded'),
    internalError: () =>
      json(500, 'KMSInternalException', 'The request was rejected because an internal exception occurred. The request can be retried.'),
    denied: (action) =>
      json(
        400,
        'AccessDeniedException',
        `User: ${principal} is not authorized to perform: kms:${action} on resource: ${resource} because no identity-based policy allows the kms:${action} action`
      )
  }
}

export const RBIN_CONTENT_TYPE = 'application/json'

/**
 * A Recycle Bin error (REST-JSON protocol): the code in the x-amzn-errortype header, which the SDK
 * reads first, and the body's Message and, for the errors that carry one, Reason (Recycle Bin API
 * Reference, ValidationException: INVALID_PAGE_TOKEN | INVALID_PARAMETER_VALUE;
 * ResourceNotFoundException: RULE_NOT_FOUND; ServiceQuotaExceededException: SERVICE_QUOTA_EXCEEDED).
 */
export function rbinError(status: number, code: string, message: string, reason?: string): Reply {
  return {
    status,
    body: JSON.stringify({ Message: message, ...(reason !== undefined && { Reason: reason }) }),
    contentType: RBIN_CONTENT_TYPE,
    headers: { 'x-amzn-errortype': code }
  }
}

/**
 * Recycle Bin's faults. Its own model names InternalServerException (HTTP 500) for an internal
 * problem; throttling and a refused permission it leaves to the errors common to all AWS APIs
 * (Recycle Bin API Reference, Common Errors): ThrottlingException, HTTP 400; AccessDeniedException,
 * "You don't have sufficient access to perform this action", HTTP 403.
 */
export function rbinProtocol(principal: string): Protocol {
  return {
    throttled: () => rbinError(400, 'ThrottlingException', 'Rate exceeded'),
    internalError: () =>
      rbinError(500, 'InternalServerException', 'The service could not respond to the request due to an internal problem.'),
    denied: (action) => rbinError(403, 'AccessDeniedException', `User: ${principal} is not authorized to perform: rbin:${action}`)
  }
}
