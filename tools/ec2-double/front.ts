// The front: an HTTP server on 127.0.0.1 between the SDK and moto. moto is an independent EC2 API,
// but it takes shortcuts real EC2 does not (images available at once, duplicate names accepted,
// ClientToken ignored, no pagination, no DescribeImageReferences, deprecation or protection). The
// front adds what EC2 documents (ec2/, one file per group of actions), and injects faults —
// throttling, 5xx, latency, lost replies — from a seeded random source so every run is reproducible
// (faults.ts). SSM calls (JSON protocol, told apart by their x-amz-target header) come through the
// same server, faults and buckets; what the front adds to them lives in ssm/. So do STS calls (told
// apart by their credential scope: roles and their trust, sts/), KMS calls (x-amz-target
// TrentService.*: keys as data, kms/) and Recycle Bin calls (REST-JSON, credential scope rbin:
// retention rules as data, rbin/). This file is the
// server and what tests ask of it; all it remembers is one DoubleState (state.ts), and all the time
// it reads is its clock (clock.ts).
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { Caller, credentialOf, keyOf } from './caller.ts'
import { realClock, type Clock } from './clock.ts'
import { EC2_HANDLERS, IMAGE_CHANGES } from './ec2/index.ts'
import { launchIn, otherAccountOf, templateVersionIn } from './ec2/other-accounts.ts'
import { imagesChanged, imageStateAt, overlayOf, type ImageState } from './ec2/image-state.ts'
import { withFaults } from './faults.ts'
import { defaultEbsKey, KMS_HANDLERS, makeKmsKey } from './kms/keys.ts'
import type { FrontOptions } from './options.ts'
import {
  AUTO_SCALING_PROTOCOL,
  EC2_PROTOCOL,
  ec2ErrorCode,
  errorBody,
  flattenInput,
  FrontError,
  KMS_CONTENT_TYPE,
  kmsErrorBody,
  kmsProtocol,
  SSM_CONTENT_TYPE,
  SSM_PROTOCOL,
  ssmErrorBody,
  rbinError,
  rbinProtocol,
  ssmErrorCode,
  stsErrorBody,
  stsProtocol,
  type Reply
} from './protocol.ts'
import { defineRecycleBinRule, RBIN_HANDLERS, rbinRoute, RbinFailure } from './rbin/rules.ts'
import { setSnapshot } from './ec2/snapshots.ts'
import { SSM_HANDLERS } from './ssm/parameters.ts'
import { applyDue, settled } from './ssm/validation.ts'
import { freshFaults, freshState, type Call, type DoubleState, type ImageOverlay, type RuleTag } from './state.ts'
import { defineRole, principalOf, STS_HANDLERS } from './sts/roles.ts'

export async function startFront(motoEndpoint: string, options: FrontOptions = {}): Promise<Front> {
  const front = new Front(motoEndpoint, options)
  await front.listen()
  return front
}

export class Front {
  endpoint = ''
  readonly motoEndpoint: string
  /** What the front reads time from (FrontOptions.clock). */
  readonly clock: Clock
  /** All the front remembers; reset() replaces it whole. */
  state: DoubleState
  private server: Server | undefined

  constructor(motoEndpoint: string, options: FrontOptions = {}) {
    this.motoEndpoint = motoEndpoint
    this.clock = options.clock ?? realClock
    this.state = freshState(options)
  }

  /** Every call so far, in the order it arrived. */
  get calls(): Call[] {
    return this.state.calls
  }

  changingCalls(): Call[] {
    return this.calls.filter((call) => !/^(Describe|Get|List)/.test(call.action))
  }

  /** Changes behaviour mid-test; faults and buckets restart with the new seed. */
  configure(options: Partial<FrontOptions>): void {
    this.state.options = { ...this.state.options, ...options }
    this.state.faults = freshFaults(this.state.options)
  }

  /** Forgets everything, as a front just started with these options would know it (on the same clock). */
  reset(options: FrontOptions = {}): void {
    this.state = freshState(options)
  }

  /** A caller with the test credentials, for a test's own look-ups in moto (`front.caller(region).ssm(…)`). */
  caller(region: string, accessKeyId = 'testing'): Caller {
    return new Caller(this, region, accessKeyId)
  }

  /** What the front knows of the image, for a test to change (made empty the first time). */
  overlay(imageId: string, region: string): ImageOverlay {
    return overlayOf(this.state, imageId, region)
  }

  /** The image's state as DescribeImages reports it now, where the front decides it. */
  stateOf(imageId: string): ImageState | undefined {
    return imageStateAt(this.state, imageId, this.clock.now())
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

  /**
   * Another account (DoubleState.otherAccounts), for a test or the demo to act in: it launches
   * instances from, and makes launch template versions naming, images of this account shared with
   * it, in `region`. What it does is seen only through a usage report, as on EC2.
   */
  otherAccount(account: string, region: string, membership: { organizationArn?: string; organizationalUnitArns?: string[] } = {}) {
    const owner = this.caller(region)
    const other = otherAccountOf(owner, account)
    if (membership.organizationArn !== undefined) other.organizationArn = membership.organizationArn
    if (membership.organizationalUnitArns) other.organizationalUnitArns = membership.organizationalUnitArns
    return {
      /** `at`: when it launched (ms since the epoch), now unless given. */
      launch: (imageId: string, at?: number): Promise<string> => launchIn(owner, other, imageId, at),
      terminate: (instanceId: string): void => {
        const instance = other.instances.find((i) => i.instanceId === instanceId)
        if (!instance) throw new Error(`terminate: ${account} has no instance ${instanceId}`)
        instance.terminated = true
      },
      templateVersion: (imageId: string, templateId?: string, at?: number) => templateVersionIn(owner, other, imageId, templateId, at)
    }
  }

  /**
   * Defines the IAM role `arn:aws:iam::<account>:role/<name>` (`name` may carry a path,
   * `team/ami-pipeline`) and returns its ARN, for STS AssumeRole through the front (sts/roles.ts).
   * `trusts`: the principals its trust policy allows — account ids (any principal of the account) and
   * role ARNs (that role's sessions); default: the default account. `maxSessionSeconds`: its
   * MaxSessionDuration, 3600 (IAM's default) to 43200.
   */
  role(account: string, name: string, options: { trusts?: string[]; maxSessionSeconds?: number } = {}): string {
    return defineRole(this.state, account, name, options)
  }

  /**
   * An access key that acts in `account` through the front: `testing` for the default account, else
   * that of a session STS issued there (any secret key does: nothing checks signatures). Throws if
   * the front holds none. A test reads an account's images through the front with it, as the account
   * sees them (a copy from another account has its source only there: moto does not know it).
   */
  accessKeyOf(account: string): string {
    const key = keyOf(this.state, account)
    if (key === undefined) throw new Error(`accessKeyOf: the front holds no credentials that act in ${account}; assume a role there first`)
    return key
  }

  /** The ARN of the account's AWS managed key aws/ebs in the region, made the first time (kms/keys.ts). */
  defaultEbsKey(account: string, region: string): string {
    return defaultEbsKey(this.state, account, region, this.clock.now()).arn
  }

  /** A new customer managed key's ARN; `usableBy`: other accounts its key policy lets use it. */
  kmsKey(account: string, region: string, options: { usableBy?: string[] } = {}): string {
    return makeKmsKey(this.state, account, region, options.usableBy ?? [], this.clock.now()).arn
  }

  /**
   * What DescribeSnapshots reports of a snapshot that moto does not know (ec2/snapshots.ts):
   * `fullSizeBytes`, its FullSnapshotSizeInBytes (null: the field left out, as an endpoint without
   * it answers), and `storageTier`. A snapshot is archived only as EBS lets one be (EBS User Guide,
   * "Archive an Amazon EBS snapshot"): completed, and every AMI the double knows uses it disabled
   * (or deregistered) first; otherwise this throws.
   */
  setSnapshot(snapshotId: string, region: string, facts: { fullSizeBytes?: number | null; storageTier?: 'standard' | 'archive' }): void {
    setSnapshot(this.state, snapshotId, region, facts, this.clock.now())
  }

  /**
   * A Recycle Bin retention rule of `account` in `region` (rbin/rules.ts), and its identifier (11
   * characters of [0-9a-zA-Z]). Region-level without `resourceTags` (it may then have
   * `excludeResourceTags`), tag-level with them: a deleted resource matches when it has any of their
   * key and value pairs. `status` defaults to available; a pending rule retains nothing. Refused
   * (it throws) as CreateRule would refuse it: retention 1 to 365 days, at most 50 resource tags and
   * 5 exclusion tags, never both, 250 rules per region.
   */
  recycleBinRule(
    account: string,
    region: string,
    rule: {
      resourceType: 'EC2_IMAGE' | 'EBS_SNAPSHOT'
      retentionDays: number
      resourceTags?: RuleTag[]
      excludeResourceTags?: RuleTag[]
      status?: 'available' | 'pending'
      description?: string
    }
  ): string {
    return defineRecycleBinRule(this.state, account, region, rule, this.clock.now())
  }

  /**
   * Resolves once every aws:ec2:image put answered so far has been checked, waiting on the front's
   * clock until each is due: on a virtual clock, at once (time moves on to the last one's).
   */
  settled(): Promise<void> {
    return settled(this)
  }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        (reply) => {
          res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/xml;charset=UTF-8', ...reply.headers })
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
    const { region, accessKeyId, service } = credentialOf(req.headers.authorization)
    // SSM's checks that fell due before this request are made first, whatever it asks.
    await applyDue(this)
    const caller = new Caller(this, region, accessKeyId)
    const target = String(req.headers['x-amz-target'] ?? '')
    const ssm = /^AmazonSSM\.(\w+)$/.exec(target)?.[1]
    if (ssm !== undefined) return this.handleSsm(caller, ssm, text)
    const kms = /^TrentService\.(\w+)$/.exec(target)?.[1]
    if (kms !== undefined) return this.handleKms(caller, kms, text)
    if (service === 'sts') return this.handleSts(caller, text)
    if (service === 'rbin') return this.handleRbin(caller, req.method ?? 'GET', req.url ?? '/', text)
    return service === 'autoscaling' ? this.handleAutoScaling(caller, text) : this.handleEc2(caller, text)
  }

  /**
   * An STS call (query protocol, told apart by its credential scope; the SDK reaches it at
   * AWS_ENDPOINT_URL_STS): recorded like the others, given the same faults and buckets, answered by
   * sts/ (AssumeRole, GetCallerIdentity). Other STS actions are refused (FrontUnsupported) rather
   * than left to moto, which would issue credentials without the checks STS makes.
   */
  private async handleSts(caller: Caller, text: string): Promise<Reply> {
    const params = new URLSearchParams(text)
    const action = params.get('Action') ?? ''
    const call: Call = {
      action,
      service: 'sts',
      region: caller.region,
      account: caller.account,
      at: caller.now(),
      params: Object.fromEntries(params),
      status: 0
    }
    caller.state.calls.push(call)
    const protocol = stsProtocol(principalOf(caller).arn, params.get('RoleArn') ?? undefined)
    const reply = await withFaults(caller, call, protocol, async () => {
      try {
        const handler = STS_HANDLERS[action]
        if (!handler)
          throw new FrontError(400, 'FrontUnsupported', `The EC2 double's STS answers AssumeRole and GetCallerIdentity, not ${action}.`)
        return await handler(caller, params, text)
      } catch (error) {
        if (!(error instanceof FrontError)) throw error
        return { status: error.status, body: stsErrorBody(error.code, error.message) }
      }
    })
    return recorded(call, reply, ec2ErrorCode(reply.body))
  }

  /**
   * A KMS call (JSON protocol: x-amz-target TrentService.<Operation>; the SDK reaches it at
   * AWS_ENDPOINT_URL_KMS): recorded, given the same faults and buckets, answered from the keys the
   * double holds (kms/keys.ts). KMS operations other than DescribeKey are refused (FrontUnsupported).
   */
  private async handleKms(caller: Caller, operation: string, text: string): Promise<Reply> {
    let input: Record<string, unknown> = {}
    try {
      input = JSON.parse(text || '{}') as Record<string, unknown>
    } catch {
      // An unreadable body is answered below as one without a KeyId.
    }
    const call: Call = {
      action: operation,
      service: 'kms',
      region: caller.region,
      account: caller.account,
      at: caller.now(),
      params: flattenInput(input),
      input,
      status: 0
    }
    caller.state.calls.push(call)
    const protocol = kmsProtocol(principalOf(caller).arn, typeof input.KeyId === 'string' ? input.KeyId : '*')
    const reply = await withFaults(caller, call, protocol, async () => {
      try {
        const handler = KMS_HANDLERS[operation]
        if (!handler) throw new FrontError(400, 'FrontUnsupported', `The EC2 double's KMS answers DescribeKey, not ${operation}.`)
        return await handler(caller, input)
      } catch (error) {
        // A KMS client reads only JSON errors, so the front's own failures are answered as one too.
        if (!(error instanceof FrontError))
          return { status: 500, body: kmsErrorBody('KMSInternalException', `front: ${String(error)}`), contentType: KMS_CONTENT_TYPE }
        return { status: error.status, body: kmsErrorBody(error.code, error.message), contentType: KMS_CONTENT_TYPE }
      }
    })
    return recorded(call, reply, ssmErrorCode(reply.body))
  }

  /**
   * A Recycle Bin call (REST-JSON: the operation is the method and path, told apart by its
   * credential scope rbin; the SDK reaches it at AWS_ENDPOINT_URL_RBIN): recorded, given the same
   * faults and buckets, answered from the rules the double holds (rbin/rules.ts). Operations other
   * than ListRules, GetRule and CreateRule are refused (FrontUnsupported).
   */
  private async handleRbin(caller: Caller, method: string, path: string, text: string): Promise<Reply> {
    const route = rbinRoute(method, path)
    let input: Record<string, unknown> = {}
    try {
      input = JSON.parse(text || '{}') as Record<string, unknown>
    } catch {
      // An unreadable body is answered below as an empty one, which every operation refuses.
    }
    if (route?.identifier !== undefined) input = { ...input, Identifier: route.identifier }
    const call: Call = {
      action: route?.operation ?? `${method} ${path.split('?')[0]}`,
      service: 'rbin',
      region: caller.region,
      account: caller.account,
      at: caller.now(),
      params: flattenInput(input),
      input,
      status: 0
    }
    caller.state.calls.push(call)
    const reply = await withFaults(caller, call, rbinProtocol(principalOf(caller).arn), async () => {
      try {
        const handler = route && RBIN_HANDLERS[route.operation]
        if (!handler)
          throw new FrontError(
            400,
            'FrontUnsupported',
            `The EC2 double's Recycle Bin answers ListRules, GetRule and CreateRule, not ${call.action}.`
          )
        return await handler(caller, input)
      } catch (error) {
        // A Recycle Bin client reads only its JSON errors, so the front's own failures are answered as one too.
        if (!(error instanceof FrontError)) return rbinError(500, 'InternalServerException', `front: ${String(error)}`)
        return rbinError(error.status, error.code, error.message, error instanceof RbinFailure ? error.reason : undefined)
      }
    })
    return recorded(call, reply, reply.headers?.['x-amzn-errortype'])
  }

  /**
   * An Auto Scaling call (query protocol, told apart by its credential scope): recorded like the
   * others and given the same faults and buckets, then answered by moto, which models launch
   * configurations and groups as Auto Scaling documents them.
   */
  private async handleAutoScaling(caller: Caller, text: string): Promise<Reply> {
    const params = new URLSearchParams(text)
    const call: Call = {
      action: params.get('Action') ?? '',
      service: 'autoscaling',
      region: caller.region,
      account: caller.account,
      at: caller.now(),
      params: Object.fromEntries(params),
      status: 0
    }
    caller.state.calls.push(call)
    const reply = await withFaults(caller, call, AUTO_SCALING_PROTOCOL, () => caller.autoScalingRaw(text))
    return recorded(call, reply, ec2ErrorCode(reply.body))
  }

  private async handleEc2(caller: Caller, text: string): Promise<Reply> {
    const params = new URLSearchParams(text)
    const action = params.get('Action') ?? ''
    const call: Call = {
      action,
      region: caller.region,
      account: caller.account,
      at: caller.now(),
      params: Object.fromEntries(params),
      status: 0
    }
    caller.state.calls.push(call)
    const reply = await withFaults(caller, call, EC2_PROTOCOL, async () => {
      const changesImages = IMAGE_CHANGES.has(action) && params.get('DryRun') !== 'true'
      let done: Reply | undefined
      try {
        const handler = EC2_HANDLERS[action]
        done = handler ? await handler(caller, params) : await caller.send(params)
        return done
      } catch (error) {
        if (!(error instanceof FrontError)) throw error
        return { status: error.status, body: errorBody(error.code, error.message) }
      } finally {
        // A deregistration that went through only takes its image out of the index; any other
        // change, or one that may not have gone through, drops the index.
        const gone = action === 'DeregisterImage' && done !== undefined && done.status < 400 ? params.get('ImageId') : null
        if (changesImages) imagesChanged(caller.state, caller.scope, gone ?? undefined)
      }
    })
    return recorded(call, reply, ec2ErrorCode(reply.body))
  }

  /**
   * An SSM call (JSON protocol: POST, x-amz-target AmazonSSM.<Operation>): recorded like an EC2
   * one, given the same faults and buckets, answered by ssm/ where it models SSM, else by moto as
   * it is (moto's JSON errors included).
   */
  private async handleSsm(caller: Caller, operation: string, text: string): Promise<Reply> {
    let input: Record<string, unknown> = {}
    try {
      input = JSON.parse(text || '{}') as Record<string, unknown>
    } catch {
      // Left to moto, which answers a body it cannot read as SSM does.
    }
    const call: Call = {
      action: operation,
      service: 'ssm',
      region: caller.region,
      account: caller.account,
      at: caller.now(),
      params: flattenInput(input),
      input,
      status: 0
    }
    caller.state.calls.push(call)
    const reply = await withFaults(caller, call, SSM_PROTOCOL, async () => {
      try {
        const handler = SSM_HANDLERS[operation]
        return handler ? await handler(caller, input, text) : await caller.ssmRaw(operation, text)
      } catch (error) {
        // An SSM client reads only JSON errors, so the front's own failures are answered as one too.
        if (!(error instanceof FrontError))
          return { status: 500, body: ssmErrorBody('InternalServerError', `front: ${String(error)}`), contentType: SSM_CONTENT_TYPE }
        return { status: error.status, body: ssmErrorBody(error.code, error.message), contentType: SSM_CONTENT_TYPE }
      }
    })
    return recorded(call, reply, ssmErrorCode(reply.body))
  }
}

/** Notes the answer on the call's record. */
function recorded(call: Call, reply: Reply, errorCode: string | undefined): Reply {
  call.status = reply.status
  if (reply.status >= 400 && errorCode) call.errorCode = errorCode
  return reply
}
