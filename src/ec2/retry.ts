// The SDK's adaptive retries, with two exceptions it cannot know about: an operation the endpoint
// does not have at all is not worth a dozen retries (the caller falls back instead), and once the
// job is cancelled nothing is sent again — a call in flight may finish, but it is not repeated.
import { AdaptiveRetryStrategy } from '@smithy/core/retry'
import type { RetryErrorInfo, RetryStrategyV2, RetryToken, StandardRetryToken } from '@smithy/types'
import { errorMessage } from '../errors.ts'
import { errorCode } from './errors.ts'

// What EC2 (and EC2-compatible endpoints) answer for an action they do not implement.
const UNKNOWN_OPERATION_CODES = new Set(['InvalidAction', 'UnknownOperation', 'UnknownOperationException', 'NotImplemented'])

/**
 * True when the endpoint does not offer the operation at all. A local endpoint without the action
 * answers HTTP 500 with an HTML page, which the SDK reports without an EC2 error code.
 */
export function isUnknownOperation(error: unknown): boolean {
  if (UNKNOWN_OPERATION_CODES.has(errorCode(error))) return true
  return errorCode(error) === 'Error' && /Deserialization error|not (yet )?been implemented/i.test(errorMessage(error))
}

export class StepRetryStrategy implements RetryStrategyV2 {
  private readonly adaptive: AdaptiveRetryStrategy
  private readonly signal: AbortSignal | undefined

  constructor(maxAttempts: number, signal?: AbortSignal) {
    this.adaptive = new AdaptiveRetryStrategy(maxAttempts)
    this.signal = signal
  }

  acquireInitialRetryToken(scope: string): Promise<RetryToken> {
    return this.adaptive.acquireInitialRetryToken(scope)
  }

  /** Throwing here makes the SDK give up and report the call's own error. */
  async refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    if (this.signal?.aborted) throw new Error('cancelled: no retry')
    if (isUnknownOperation(info.error)) throw new Error('the endpoint does not offer this operation: no retry')
    return this.adaptive.refreshRetryTokenForRetry(token as StandardRetryToken, info)
  }

  recordSuccess(token: RetryToken): void {
    this.adaptive.recordSuccess(token as StandardRetryToken)
  }
}
