// The one place that talks to AWS — EC2, SSM for publish and the in-use checks, Auto Scaling for the
// in-use checks: a client per service and region (made on first use), retries, pacing per region and
// kind of call, pagination, dry runs, and errors that say where and on what. One Aws stands for one
// set of credentials, so its buckets are one account's. The SSM and Auto Scaling SDKs are loaded
// only by a step that calls them.
import { EC2Client } from '@aws-sdk/client-ec2'
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling'
import type { KMSClient } from '@aws-sdk/client-kms'
import type { RbinClient } from '@aws-sdk/client-rbin'
import type { SSMClient } from '@aws-sdk/client-ssm'
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types'
import { realClock, type Clock } from '../time.ts'
import { AwsError, hasCode, type Service } from './errors.ts'
import { bucketShape, EC2_BUCKETS, kindOf, pacingFor, TokenBucket, type BucketShape, type CallKind } from './pacing.ts'
import {
  closeConnections,
  localEndpoint,
  newConnections,
  sdkConfig,
  type CallCounts,
  type Connections,
  type SdkConfig
} from './connections.ts'

export interface AwsOptions {
  /** Attempts per call, first included. */
  maxAttempts?: number
  buckets?: Readonly<Record<CallKind, BucketShape>>
  /** Tests pass a factory to observe or stub the SDK client. */
  makeClient?: (region: string) => EC2Client
  makeSsmClient?: (region: string) => SSMClient
  makeAutoScalingClient?: (region: string) => AutoScalingClient
  makeKmsClient?: (region: string) => KMSClient
  makeRbinClient?: (region: string) => RbinClient
  /** Where each call's outcome goes (the step debug log). */
  debug?: (message: string) => void
  /** Where a call that keeps failing says so (the step log). */
  log?: (message: string) => void
  /**
   * The job's cancellation: once aborted no call is sent and none is retried; a call already on
   * the wire finishes, so its outcome can still be reported.
   */
  signal?: AbortSignal
  /** The step's dry run: every changing call is sent with EC2's DryRun flag (see change). */
  dryRun?: boolean
  /** Pacing and backoff sleep on it, so tests run in virtual time. */
  clock?: Clock
  /**
   * Another account's credentials (a role the step assumed there, accounts.ts); without them, the
   * SDK's default chain: the step's own.
   */
  credentials?: AwsCredentialIdentityProvider
  /** The account the credentials act in, when not the step's own: errors name it. */
  account?: string
}

/** STS's default session length, and the most a chained role session may last (IAM User Guide, "Role chaining"). */
const ROLE_SESSION_SECONDS = 3600
/** A session is renewed this long before it expires, as the SDK renews its own. */
const RENEW_BEFORE_MS = 5 * 60_000

/**
 * One session for every client of an account: the first caller starts AssumeRole, the rest share
 * its answer, and a new one is started only once the session nears its end. A renewal that fails
 * while the session is still valid serves the old session (the next call tries again); only a
 * failure with nothing valid left is an error.
 */
export function shareSession(assume: () => Promise<AwsCredentialIdentity>, clock: Clock): AwsCredentialIdentityProvider {
  let current: AwsCredentialIdentity | undefined
  let pending: Promise<AwsCredentialIdentity> | undefined
  const expired = (identity: AwsCredentialIdentity): boolean =>
    identity.expiration !== undefined && clock.now() >= identity.expiration.getTime()
  const due = (identity: AwsCredentialIdentity): boolean =>
    identity.expiration !== undefined && clock.now() >= identity.expiration.getTime() - RENEW_BEFORE_MS
  return () => {
    if (current !== undefined && !due(current)) return Promise.resolve(current)
    pending ??= assume().then(
      (identity) => {
        current = identity
        pending = undefined
        return identity
      },
      (error: unknown) => {
        pending = undefined
        if (current !== undefined && !expired(current)) return current
        throw error
      }
    )
    return pending
  }
}

/** How a changing call is sent: `DryRun` is true for a dry run (EC2 then only checks), else absent. */
export type ChangeSender<Output> = (client: EC2Client, DryRun: true | undefined) => Promise<Output>

export class Aws {
  readonly dryRun: boolean
  private readonly options: AwsOptions
  private readonly clock: Clock
  private readonly connections: Connections
  private readonly accounts: Aws[] = []

  constructor(options: AwsOptions = {}, connections?: Connections) {
    this.options = options
    this.dryRun = options.dryRun ?? false
    this.clock = options.clock ?? realClock
    this.connections = connections ?? newConnections()
  }

  get counts(): CallCounts {
    return this.connections.counts
  }

  /** The account these credentials act in, when it is not the step's own. */
  get account(): string | undefined {
    return this.options.account
  }

  /**
   * The same step acting in another account with that account's credentials: its own clients and
   * token buckets (EC2 paces each account and region apart, so ten accounts go as fast as one),
   * the step's call counts, dry run, clock and cancellation. Closed with this one.
   */
  inAccount(account: string, credentials: AwsCredentialIdentityProvider): Aws {
    if (this.options.account !== undefined) throw new Error(`already acting in account ${this.options.account}`)
    const other = new Aws({ ...this.options, account, credentials }, { ...newConnections(), counts: this.connections.counts })
    this.accounts.push(other)
    return other
  }

  /**
   * Sends one call that changes nothing. `operation` is EC2's action name (it picks the pacing
   * bucket and names the IAM permission in errors); `resource` says what the call is about.
   */
  async call<Output>(region: string, operation: string, resource: string, send: (client: EC2Client) => Promise<Output>): Promise<Output> {
    if (kindOf(operation) === 'change') throw new Error(`${operation} changes something: it is sent with change() or check()`)
    return this.send('ec2', region, operation, resource, () => this.client(region), send)
  }

  /**
   * Sends a changing call. In a dry run it carries DryRun and EC2's DryRunOperation ("the request
   * would have succeeded", API Reference, DryRun) is the answer: undefined comes back, nothing changed.
   */
  async change<Output>(region: string, operation: string, resource: string, send: ChangeSender<Output>): Promise<Output | undefined> {
    if (this.dryRun) {
      await this.check(region, operation, resource, send)
      return undefined
    }
    return this.send(
      'ec2',
      region,
      operation,
      resource,
      () => this.client(region),
      (client) => send(client, undefined)
    )
  }

  /**
   * Sends a call that makes or removes only what the step itself reads and then removes (an AMI
   * usage report): as it is, in a dry run too, since the dry run's plan needs what it reads. It is
   * paced as a change.
   */
  async scratch<Output>(
    region: string,
    operation: string,
    resource: string,
    send: (client: EC2Client) => Promise<Output>
  ): Promise<Output> {
    return this.send('ec2', region, operation, resource, () => this.client(region), send)
  }

  /**
   * Sends a changing call with DryRun, dry run or not: EC2 answers DryRunOperation when the call
   * would have been allowed, and UnauthorizedOperation when the permission is missing.
   */
  async check(region: string, operation: string, resource: string, send: ChangeSender<unknown>): Promise<void> {
    try {
      await this.send(
        'ec2',
        region,
        operation,
        resource,
        () => this.client(region),
        (client) => send(client, true)
      )
    } catch (error) {
      if (hasCode(error, 'DryRunOperation')) return
      throw error
    }
    throw new Error(`${operation} in ${region} for ${resource} ignored DryRun and ran: the endpoint does not honour EC2 dry runs`)
  }

  /**
   * Sends one SSM call, paced, retried and reported like an EC2 call. SSM has no DryRun: a dry run
   * only reads, and a change asked of it is refused before anything is sent.
   */
  async ssm<Output>(region: string, operation: string, resource: string, send: (client: SSMClient) => Promise<Output>): Promise<Output> {
    if (this.dryRun && kindOf(operation) === 'change')
      throw new Error(`${operation} in ${region}: SSM has no dry run, so a dry run never sends it`)
    const make = this.options.makeSsmClient
    const client = () => this.lazyClient('ssm', region, make, async (config) => new (await import('@aws-sdk/client-ssm')).SSMClient(config))
    return this.send('ssm', region, operation, resource, client, send)
  }

  /** Sends one Auto Scaling call (the in-use checks read launch configurations), like an EC2 call. */
  async autoScaling<Output>(
    region: string,
    operation: string,
    resource: string,
    send: (client: AutoScalingClient) => Promise<Output>
  ): Promise<Output> {
    if (kindOf(operation) === 'change') throw new Error(`${operation}: the action never changes Auto Scaling`)
    const make = this.options.makeAutoScalingClient
    const client = () =>
      this.lazyClient(
        'autoscaling',
        region,
        make,
        async (config) =>
          new (await import('@aws-sdk/client-auto-scaling')).AutoScalingClient({ ...config, ...localEndpoint(process.env, 'autoscaling') })
      )
    return this.send('autoscaling', region, operation, resource, client, send)
  }

  /**
   * The step acting in `account` through a role there, as configure-aws-credentials chains roles:
   * the SDK's own provider (fromTemporaryCredentials) calls STS AssumeRole in `region` with the
   * step's credentials. One session serves every region of the account, and is renewed a few
   * minutes before it expires (a chained session lasts at most an hour: IAM User Guide, "Role
   * chaining"). Nothing is asked of STS until the first call, or until `credentials` of the
   * returned Aws is called (accounts.ts does, to fail before anything changes).
   */
  async assumeRole(
    account: string,
    roleArn: string,
    sessionName: string,
    region: string
  ): Promise<{ aws: Aws; credentials: () => Promise<unknown> }> {
    const { fromTemporaryCredentials } = await import('@aws-sdk/credential-providers')
    const assume = fromTemporaryCredentials({
      params: { RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: ROLE_SESSION_SECONDS },
      clientConfig: { region, ...this.sdkOptions('sts', region), ...localEndpoint(process.env, 'sts') }
    })
    const counted = (): Promise<AwsCredentialIdentity> => {
      this.counts.set('sts:AssumeRole', (this.counts.get('sts:AssumeRole') ?? 0) + 1)
      return assume()
    }
    const credentials = shareSession(counted, this.clock)
    return { aws: this.inAccount(account, credentials), credentials }
  }

  /** Sends one KMS call (reading a key: KMS is never changed), paced and reported like the others. */
  async kms<Output>(region: string, operation: string, resource: string, send: (client: KMSClient) => Promise<Output>): Promise<Output> {
    if (kindOf(operation) === 'change') throw new Error(`${operation}: the action never changes KMS`)
    const make = this.options.makeKmsClient
    const client = () =>
      this.lazyClient(
        'kms',
        region,
        make,
        async (config) => new (await import('@aws-sdk/client-kms')).KMSClient({ ...config, ...localEndpoint(process.env, 'kms') })
      )
    return this.send('kms', region, operation, resource, client, send)
  }

  /** Sends one Recycle Bin call (reading its rules: it is never changed), paced and reported like the others. */
  async rbin<Output>(region: string, operation: string, resource: string, send: (client: RbinClient) => Promise<Output>): Promise<Output> {
    if (kindOf(operation) === 'change') throw new Error(`${operation}: the action never changes the Recycle Bin`)
    const make = this.options.makeRbinClient
    // The rbin SDK the registry has is older than the rest: its retry strategy interface differs, so
    // it retries on its own (standard mode), paced like every call here. What it reads only informs
    // the plan, so it tries three times, not the step's twelve: an unreachable endpoint costs
    // minutes at most, then a line in the log.
    const client = () =>
      this.lazyClient('rbin', region, make, async (config) => {
        const rest: Partial<SdkConfig> = { ...config }
        delete rest.retryStrategy
        return new (await import('@aws-sdk/client-rbin')).RbinClient({
          ...rest,
          maxAttempts: Math.min(3, rest.maxAttempts ?? 3),
          ...localEndpoint(process.env, 'rbin')
        } as never)
      })
    return this.send('rbin', region, operation, resource, client, send)
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

  private async send<Client, Output>(
    service: Service,
    region: string,
    operation: string,
    resource: string,
    client: () => Client | Promise<Client>,
    send: (client: Client) => Promise<Output>
  ): Promise<Output> {
    const { signal } = this.options
    signal?.throwIfAborted()
    await this.bucket(service, region, service === 'ssm' && operation === 'DescribeParameters' ? 'listing' : kindOf(operation)).take(signal)
    const counted = service === 'ec2' ? operation : `${service}:${operation}`
    this.counts.set(counted, (this.counts.get(counted) ?? 0) + 1)
    const started = this.clock.now()
    try {
      const output = await send(await client())
      this.trace(counted, region, resource, started, output)
      return output
    } catch (error) {
      this.trace(counted, region, resource, started, error)
      throw new AwsError(operation, region, resource, error, service, this.options.account)
    }
  }

  private trace(operation: string, region: string, resource: string, started: number, outcome: unknown): void {
    if (!this.options.debug) return
    const attempts = (outcome as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1
    const result = outcome instanceof Error ? `failed (${outcome.name})` : 'ok'
    this.options.debug(
      `${operation} ${region} ${resource.slice(0, 120)}: ${result} in ${this.clock.now() - started} ms, ${attempts} attempt${attempts === 1 ? '' : 's'}`
    )
  }

  /** Closes every client's sockets so the process can exit promptly. */
  destroy(): void {
    for (const other of this.accounts) other.destroy()
    closeConnections(this.connections)
  }

  private client(region: string): EC2Client {
    let client = this.connections.clients.get(region)
    if (!client) {
      // The SDK's default chain supplies credentials and honours AWS_ENDPOINT_URL(_EC2).
      client = this.options.makeClient?.(region) ?? new EC2Client({ region, ...this.sdkOptions('ec2', region) })
      this.connections.clients.set(region, client)
    }
    return client
  }

  /**
   * A client of a service whose SDK is a large module, imported on the first call to it: never by a
   * step that does not use the service. The same chain as EC2: credentials, and
   * AWS_ENDPOINT_URL_<SERVICE> (or AWS_ENDPOINT_URL) for a local endpoint.
   */
  private lazyClient<Client extends { destroy(): void }>(
    service: Service,
    region: string,
    make: ((region: string) => Client) | undefined,
    load: (config: SdkConfig & { region: string }) => Promise<Client>
  ): Promise<Client> {
    const key = `${service} ${region}`
    let client = this.connections.lazyClients.get(key) as Promise<Client> | undefined
    if (!client) {
      client = make ? Promise.resolve(make(region)) : load({ region, ...this.sdkOptions(service, region) })
      this.connections.lazyClients.set(key, client)
    }
    return client
  }

  private sdkOptions(service: Service, region: string): SdkConfig & { credentials?: AwsCredentialIdentityProvider } {
    const config = sdkConfig(this.connections, service, region, {
      maxAttempts: this.options.maxAttempts,
      signal: this.options.signal,
      clock: this.clock,
      log: this.options.log
    })
    const { credentials } = this.options
    return credentials ? { ...config, credentials } : config
  }

  private bucket(service: Service, region: string, kind: CallKind | 'listing'): TokenBucket {
    const key = `${service} ${region} ${kind}`
    let bucket = this.connections.buckets.get(key)
    if (!bucket) {
      const shape = service === 'ec2' && kind !== 'listing' ? (this.options.buckets ?? EC2_BUCKETS)[kind] : bucketShape(service, kind)
      bucket = new TokenBucket(pacingFor(shape), this.clock)
      this.connections.buckets.set(key, bucket)
    }
    return bucket
  }
}
