// One request's sender, as the handlers act for it: the region and the credentials it signed with,
// and the state it arrived in. The double's own look-ups and follow-ups go to moto with the same
// credentials, so moto answers them as it would answer the caller. SSM's check of a value acts as
// the caller that put it, at the moment the check fell due (asOf).
import { request as httpRequest } from 'node:http'
import type { Clock } from './clock.ts'
import type { Front } from './front.ts'
import type { FrontOptions } from './options.ts'
import { ec2ErrorCode, FrontError, SSM_CONTENT_TYPE, ssmErrorCode, type Reply } from './protocol.ts'
import type { DoubleState } from './state.ts'
import { parseXml, type XmlElement } from './xml.ts'

/** The access key id and region of a SigV4 Authorization header: Credential=AKID/date/region/service/aws4_request. */
export function credentialOf(authorization: string | undefined): { accessKeyId: string; region: string; service: string } {
  const match = /Credential=([^/\s,]+)\/\d+\/([a-z0-9-]+)\/([a-z0-9-]+)\//.exec(authorization ?? '')
  return { accessKeyId: match?.[1] ?? 'testing', region: match?.[2] ?? 'us-east-1', service: match?.[3] ?? 'ec2' }
}

/**
 * Credentials moto acts in `account` for: moto's own default account answers any key it did not
 * issue (`testing`), and a session's key acts in its role's account. A key a test mapped to an
 * account by hand (Accounts.byAccessKey) names that account in ARNs only: moto did not issue it.
 */
export function keyOf(state: DoubleState, account: string): string | undefined {
  if (account === state.accounts.default) return 'testing'
  for (const session of state.accounts.sessions.values()) if (session.account === account) return session.accessKeyId
  return undefined
}

/** The accounts the double can act in, other than `account`: the default one and each with a session. */
export function accountsBesides(state: DoubleState, account: string): string[] {
  const all = new Set([state.accounts.default, ...[...state.accounts.sessions.values()].map((session) => session.account)])
  all.delete(account)
  return [...all]
}

export class Caller {
  readonly region: string
  readonly accessKeyId: string
  /** The state the request arrived in: one still under way when the double is reset leaves the new state alone. */
  readonly state: DoubleState
  readonly clock: Clock
  private readonly front: Front
  private readonly asOf: number | undefined

  constructor(front: Front, region: string, accessKeyId = 'testing', asOf?: number, state: DoubleState = front.state) {
    this.front = front
    this.region = region
    this.accessKeyId = accessKeyId
    this.state = state
    this.clock = front.clock
    this.asOf = asOf
  }

  /**
   * The same request acting as `account` in `region`, with credentials moto acts in that account
   * for: `testing` for the default account, else a session AssumeRole issued in it. The double acts
   * so to read what only an image's owner sees (its launch permissions, its snapshots'
   * createVolumePermission) and to make a copy in the account that copies. Throws when the double
   * holds no credentials for the account.
   */
  as(account: string, region = this.region): Caller {
    if (account === this.account && region === this.region) return this
    const key = account === this.account ? this.accessKeyId : keyOf(this.state, account)
    if (key === undefined) throw new Error(`the double holds no credentials that act in account ${account}`)
    return new Caller(this.front, region, key, this.asOf, this.state)
  }

  /** The moment the double answers as of: now on its clock, or the moment a deferred check stands for. */
  now(): number {
    return this.asOf ?? this.clock.now()
  }

  get options(): FrontOptions {
    return this.state.options
  }

  /** The account the caller acts in: its access key's, else the default one (DoubleState.accounts). */
  get account(): string {
    return this.state.accounts.byAccessKey.get(this.accessKeyId) ?? this.state.accounts.default
  }

  /** `${account}|${region}`: the key of what EC2 and SSM keep per account and region. */
  get scope(): string {
    return `${this.account}|${this.region}`
  }

  /**
   * The ARN of one of the caller's resources in its region, arn('ec2', 'instance/i-0123…') (IAM User
   * Guide, "Identify AWS resources with Amazon Resource Names (ARNs)": arn:partition:service:region:account-id:resource).
   */
  arn(service: string, resource: string): string {
    return `arn:aws:${service}:${this.region}:${this.account}:${resource}`
  }

  /** Whether the double still holds the state this request began in (it has not been reset since). */
  get current(): boolean {
    return this.front.state === this.state
  }

  /** Sends a call to moto as the SDK would, for the double's own look-ups and follow-ups. */
  async moto(action: string, params: Record<string, string> = {}): Promise<XmlElement> {
    const reply = await this.send(new URLSearchParams({ Action: action, Version: '2016-11-15', ...params }))
    if (reply.status >= 400) throw new FrontError(reply.status, ec2ErrorCode(reply.body) ?? 'InternalError', reply.body)
    return parseXml(reply.body)
  }

  /** Forwards a call to moto unchanged but for the parameters given. */
  send(params: URLSearchParams): Promise<Reply> {
    return this.post('ec2', params.toString(), { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' })
  }

  /** Forwards an STS call (query protocol) to moto unchanged, moto's answer as it is. */
  stsRaw(body: string): Promise<Reply> {
    return this.post('sts', body, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' })
  }

  /** Forwards an Auto Scaling call (query protocol) to moto unchanged, moto's answer as it is. */
  autoScalingRaw(body: string): Promise<Reply> {
    return this.post('autoscaling', body, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' })
  }

  /** An SSM call to moto (JSON protocol, same endpoint), for the double's own look-ups. */
  async ssm(operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = await this.post('ssm', JSON.stringify(input), {
      'content-type': SSM_CONTENT_TYPE,
      'x-amz-target': `AmazonSSM.${operation}`
    })
    const body = JSON.parse(reply.body || '{}') as Record<string, unknown>
    if (reply.status >= 400) throw new FrontError(reply.status, ssmErrorCode(reply.body) ?? 'ParameterNotFound', reply.body)
    return body
  }

  /** Forwards an SSM call's body to moto unchanged; moto's answer (errors included) comes back as it is. */
  async ssmRaw(operation: string, body: string): Promise<Reply> {
    const reply = await this.post('ssm', body, { 'content-type': SSM_CONTENT_TYPE, 'x-amz-target': `AmazonSSM.${operation}` })
    return { ...reply, contentType: SSM_CONTENT_TYPE }
  }

  private post(service: string, body: string, headers: Record<string, string>): Promise<Reply> {
    // moto reads the access key, region and service from the credential scope and does not check signatures.
    const authorization = `AWS4-HMAC-SHA256 Credential=${this.accessKeyId}/20260101/${this.region}/${service}/aws4_request, SignedHeaders=host, Signature=0`
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        `${this.front.motoEndpoint}/`,
        { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body), authorization } },
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
}
