// The SDK's standard retries, with exceptions it cannot know about: an operation the endpoint does
// not have is not worth a dozen retries (the caller falls back instead), and once the job is
// cancelled nothing is sent again — a call in flight may finish, but it is not repeated, and a
// backoff under way is cut short. Not the SDK's adaptive mode: its client-side rate limiter would
// be a second pace on top of the AWS layer's token buckets, which already hold each account and
// region to EC2's own rates. The backoff is slept on the step's clock, so tests run in virtual time.
import { MAXIMUM_RETRY_DELAY, Retry, StandardRetryStrategy } from '@smithy/core/retry'
import type { RetryErrorInfo, RetryStrategyV2, RetryToken, StandardRetryToken } from '@smithy/types'
import { errorMessage } from '../errors.ts'
import { realClock, type Clock } from '../time.ts'
import { errorCode } from './errors.ts'

// EC2 API Reference, "Error codes": InvalidAction ("The action or operation requested is not
// valid") and UnsupportedOperation; the others are what other EC2-compatible endpoints answer.
const UNKNOWN_OPERATION_CODES = new Set([
  'InvalidAction',
  'UnsupportedOperation',
  'UnknownOperation',
  'UnknownOperationException',
  'NotImplemented'
])

/** The endpoint says, in EC2's own words, that it does not offer the operation. */
export function isUnknownOperation(error: unknown): boolean {
  return UNKNOWN_OPERATION_CODES.has(errorCode(error))
}

/**
 * An answer that is not EC2's at all: an HTML error page, as a local endpoint without the action
 * (moto) gives, but also as a proxy or gateway may give for a moment. Retried a little, not a dozen
 * times; a caller that sees it persist may take the operation as missing.
 */
export function isUncodedAnswer(error: unknown): boolean {
  return errorCode(error) === 'Error' && /Deserialization error/i.test(errorMessage(error))
}

/** Attempts, first included, for an answer that is not EC2's. */
export const UNCODED_ATTEMPTS = 3

/** The SDK computes no delay of its own: the backoff is slept here, on the clock, where a cancel ends it. */
const NO_DELAY = { setDelayBase: (): void => undefined, computeNextBackoffDelay: (): number => 0 }

/**
 * The SDK's own backoff (DefaultRetryBackoffStrategy): full jitter, doubling from 50 ms (1 s for
 * throttling), at most MAXIMUM_RETRY_DELAY.
 */
export function backoffDelay(errorType: RetryErrorInfo['errorType'], retryCount: number): number {
  const base = errorType === 'THROTTLING' ? Retry.throttlingDelay() : Retry.delay()
  return Math.floor(Math.random() * Math.min(base * 2 ** retryCount, MAXIMUM_RETRY_DELAY))
}

export class StepRetryStrategy implements RetryStrategyV2 {
  private readonly standard: StandardRetryStrategy
  private readonly signal: AbortSignal | undefined
  private readonly clock: Clock
  private readonly onThrottled: (() => void) | undefined
  private readonly say: ((failedAttempts: number, error: unknown) => void) | undefined

  /**
   * `onThrottled` hears of every throttled attempt: the AWS layer then holds back its own pace.
   * `say` hears of a call still failing after every third attempt, so a long retry is never silent.
   */
  constructor(
    maxAttempts: number,
    signal?: AbortSignal,
    clock: Clock = realClock,
    onThrottled?: () => void,
    say?: (failedAttempts: number, error: unknown) => void
  ) {
    this.standard = new StandardRetryStrategy({ maxAttempts, backoff: NO_DELAY })
    this.signal = signal
    this.clock = clock
    this.onThrottled = onThrottled
    this.say = say
  }

  /** A job cancelled before a call is sent sends nothing. */
  async acquireInitialRetryToken(scope: string): Promise<RetryToken> {
    const token = await this.standard.acquireInitialRetryToken(scope)
    this.signal?.throwIfAborted()
    return token
  }

  /** Throwing here makes the SDK give up and report the call's own error. */
  async refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    // Called for every failed attempt, the last included: the error the SDK throws carries the mark.
    const unanswered = wentUnanswered(token) || !answeredWithRefusal(info)
    if (unanswered && info.error) Object.assign(info.error, { [UNANSWERED]: true })
    if (this.signal?.aborted) throw new Error('cancelled: no retry')
    if (isUnknownOperation(info.error)) throw new Error('the endpoint does not offer this operation: no retry')
    if (isUncodedAnswer(info.error) && token.getRetryCount() + 1 >= UNCODED_ATTEMPTS) throw new Error('not an EC2 answer: no more retries')
    // The SDK is handed no Retry-After hint, which it would sleep on the real clock, out of a
    // cancel's reach: the hint is honoured here, as the SDK would (at most 5 s past the backoff).
    const { retryAfterHint, ...rest } = info
    const next = (await this.standard.refreshRetryTokenForRetry(unwrap(token) as StandardRetryToken, rest)) as StandardRetryToken
    const backoff = backoffDelay(info.errorType, token.getRetryCount())
    const hinted = retryAfterHint instanceof Date ? Math.min(retryAfterHint.getTime() - this.clock.now(), backoff + 5000) : 0
    if (info.errorType === 'THROTTLING') this.onThrottled?.()
    const failed = token.getRetryCount() + 1
    if (failed % 3 === 0) this.say?.(failed, info.error)
    try {
      await this.clock.sleep(Math.max(backoff, hinted), this.signal)
    } catch {
      throw new Error('cancelled: no retry')
    }
    return withoutDelay(next, unanswered)
  }

  recordSuccess(token: RetryToken): void {
    this.standard.recordSuccess(unwrap(token) as StandardRetryToken)
  }
}

const ORIGINAL = Symbol('original token')
const UNANSWERED = Symbol('an attempt went unanswered')

/**
 * Whether an attempt of the call that failed with this error got no answer that refused it: a
 * timeout, a broken connection, a 5xx that is not throttling, an answer that could not be read. Such
 * an attempt may have been carried out. Throttling and other 4xx answers are refusals: AWS did not
 * do the call. An error without the mark never went through the SDK's retries, so nothing was sent.
 */
export function anAttemptWentUnanswered(error: unknown): boolean {
  const sdkError = (error as { cause?: unknown }).cause ?? error
  return (sdkError as { [UNANSWERED]?: boolean } | undefined)?.[UNANSWERED] === true
}

function answeredWithRefusal(info: RetryErrorInfo): boolean {
  if (info.errorType === 'THROTTLING') return true
  const status = (info.error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
  return info.errorType === 'CLIENT_ERROR' && status !== undefined && status >= 400 && status < 500
}

function wentUnanswered(token: RetryToken): boolean {
  return (token as { [UNANSWERED]?: boolean })[UNANSWERED] === true
}

function withoutDelay(token: StandardRetryToken, unanswered: boolean): StandardRetryToken {
  return Object.assign(Object.create(token) as StandardRetryToken, { getRetryDelay: () => 0, [ORIGINAL]: token, [UNANSWERED]: unanswered })
}

function unwrap(token: RetryToken): RetryToken {
  return (token as { [ORIGINAL]?: RetryToken })[ORIGINAL] ?? token
}
