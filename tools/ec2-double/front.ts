// The front: an HTTP server on 127.0.0.1 between the SDK and moto. moto is an independent EC2 API,
// but it takes shortcuts real EC2 does not (images available at once, duplicate names accepted,
// ClientToken ignored, no pagination, no DescribeImageReferences, deprecation or protection). The
// front adds what EC2 documents, and injects faults — throttling, 5xx, latency, lost replies —
// from a seeded random source so every run is reproducible. Per-action behaviour lives in
// ec2-actions.ts; this file is the server, the fault injector and the state. SSM calls (JSON
// protocol, told apart by their x-amz-target header) come through the same server, faults and
// buckets; what the front adds to them lives in ssm.ts.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import { HANDLERS } from './ec2-actions.ts'
import { SSM_HANDLERS, flattenInput, ssmErrorBody, SSM_CONTENT_TYPE } from './ssm.ts'
import { freshFaults, freshState, type DoubleState } from './state.ts'
import { parseXml, serializeXml, type XmlElement } from './xml.ts'

export interface Call {
  /** The EC2 action, or the SSM operation (PutParameter, GetParameter, …). */
  action: string
  region: string
  /** Absent for EC2. */
  service?: 'ssm'
  /** When the call arrived (ms since the epoch). */
  at: number
  /** EC2: the query parameters. SSM: the JSON input flattened (Tags.1.Key, Overwrite: 'true', …). */
  params: Record<string, string>
  /** SSM: the JSON input as sent. */
  input?: Record<string, unknown>
  status: number
  errorCode?: string
}

export interface FaultRule {
  /** Actions the rule applies to (all when absent). */
  actions?: string[]
  regions?: string[]
  /** Share of calls answered 503 RequestLimitExceeded, not forwarded. */
  throttleRate?: number
  /** Share of calls answered 500 InternalError, not forwarded. */
  errorRate?: number
  /** Added delay, fixed or a [min, max] range. */
  latencyMs?: number | [number, number]
  /** The first N matching calls per region are carried out, but the client is told 500. */
  lostReplyFirst?: number
  lostReplyRate?: number
  /**
   * Matching calls are refused as IAM refuses a call the credentials may not make, DryRun or not
   * (EC2 API Reference, DryRun: "If you have the required permissions, the error response is
   * DryRunOperation. Otherwise, it is UnauthorizedOperation"; SSM: AccessDeniedException).
   */
  denied?: boolean
}

export interface Bucket {
  capacity: number
  refillPerSecond: number
}

export interface FrontOptions {
  seed?: number
  /** How long new images stay pending; a function decides per image. */
  pendingMs?: number | ((image: { imageId: string; region: string; name: string; action: string }) => number)
  faults?: FaultRule[]
  /** EC2-like token buckets per region: calls beyond them are throttled. */
  buckets?: { describe: Bucket; change: Bucket } | undefined
  /** false answers DescribeImageReferences with UnauthorizedOperation, as for credentials without it. */
  imageReferences?: boolean
  /** EC2 may return fewer items than MaxResults: pages hold at most this many, so paging is exercised. */
  pageSize?: number
  /**
   * How long a new image stays out of DescribeImages after CreateImage / CopyImage / RegisterImage
   * (EC2 developer guide, "Eventual consistency": a resource just created may not be visible yet).
   * Default 1000 ms, so that code relying on seeing a new image at once is caught.
   */
  invisibleMs?: number
  /**
   * How long SSM takes to validate a PutParameter of data type aws:ec2:image (SSM API Reference,
   * PutParameter, DataType: "The aws:ec2:image value is validated asynchronously, and the
   * PutParameter call returns before the validation is complete"). Until then the parameter keeps
   * its old state. Default 1000 ms.
   */
  ssmValidationMs?: number
  /**
   * After an aws:ec2:image value fails its check, how long from that put until the parameter takes
   * another (SSM User Guide, "Troubleshooting Parameter Store": "you can try again after five minutes
   * have passed from the original attempt"). Default five minutes.
   */
  ssmRetryAfterMs?: number
}

/** Default of FrontOptions.invisibleMs. */
export const INVISIBLE_MS = 1000
/** Default of FrontOptions.ssmValidationMs. */
export const SSM_VALIDATION_MS = 1000
/** Default of FrontOptions.ssmRetryAfterMs. */
export const SSM_RETRY_AFTER_MS = 300_000

/** What the front knows of an image that moto does not. */
export interface ImageOverlay {
  region: string
  name: string
  createdAt: number
  pendingMs: number
  failure?: { code: string; message: string }
  encrypted?: boolean
  kmsKeyId?: string
  creationDate?: string
  deprecationTime?: string
  protection?: string
  organizationShares: string[]
  /** Until when DescribeImages does not list it (eventual consistency); 0 or absent: listed. */
  visibleAt?: number
  /** DisableImage was called (and EnableImage not since). */
  disabled?: boolean
  /** The snapshots RegisterImage was given: moto makes new ones instead, EC2 uses these. */
  snapshotIds?: string[]
  /** A copy's source, as EC2 reports it in DescribeImages. */
  sourceImageId?: string
  sourceImageRegion?: string
  /**
   * EC2 API Reference, Image, lastLaunchedTime: "when the AMI was last used to launch an EC2
   * instance. When the AMI is used to launch an instance, there is a 24-hour delay before that usage
   * is reported." So a launch through the front never sets it; tests do, with setLastLaunched.
   */
  lastLaunchedTime?: string
}

export class FrontError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export interface Reply {
  status: number
  body: string
  /** text/xml unless said (SSM answers JSON). */
  contentType?: string
}

export class Front {
  endpoint = ''
  readonly motoEndpoint: string
  /** All the double remembers; reset() replaces it whole. */
  state: DoubleState
  private server: Server | undefined

  constructor(motoEndpoint: string, options: FrontOptions = {}) {
    this.motoEndpoint = motoEndpoint
    this.state = freshState(options)
  }

  /** Every call so far, in the order it arrived. */
  get calls(): Call[] {
    return this.state.calls
  }

  /** Changes behaviour mid-test; faults and buckets restart with the new seed. */
  configure(options: Partial<FrontOptions>): void {
    this.state.options = { ...this.state.options, ...options }
    this.state.faults = freshFaults(this.state.options)
  }

  /** Forgets everything, as a double just started with these options would know it. */
  reset(options: FrontOptions = {}): void {
    this.state = freshState(options)
  }

  changingCalls(): Call[] {
    return this.calls.filter((call) => !/^(Describe|Get|List)/.test(call.action))
  }

  /** Ends the image `failed` after its pending time, with AWS's reason. */
  failImage(imageId: string, message = 'Snapshot creation failed: internal error'): void {
    const image = this.state.images.get(imageId)
    if (!image) throw new Error(`the front did not see ${imageId} being made`)
    image.failure = { code: 'Client.InternalError', message }
  }

  /** moto stamps every image with now; prune needs images of different ages. An old image is listed. */
  setCreationDate(imageId: string, region: string, iso: string): void {
    const image = this.overlay(imageId, region)
    image.creationDate = iso
    image.visibleAt = 0
  }

  /**
   * When the image last launched an instance, as EC2 reports it a day later (ImageOverlay.lastLaunchedTime).
   * An image with a reported launch is at least a day old, so it is listed at once.
   */
  setLastLaunched(imageId: string, region: string, iso: string): void {
    if (Number.isNaN(Date.parse(iso))) throw new Error(`setLastLaunched: ${iso} is not an ISO 8601 date-time`)
    const image = this.overlay(imageId, region)
    image.lastLaunchedTime = iso
    image.visibleAt = 0
  }

  /** Resolves once every aws:ec2:image validation under way has finished (and any it started). */
  async settled(): Promise<void> {
    while (this.state.parameters.running.size > 0) await Promise.allSettled([...this.state.parameters.running])
  }

  /** Whether DescribeImages lists the image yet (eventual consistency). */
  visible(imageId: string): boolean {
    return Date.now() >= (this.state.images.get(imageId)?.visibleAt ?? 0)
  }

  /** When a new image becomes visible to DescribeImages. */
  visibleFrom(now: number): number {
    return now + (this.state.options.invisibleMs ?? INVISIBLE_MS)
  }

  overlay(imageId: string, region: string): ImageOverlay {
    let image = this.state.images.get(imageId)
    if (!image) {
      image = { region, name: '', createdAt: 0, pendingMs: 0, organizationShares: [] }
      this.state.images.set(imageId, image)
    }
    return image
  }

  stateOf(imageId: string): { state: string; reason?: { code: string; message: string } } | undefined {
    const image = this.state.images.get(imageId)
    if (image?.disabled) return { state: 'disabled' }
    if (!image || image.createdAt === 0) return undefined
    if (Date.now() < image.createdAt + image.pendingMs) return { state: 'pending' }
    return image.failure ? { state: 'failed', reason: image.failure } : { state: 'available' }
  }

  pendingFor(image: { imageId: string; region: string; name: string; action: string }): number {
    const pending = this.state.options.pendingMs ?? 0
    return typeof pending === 'function' ? pending(image) : pending
  }

  /** Sends a call to moto as the SDK would, for the front's own look-ups and follow-ups. */
  async moto(region: string, action: string, params: Record<string, string> = {}): Promise<XmlElement> {
    const body = new URLSearchParams({ Action: action, Version: '2016-11-15', ...params })
    const reply = await this.send(region, body)
    const xml = parseXml(reply.body)
    if (reply.status >= 400) throw new FrontError(reply.status, codeOf(xml) ?? 'InternalError', reply.body)
    return xml
  }

  /** Forwards a call to moto unchanged but for the parameters given. */
  send(region: string, params: URLSearchParams): Promise<Reply> {
    return this.post(region, 'ec2', params.toString(), { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' })
  }

  /** An SSM call to moto (JSON protocol, same endpoint), for the front's own look-ups. */
  async ssm(region: string, operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = await this.post(region, 'ssm', JSON.stringify(input), {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AmazonSSM.${operation}`
    })
    const body = JSON.parse(reply.body || '{}') as Record<string, unknown>
    if (reply.status >= 400)
      throw new FrontError(
        reply.status,
        String(body.__type ?? 'ParameterNotFound')
          .split('#')
          .at(-1)!,
        reply.body
      )
    return body
  }

  /** Forwards an SSM call's body to moto unchanged; moto's answer (errors included) comes back as it is. */
  async ssmRaw(region: string, operation: string, body: string): Promise<Reply> {
    const reply = await this.post(region, 'ssm', body, { 'content-type': SSM_CONTENT_TYPE, 'x-amz-target': `AmazonSSM.${operation}` })
    return { ...reply, contentType: SSM_CONTENT_TYPE }
  }

  private post(region: string, service: string, body: string, headers: Record<string, string>): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        `${this.motoEndpoint}/`,
        {
          method: 'POST',
          headers: {
            ...headers,
            'content-length': Buffer.byteLength(body),
            // moto reads the region and service from the credential scope and does not check signatures.
            authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`
          }
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () => resolve({ status: res.statusCode ?? 500, body: text }))
        }
      )
      req.on('error', reject)
      req.end(body)
    })
  }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        (reply) => {
          res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/xml;charset=UTF-8' })
          res.end(reply.body)
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/xml;charset=UTF-8' })
          res.end(errorBody('InternalError', `front: ${String(error)}`))
        }
      )
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    const address = this.server.address()
    if (typeof address !== 'object' || !address) throw new Error('front has no address')
    this.endpoint = `http://127.0.0.1:${address.port}`
  }

  async stop(): Promise<void> {
    if (!this.server) return
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server!.close(() => resolve()))
  }

  private async handle(req: IncomingMessage): Promise<Reply> {
    let text = ''
    for await (const chunk of req) text += String(chunk)
    const region = /Credential=[^/]+\/\d+\/([a-z0-9-]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? 'us-east-1'
    const target = /^AmazonSSM\.(\w+)$/.exec(String(req.headers['x-amz-target'] ?? ''))?.[1]
    if (target !== undefined) return this.handleSsm(region, target, text)
    const params = new URLSearchParams(text)
    const action = params.get('Action') ?? ''
    const call: Call = { action, region, at: Date.now(), params: Object.fromEntries(params), status: 0 }
    this.state.calls.push(call)
    const reply = await this.reply(call, EC2_PROTOCOL, async () => {
      const changesImages = IMAGE_CHANGES.has(call.action) && params.get('DryRun') !== 'true'
      let done: Reply | undefined
      try {
        const handler = HANDLERS[call.action]
        done = handler ? await handler(this, call.region, params) : await this.send(call.region, params)
        return done
      } catch (error) {
        if (!(error instanceof FrontError)) throw error
        return { status: error.status, body: errorBody(error.code, error.message) }
      } finally {
        // A deregistration that went through only takes its image out of the index; any other
        // change, or one that may not have gone through, drops the index.
        const gone = call.action === 'DeregisterImage' && done !== undefined && done.status < 400 ? params.get('ImageId') : null
        if (changesImages) this.imagesChanged(call.region, gone ?? undefined)
      }
    })
    call.status = reply.status
    if (reply.status >= 400) {
      const code = /<Code>([^<]+)<\/Code>/.exec(reply.body)?.[1]
      if (code) call.errorCode = code
    }
    return reply
  }

  /**
   * An SSM call (JSON protocol: POST, x-amz-target AmazonSSM.<Operation>): recorded like an EC2
   * one, given the same faults and buckets, answered by ssm.ts where it models SSM, else by
   * moto as it is (moto's JSON errors included).
   */
  private async handleSsm(region: string, operation: string, text: string): Promise<Reply> {
    let input: Record<string, unknown> = {}
    try {
      input = JSON.parse(text || '{}') as Record<string, unknown>
    } catch {
      // Left to moto, which answers a body it cannot read as SSM does.
    }
    const call: Call = { action: operation, service: 'ssm', region, at: Date.now(), params: flattenInput(input), input, status: 0 }
    this.state.calls.push(call)
    const reply = await this.reply(call, SSM_PROTOCOL, async () => {
      try {
        const handler = SSM_HANDLERS[operation]
        return handler ? await handler(this, region, input, text) : await this.ssmRaw(region, operation, text)
      } catch (error) {
        // An SSM client reads only JSON errors, so the front's own failures are answered as one too.
        if (!(error instanceof FrontError))
          return { status: 500, body: ssmErrorBody('InternalServerError', `front: ${String(error)}`), contentType: SSM_CONTENT_TYPE }
        return { status: error.status, body: ssmErrorBody(error.code, error.message), contentType: SSM_CONTENT_TYPE }
      }
    })
    call.status = reply.status
    if (reply.status >= 400) {
      const code = ssmErrorCode(reply.body)
      if (code) call.errorCode = code
    }
    return reply
  }

  private async reply(call: Call, protocol: Protocol, dispatch: () => Promise<Reply>): Promise<Reply> {
    const rules = (this.state.options.faults ?? []).filter(
      (rule) => (!rule.actions || rule.actions.includes(call.action)) && (!rule.regions || rule.regions.includes(call.region))
    )
    for (const rule of rules) {
      const latency = rule.latencyMs
      const ms = Array.isArray(latency) ? latency[0] + this.state.faults.random() * (latency[1] - latency[0]) : (latency ?? 0)
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
    }
    if (!this.takeToken(call)) {
      this.state.faults.throttled++
      return protocol.throttled()
    }
    if (rules.some((rule) => rule.denied)) return protocol.denied(call.action)
    for (const rule of rules) {
      if (rule.throttleRate && this.state.faults.random() < rule.throttleRate) return protocol.throttled()
      if (rule.errorRate && this.state.faults.random() < rule.errorRate) return protocol.internalError()
    }
    const lost = this.loseReply(call, rules)
    const reply = await dispatch()
    // A lost reply: the server did the work; the client never hears of it and will retry.
    if (lost && reply.status < 400) return protocol.internalError()
    return reply
  }

  /**
   * Forgets the region's image index (see imageIndex), or, for an image known deregistered, only
   * that image: so a prune of thousands of images does not list them all again for each one.
   */
  imagesChanged(region: string, deregistered?: string): void {
    const index = this.state.imageIndex.get(region)
    if (deregistered !== undefined && index) index.delete(deregistered)
    else this.state.imageIndex.delete(region)
    this.state.generation.set(region, (this.state.generation.get(region) ?? 0) + 1)
  }

  private loseReply(call: Call, rules: FaultRule[]): boolean {
    for (const rule of rules) {
      const key = `${rule.actions?.join(',')}|${call.action}|${call.region}`
      const lostSoFar = this.state.faults.lostSoFar.get(key) ?? 0
      if (rule.lostReplyFirst && lostSoFar < rule.lostReplyFirst) {
        this.state.faults.lostSoFar.set(key, lostSoFar + 1)
        return true
      }
      if (rule.lostReplyRate && this.state.faults.random() < rule.lostReplyRate) return true
    }
    return false
  }

  private takeToken(call: Call): boolean {
    const shapes = this.state.options.buckets
    if (!shapes) return true
    const kind = /^(Describe|Get|List)/.test(call.action) ? 'describe' : 'change'
    const shape = shapes[kind]
    // SSM has its own quotas (Systems Manager endpoints and quotas), so its buckets are its own.
    const key = `${call.service ? `${call.service}|` : ''}${call.region}|${kind}`
    const now = Date.now()
    const bucket = this.state.faults.buckets.get(key) ?? { tokens: shape.capacity, at: now }
    bucket.tokens = Math.min(shape.capacity, bucket.tokens + ((now - bucket.at) / 1000) * shape.refillPerSecond)
    bucket.at = now
    this.state.faults.buckets.set(key, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }
}

/** How each protocol answers the front's own throttling and 5xx. */
interface Protocol {
  throttled(): Reply
  internalError(): Reply
  denied(action: string): Reply
}

const EC2_PROTOCOL: Protocol = {
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
const SSM_PROTOCOL: Protocol = {
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

function ssmErrorCode(body: string): string | undefined {
  try {
    const type = (JSON.parse(body) as { __type?: unknown }).__type
    return typeof type === 'string' ? type.split('#').at(-1) : undefined
  } catch {
    return undefined
  }
}

/** Actions that add, remove or change an image's snapshots: each drops the region's image index. */
const IMAGE_CHANGES = new Set(['CreateImage', 'CopyImage', 'RegisterImage', 'DeregisterImage'])

export async function startFront(motoEndpoint: string, options: FrontOptions = {}): Promise<Front> {
  const front = new Front(motoEndpoint, options)
  await front.listen()
  return front
}

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

function codeOf(xml: XmlElement): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(serializeXml(xml))?.[1]
}
