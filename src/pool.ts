// The one worker pool: many calls of one kind (retiring images, listing launch template versions)
// go out a few at a time, in order. The AWS layer's token buckets set the pace; the pool only
// bounds how many requests are in flight at once.

/**
 * Calls of one kind in flight at once, per region. The token buckets set the pace; this only has to
 * be high enough that latency never does. The benchmark showed 4 was not: a DeregisterImage that
 * takes 0.7 s held a region to under 6 a second, so EC2's burst of 200 was never spent and a
 * 1,000-image prune took 12 s longer than the refill rate alone requires. At 16 the burst goes out
 * in seconds; few enough that a cancel finds little on the wire.
 */
export const IN_FLIGHT = 16

/**
 * Runs `work` on every item, at most `limit` at once, starting them in order; once `stopped()` is
 * true, or an item has failed, no further item starts. Results come back in the items' order,
 * undefined for an item never started; the first failure is thrown once the items in flight end.
 */
export async function inPool<Item, Result>(
  items: readonly Item[],
  limit: number,
  work: (item: Item, index: number) => Promise<Result>,
  stopped: () => boolean = () => false
): Promise<(Result | undefined)[]> {
  const results = new Array<Result | undefined>(items.length).fill(undefined)
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length && !stopped() && !failure; index = next++) {
      try {
        results[index] = await work(items[index]!, index)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failure) throw failure.error
  return results
}
