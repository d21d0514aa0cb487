// What every view of one set of credentials shares — SDK clients, sockets, token buckets, call
// counts — and the configuration every SDK client is made with.
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import type { EC2Client } from '@aws-sdk/client-ec2'
import { errorMessage } from '../errors.ts'
import type { Clock } from '../time.ts'
import type { Service } from './errors.ts'
import type { TokenBucket } from './pacing.ts'
import { StepRetryStrategy } from './retry.ts'

/** Counts of calls sent, per operation, for the log and the benchmark. */
export type CallCounts = Map<string, number>

export interface Connections {
  counts: CallCounts
  clients: Map<string, EC2Client>
  /** The clients of services whose SDK is loaded on first use, by `${service} ${region}`. */
  lazyClients: Map<string, Promise<{ destroy(): void }>>
  buckets: Map<string, TokenBucket>
  agents?: { httpAgent: HttpAgent; httpsAgent: HttpsAgent }
}

export function newConnections(): Connections {
  return { counts: new Map(), clients: new Map(), lazyClients: new Map(), buckets: new Map() }
}

/** Closes every client's sockets so the process can exit promptly. */
export function closeConnections(connections: Connections): void {
  const { clients, lazyClients, agents } = connections
  for (const client of clients.values()) client.destroy()
  clients.clear()
  for (const client of lazyClients.values())
    void client.then(
      (loaded) => loaded.destroy(),
      () => undefined
    )
  lazyClients.clear()
  agents?.httpAgent.destroy()
  agents?.httpsAgent.destroy()
}

const SERVICE_NAMES: Record<Service, string> = {
  ec2: 'EC2',
  ssm: 'SSM',
  autoscaling: 'Auto Scaling',
  kms: 'KMS',
  sts: 'STS',
  rbin: 'Recycle Bin'
}

export type SdkConfig = ReturnType<typeof sdkConfig>

/**
 * Retries as the step wants them (retry.ts) and connections shared by every region's client.
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured as the runner and the AWS CLI honour them (Node's
 * built-in proxy support). A call that hangs is cut off and retried rather than holding the job
 * until its timeout.
 */
export function sdkConfig(
  connections: Connections,
  service: Service,
  region: string,
  {
    maxAttempts = 12,
    signal,
    clock,
    log
  }: { maxAttempts?: number | undefined; signal?: AbortSignal | undefined; clock: Clock; log?: ((message: string) => void) | undefined }
) {
  // A throttled answer means AWS's bucket is empty, whoever emptied it (another job of the account,
  // say): the region's own buckets are emptied too, so first attempts slow to the refill rate
  // instead of spending the retries' quota.
  const throttled = (): void => {
    for (const [key, bucket] of connections.buckets) if (key.startsWith(`${service} ${region} `)) bucket.drain()
  }
  connections.agents ??= {
    httpAgent: new HttpAgent({ keepAlive: true, proxyEnv: process.env }),
    httpsAgent: new HttpsAgent({ keepAlive: true, proxyEnv: process.env })
  }
  return {
    maxAttempts,
    retryStrategy: new StepRetryStrategy(maxAttempts, signal, clock, throttled, (failed, error) =>
      log?.(
        `A call to ${SERVICE_NAMES[service]} in ${region} has failed ${failed} times (the last: ${errorMessage(error)}); trying again, ${maxAttempts} times in all.`
      )
    ),
    requestHandler: { ...connections.agents, connectionTimeout: 10_000, requestTimeout: 60_000 }
  }
}

/** The SDK's own setting of each service's endpoint (AWS_ENDPOINT_URL_<SERVICE>). */
const ENDPOINT_SETTING = { autoscaling: 'AUTO_SCALING', kms: 'KMS', rbin: 'RBIN', sts: 'STS' } as const

/**
 * A local EC2 API set with AWS_ENDPOINT_URL_EC2 alone (moto, say) serves the step's other services
 * too — Auto Scaling, KMS, the Recycle Bin, STS: their calls go there rather than to AWS, unless
 * AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL says where (the SDK's own settings, which it reads
 * itself). A local run never reaches AWS for a service it did not point anywhere.
 */
export function localEndpoint(env: NodeJS.ProcessEnv, service: keyof typeof ENDPOINT_SETTING): { endpoint?: string } {
  const ec2 = env.AWS_ENDPOINT_URL_EC2
  return ec2 && !env[`AWS_ENDPOINT_URL_${ENDPOINT_SETTING[service]}`] && !env.AWS_ENDPOINT_URL ? { endpoint: ec2 } : {}
}
