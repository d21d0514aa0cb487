// Retries: the SDK's adaptive strategy, except for an operation the endpoint does not have (not
// worth a dozen retries: prune falls back instead) and after the job is cancelled.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { DescribeImageReferencesCommand, DescribeImagesCommand } from '@aws-sdk/client-ec2'
import { Aws } from '../../src/aws/client.ts'
import { AwsError } from '../../src/aws/errors.ts'
import { findUsage } from '../../src/aws/in-use.ts'
import { anAttemptWentUnanswered, isUncodedAnswer, isUnknownOperation, StepRetryStrategy, UNCODED_ATTEMPTS } from '../../src/aws/retry.ts'
import { afterAttempts, awsError } from '../support/aws-error.ts'
import { useEndpoint } from '../support/ec2-env.ts'
import { startMoto, virtualClock, type Moto } from '../../tools/ec2-double/index.ts'

const MOTO_ANSWER = '@aws-sdk XML parse error: mismatched tags <html> and </title>.\n  Deserialization error: …'

describe('the retry strategy', () => {
  it.each([
    ['InvalidAction', awsError('InvalidAction')],
    ['UnsupportedOperation', awsError('UnsupportedOperation')]
  ])('does not retry %s', async (_, error) => {
    const strategy = new StepRetryStrategy(12)
    const token = await strategy.acquireInitialRetryToken('us-east-1')
    expect(isUnknownOperation(error)).toBe(true)
    await expect(strategy.refreshRetryTokenForRetry(token, { error: error as never, errorType: 'SERVER_ERROR' })).rejects.toThrow(
      /does not offer this operation/
    )
  })

  it(`retries an answer that is not EC2's (an HTML error page) ${UNCODED_ATTEMPTS - 1} times, not a dozen`, async () => {
    const error = awsError('Error', MOTO_ANSWER) as never
    expect(isUncodedAnswer(error)).toBe(true)
    const strategy = new StepRetryStrategy(12)
    let token = await strategy.acquireInitialRetryToken('us-east-1')
    for (let retry = 1; retry < UNCODED_ATTEMPTS; retry++)
      token = await strategy.refreshRetryTokenForRetry(token, { error, errorType: 'TRANSIENT' })
    await expect(strategy.refreshRetryTokenForRetry(token, { error, errorType: 'TRANSIENT' })).rejects.toThrow(/not an EC2 answer/)
  })

  it('cuts a backoff short when the job is cancelled, and sends no retry', async () => {
    const controller = new AbortController()
    // A backoff that would never end by itself: only the cancel can end it. The cancel comes once
    // the backoff has begun, not after a real delay (which a loaded machine could outlast).
    let begun: () => void = () => undefined
    const sleeping = new Promise<void>((resolve) => (begun = resolve))
    const endless = {
      now: Date.now,
      sleep: (_: number, signal?: AbortSignal) =>
        new Promise<void>((_, reject) => {
          if (signal?.aborted) return reject(signal.reason)
          signal?.addEventListener('abort', () => reject(signal.reason))
          begun()
        })
    }
    const strategy = new StepRetryStrategy(12, controller.signal, endless)
    const token = await strategy.acquireInitialRetryToken('us-east-1')
    const retry = strategy.refreshRetryTokenForRetry(token, { error: awsError('RequestLimitExceeded') as never, errorType: 'THROTTLING' })
    await sleeping
    controller.abort(new Error('cancelled'))
    // Without the cancel this resolves, after the backoff, with a token for the retry.
    await expect(retry).rejects.toThrow(/cancelled/)
  })

  it('retries throttling and server errors as the SDK does, and says when it was throttled', async () => {
    const throttled: string[] = []
    const strategy = new StepRetryStrategy(12, undefined, virtualClock(), () => throttled.push('throttled'))
    const token = await strategy.acquireInitialRetryToken('us-east-1')
    const retry = await strategy.refreshRetryTokenForRetry(token, {
      error: awsError('RequestLimitExceeded') as never,
      errorType: 'THROTTLING'
    })
    expect(retry.getRetryCount()).toBe(1)
    expect(throttled).toEqual(['throttled'])
    await strategy.refreshRetryTokenForRetry(retry, { error: awsError('InternalError') as never, errorType: 'TRANSIENT' })
    expect(throttled).toEqual(['throttled'])
  })

  it('says, every third failed attempt of a call, that it is still trying', async () => {
    const said: string[] = []
    const strategy = new StepRetryStrategy(12, undefined, virtualClock(), undefined, (failed, error) =>
      said.push(`${failed}: ${(error as Error).message}`)
    )
    let token = await strategy.acquireInitialRetryToken('us-east-1')
    for (let i = 0; i < 6; i++)
      token = await strategy.refreshRetryTokenForRetry(token, {
        error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) as never,
        errorType: 'TRANSIENT'
      })
    expect(said).toEqual(['3: connect ECONNREFUSED', '6: connect ECONNREFUSED'])
  })

  it('honours a Retry-After hint on the step’s clock, not the real one', async () => {
    // The virtual clock starts at the real now, so a hint four seconds ahead means the same to both.
    const clock = virtualClock(Date.now())
    const slept: number[] = []
    const recording = { now: clock.now, sleep: (ms: number, signal?: AbortSignal) => (slept.push(ms), clock.sleep(ms, signal)) }
    const strategy = new StepRetryStrategy(12, undefined, recording)
    const token = await strategy.acquireInitialRetryToken('us-east-1')
    const started = Date.now()
    await strategy.refreshRetryTokenForRetry(token, {
      error: awsError('RequestLimitExceeded') as never,
      errorType: 'THROTTLING',
      retryAfterHint: new Date(clock.now() + 4000)
    })
    expect(slept).toHaveLength(1)
    expect(slept[0]).toBeGreaterThan(3900)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('marks a call one of whose attempts got no refusal (a 5xx, a timeout), whatever its last answer; never one only refused', async () => {
    const refused = (code: string, status: number) => awsError(code, code, { httpStatusCode: status })
    const lost = afterAttempts(
      { error: refused('InternalServerError', 500), errorType: 'TRANSIENT' },
      { error: refused('ValidationException', 400), errorType: 'CLIENT_ERROR' }
    )
    expect(anAttemptWentUnanswered(await lost)).toBe(true)
    const timedOut = afterAttempts({ error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), errorType: 'TRANSIENT' })
    expect(anAttemptWentUnanswered(await timedOut)).toBe(true)
    const throttled = afterAttempts(
      { error: refused('ThrottlingException', 400), errorType: 'THROTTLING' },
      { error: refused('RequestLimitExceeded', 503), errorType: 'THROTTLING' },
      { error: refused('ValidationException', 400), errorType: 'CLIENT_ERROR' }
    )
    expect(anAttemptWentUnanswered(await throttled)).toBe(false)
    // Never through the SDK's retries: never sent.
    expect(anAttemptWentUnanswered(new Error('cancelled'))).toBe(false)
  })

  it('retries nothing once the job is cancelled', async () => {
    const controller = new AbortController()
    const strategy = new StepRetryStrategy(12, controller.signal)
    const token = await strategy.acquireInitialRetryToken('us-east-1')
    controller.abort(new Error('cancelled'))
    await expect(
      strategy.refreshRetryTokenForRetry(token, { error: awsError('InternalError') as never, errorType: 'SERVER_ERROR' })
    ).rejects.toThrow(/cancelled/)
  })
})

describe('against an endpoint without DescribeImageReferences (plain moto)', () => {
  let moto: Moto
  beforeAll(async () => {
    moto = await startMoto()
    useEndpoint(moto.endpoint)
  }, 60_000)
  afterAll(async () => {
    await moto?.stop()
  })

  it(`sends DescribeImageReferences ${UNCODED_ATTEMPTS} times, not the default 12, and prune falls back within seconds`, async () => {
    const aws = new Aws()
    try {
      const failure = await aws
        .call('us-east-1', 'DescribeImageReferences', 'one image', (client) =>
          client.send(new DescribeImageReferencesCommand({ ImageIds: ['ami-0123456789abcdef0'], IncludeAllResourceTypes: true }))
        )
        .catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(AwsError)
      expect(((failure as AwsError).cause as { $metadata?: { attempts?: number } }).$metadata?.attempts).toBe(UNCODED_ATTEMPTS)
      const usage = await findUsage(aws, 'us-east-1', ['ami-0123456789abcdef0'])
      expect(usage.method).toMatch(/because DescribeImageReferences failed/)
      expect(aws.counts.get('DescribeImageReferences')).toBe(2)
    } finally {
      aws.destroy()
    }
  })

  it('sends no call at all once the job is cancelled', async () => {
    const controller = new AbortController()
    const aws = new Aws({ signal: controller.signal })
    try {
      controller.abort(new Error('cancelled'))
      await expect(
        aws.call('us-east-1', 'DescribeImages', 'images', (client) => client.send(new DescribeImagesCommand({ Owners: ['self'] })))
      ).rejects.toThrow('cancelled')
      expect(aws.counts.size).toBe(0)
    } finally {
      aws.destroy()
    }
  })
})
