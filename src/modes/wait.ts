// wait: blocks until every image of the release is available (see images/waiter.ts).
import type { Context } from '../context.ts'
import { waitForImages } from '../images/waiter.ts'

export async function wait(context: Context): Promise<void> {
  await waitForImages(context, context.release.all())
}
