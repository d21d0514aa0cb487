// EC2 throttles each account per region with token buckets, one per kind of call. Pacing our own
// calls to the same buckets means a large prune runs at the refill rate instead of bursting into
// RequestLimitExceeded and leaning on retries.
import { realClock, type Clock } from '../time.ts'

export interface BucketShape {
  /** Tokens the bucket holds when full (the burst EC2 allows). */
  capacity: number
  /** Tokens added per second. */
  refillPerSecond: number
}

/** EC2's documented defaults for an account (Amazon EC2 API reference, "Request throttling"). */
export const EC2_BUCKETS: Readonly<Record<CallKind, BucketShape>> = {
  describe: { capacity: 100, refillPerSecond: 20 },
  change: { capacity: 200, refillPerSecond: 5 }
}

/**
 * SSM Parameter Store per account and region. GetParameter, GetParameters and GetParametersByPath
 * share 40 per second by default (AWS General Reference, "AWS Systems Manager endpoints and
 * quotas"). PutParameter's rate is not published; 3 per second is what AWS Support has quoted for
 * standard throughput, and pacing at it only costs a step that writes several regions a second.
 */
export const SSM_BUCKETS: Readonly<Record<CallKind, BucketShape>> = {
  describe: { capacity: 40, refillPerSecond: 40 },
  change: { capacity: 3, refillPerSecond: 3 }
}

/** DescribeParameters' rate is unpublished and known to be low: it is paced on its own, slowly. */
export const SSM_LISTING: BucketShape = { capacity: 2, refillPerSecond: 2 }

/**
 * Auto Scaling's API rates are not published; the in-use check reads launch configurations a page
 * of 100 at a time, so a gentle pace costs a large account a few seconds at most.
 */
export const AUTO_SCALING_BUCKETS: Readonly<Record<CallKind, BucketShape>> = {
  describe: { capacity: 10, refillPerSecond: 5 },
  change: { capacity: 1, refillPerSecond: 1 }
}

/**
 * KMS and the Recycle Bin (whose rates are unpublished): the action only reads keys and rules (DescribeKey, once per key a copy uses). AWS KMS Developer Guide,
 * "Request quotas": DescribeKey shares a per-account, per-region quota of at least 1,800 requests a
 * second with the other management operations; a few per second is plenty and leaves the rest.
 */
export const KMS_BUCKETS: Readonly<Record<CallKind, BucketShape>> = {
  describe: { capacity: 5, refillPerSecond: 5 },
  change: { capacity: 1, refillPerSecond: 1 }
}

/** The bucket of a service other than EC2 (whose shapes a caller may set: AwsOptions.buckets). */
export function bucketShape(service: 'ec2' | 'ssm' | 'autoscaling' | 'kms' | 'sts' | 'rbin', kind: CallKind | 'listing'): BucketShape {
  if (kind === 'listing') return SSM_LISTING
  if (service === 'ssm') return SSM_BUCKETS[kind]
  if (service === 'autoscaling') return AUTO_SCALING_BUCKETS[kind]
  if (service === 'kms' || service === 'rbin') return KMS_BUCKETS[kind]
  return EC2_BUCKETS[kind]
}

export type CallKind = 'describe' | 'change'

/**
 * The share of EC2's burst the action leaves unused. Calls reach EC2 with varying latency, so
 * pacing at exactly the refill rate would now and then find EC2's bucket a fraction of a token
 * short; a small reserve absorbs that jitter (and other clients' odd call) without a throttle.
 */
export const BURST_RESERVE = 0.1

/** The bucket the action paces itself by: EC2's refill rate, and its burst less the reserve. */
export function pacingFor(shape: BucketShape): BucketShape {
  return { capacity: Math.max(1, Math.floor(shape.capacity * (1 - BURST_RESERVE))), refillPerSecond: shape.refillPerSecond }
}

export function kindOf(operation: string): CallKind {
  return /^(Describe|Get|List)/.test(operation) ? 'describe' : 'change'
}

export class TokenBucket {
  private tokens: number
  private updated: number
  private queue: Promise<void> = Promise.resolve()

  private readonly shape: BucketShape
  private readonly clock: Clock

  constructor(shape: BucketShape, clock: Clock = realClock) {
    this.shape = shape
    this.clock = clock
    this.tokens = shape.capacity
    this.updated = clock.now()
  }

  /**
   * Resolves when a token is taken; callers queue in order so none starves. Once `signal` is aborted
   * every caller still queued is refused at once: a cancelled job does not wait out the refill.
   */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.catch(() => undefined).then(() => this.waitForToken(signal))
    this.queue = turn
    return turn
  }

  /** AWS said its bucket is empty: ours is too, and refills from now. */
  drain(): void {
    this.tokens = 0
    this.updated = this.clock.now()
  }

  private async waitForToken(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      signal?.throwIfAborted()
      const now = this.clock.now()
      this.tokens = Math.min(this.shape.capacity, this.tokens + ((now - this.updated) / 1000) * this.shape.refillPerSecond)
      this.updated = now
      if (this.tokens >= 1) {
        this.tokens -= 1
        return
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) / this.shape.refillPerSecond) * 1000), signal)
    }
  }
}
