// The one place that talks to AWS — EC2, and SSM for publish: a client per service and region (made
// on first use), adaptive retries, pacing per region and kind of call, pagination, dry runs, and
// errors that say where and on what. The SSM SDK is loaded only by a step that publishes to SSM.
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { EC2Client } from '@aws-sdk/client-ec2'
import type { SSMClient } from '@aws-sdk/client-ssm'
import { AwsError, hasCode, type Service } from './errors.ts'
import { EC2_BUCKETS, kindOf, pacingFor, SSM_BUCKETS, SSM_LISTING, TokenBucket, type BucketShape, type CallKind } from './pacing.ts'
import { StepRetryStrategy } from './retry.ts'

export interface AwsOptions {
  /** Attempts per call, first included. Adaptive retry rides out throttling with backoff. */
  maxAttempts?: number
  buckets?: Readonly<Record<CallKind, BucketShape>>
  /** Tests pass a factory to observe or stub the SDK client. */
  makeClient?: (region: string) => EC2Client
  makeSsmClient?: (region: string) => SSMClient
  /** Where each call's outcome goes (the step debug log). */
  debug?: (message: string) => void
  /**
   * The job's cancellation: once aborted no call is sent and none is retried; a call already on
   * the wire finishes, so its outcome can still be reported.
   */
  signal?: AbortSignal
}

/** Counts of calls sent, per operation, for the log and the benchmark. */
export type CallCounts = Map<string, number>

export class Aws {
  readonly counts: CallCounts = new Map()
  private readonly clients = new Map<string, EC2Client>()
  private readonly ssmClients = new Map<string, Promise<SSMClient>>()
  private readonly buckets = new Map<string, TokenBucket>()
  private readonly options: AwsOptions
  private agents: { httpAgent: HttpAgent; httpsAgent: HttpsAgent } | undefined

  constructor(options: AwsOptions = {}) {
    this.options = options
  }

  /**
   * Sends one call. `operation` is EC2's action name (it picks the pacing bucket and names the IAM
   * permission in errors); `resource` says what the call is about, for the error message.
   */
  async call<Output>(region: string, operation: string, resource: string, send: (client: EC2Client) => Promise<Output>): Promise<Output> {
    return this.send('ec2', region, operation, resource, () => this.client(region), send)
  }

  /**
   * Sends one SSM call, paced, retried and reported like an EC2 call. SSM has no DryRun: a dry run
   * reads, and says which changes it could not check.
   */
  async ssm<Output>(region: string, operation: string, resource: string, send: (client: SSMClient) => Promise<Output>): Promise<Output> {
    return this.send('ssm', region, operation, resource, () => this.ssmClient(region), send)
  }

  private async send<Client, Output>(
    service: Service,
    region: string,
    operation: string,
    resource: string,
    client: () => Client | Promise<Client>,
    send: (client: Client) => Promise<Output>
  ): Promise<Output> {
    this.options.signal?.throwIfAborted()
    await this.bucket(service, region, service === 'ssm' && operation === 'DescribeParameters' ? 'listing' : kindOf(operation)).take()
    // A call may wait a while for its token; the job may have been cancelled meanwhile.
    this.options.signal?.throwIfAborted()
    const counted = service === 'ec2' ? operation : `${service}:${operation}`
    this.counts.set(counted, (this.counts.get(counted) ?? 0) + 1)
    const started = Date.now()
    try {
      const output = await send(await client())
      this.trace(counted, region, resource, started, output)
      return output
    } catch (error) {
      this.trace(counted, region, resource, started, error)
      throw new AwsError(operation, region, resource, error, service)
    }
  }

  /**
   * Sends a changing call with EC2's DryRun flag: EC2 answers DryRunOperation when the call would
   * have been allowed, and UnauthorizedOperation when the permission is missing.
   */
  async check(region: string, operation: string, resource: string, send: (client: EC2Client) => Promise<unknown>): Promise<void> {
    try {
      await this.call(region, operation, resource, send)
    } catch (error) {
      if (hasCode(error, 'DryRunOperation')) return
      throw error
    }
    throw new Error(`${operation} in ${region} for ${resource} ignored DryRun and ran: the endpoint does not honour EC2 dry runs`)
  }

  /** Every page of a paginated describe, following NextToken until EC2 stops returning one. */
  async *pages<Page extends { NextToken?: string | undefined }>(
    region: string,
    operation: string,
    resource: string,
    send: (client: EC2Client, nextToken: string | undefined) => Promise<Page>
  ): AsyncGenerator<Page> {
    let nextToken: string | undefined
    do {
      const page: Page = await this.call(region, operation, resource, (client) => send(client, nextToken))
      yield page
      nextToken = page.NextToken || undefined
    } while (nextToken !== undefined)
  }

  private trace(operation: string, region: string, resource: string, started: number, outcome: unknown): void {
    if (!this.options.debug) return
    const attempts = (outcome as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1
    const result = outcome instanceof Error ? `failed (${outcome.name})` : 'ok'
    this.options.debug(
      `${operation} ${region} ${resource.slice(0, 120)}: ${result} in ${Date.now() - started} ms, ${attempts} attempt${attempts === 1 ? '' : 's'}`
    )
  }

  /** Closes every client's sockets so the process can exit promptly. */
  destroy(): void {
    for (const client of this.clients.values()) client.destroy()
    this.clients.clear()
    for (const client of this.ssmClients.values())
      void client.then(
        (loaded) => loaded.destroy(),
        () => undefined
      )
    this.ssmClients.clear()
    this.agents?.httpAgent.destroy()
    this.agents?.httpsAgent.destroy()
  }

  private client(region: string): EC2Client {
    let client = this.clients.get(region)
    if (!client) {
      // The SDK's default chain supplies credentials and honours AWS_ENDPOINT_URL(_EC2).
      client =
        this.options.makeClient?.(region) ??
        new EC2Client({
          region,
          maxAttempts: this.options.maxAttempts ?? 12,
          retryStrategy: new StepRetryStrategy(this.options.maxAttempts ?? 12, this.options.signal),
          requestHandler: this.requestHandler()
        })
      this.clients.set(region, client)
    }
    return client
  }

  /** The SSM SDK is a large module: imported on the first SSM call, never by a step that does not publish. */
  private ssmClient(region: string): Promise<SSMClient> {
    let client = this.ssmClients.get(region)
    if (!client) {
      client = this.options.makeSsmClient
        ? Promise.resolve(this.options.makeSsmClient(region))
        : import('@aws-sdk/client-ssm').then(
            ({ SSMClient }) =>
              // The same chain as EC2: credentials, and AWS_ENDPOINT_URL(_SSM) for a local endpoint.
              new SSMClient({
                region,
                maxAttempts: this.options.maxAttempts ?? 12,
                retryStrategy: new StepRetryStrategy(this.options.maxAttempts ?? 12, this.options.signal),
                requestHandler: this.requestHandler()
              })
          )
      this.ssmClients.set(region, client)
    }
    return client
  }

  /**
   * Connections shared by every region's client. HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured
   * as the runner and the AWS CLI honour them (Node's built-in proxy support). A call that hangs is
   * cut off and retried rather than holding the job until its timeout.
   */
  private requestHandler() {
    this.agents ??= {
      httpAgent: new HttpAgent({ keepAlive: true, proxyEnv: process.env }),
      httpsAgent: new HttpsAgent({ keepAlive: true, proxyEnv: process.env })
    }
    return { ...this.agents, connectionTimeout: 10_000, requestTimeout: 60_000 }
  }

  private bucket(service: Service, region: string, kind: CallKind | 'listing'): TokenBucket {
    const key = `${service} ${region} ${kind}`
    let bucket = this.buckets.get(key)
    if (!bucket) {
      const shapes = service === 'ssm' ? SSM_BUCKETS : (this.options.buckets ?? EC2_BUCKETS)
      bucket = new TokenBucket(pacingFor(kind === 'listing' ? SSM_LISTING : shapes[kind]))
      this.buckets.set(key, bucket)
    }
    return bucket
  }
}
