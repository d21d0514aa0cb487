import type { RetryErrorType } from '@smithy/types'
import { StepRetryStrategy } from '../../src/aws/retry.ts'
import { virtualClock } from '../../tools/ec2-double/index.ts'

// An error shaped as the SDK throws AWS's: the error code is the name; `$metadata` as the SDK's
// retry layer leaves it (the last answer's HTTP status, and how many attempts were made).
export function awsError(code: string, message = code, metadata?: { httpStatusCode?: number; attempts?: number }): Error {
  const error = new Error(message) as Error & { $metadata?: typeof metadata }
  error.name = code
  if (metadata) error.$metadata = metadata
  return error
}

/**
 * The last of these attempts' errors as a call through the AWS layer throws it: each attempt's error
 * passed through the layer's retry strategy in turn, as the SDK passes them, so it carries what the
 * strategy marks on it.
 */
export async function afterAttempts(...attempts: { error: Error; errorType: RetryErrorType }[]): Promise<Error> {
  // The backoff between attempts is slept on a virtual clock: nothing waits for real.
  const strategy = new StepRetryStrategy(attempts.length, undefined, virtualClock())
  let token = await strategy.acquireInitialRetryToken('us-east-1')
  for (const attempt of attempts) {
    try {
      token = await strategy.refreshRetryTokenForRetry(token, { error: attempt.error as never, errorType: attempt.errorType })
    } catch {
      // The last attempt: no retry left.
    }
  }
  return attempts.at(-1)!.error
}
