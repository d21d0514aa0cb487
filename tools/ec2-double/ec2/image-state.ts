// How an image reads at a moment, from what the double knows of it: pending until its pending
// time has passed, then available or failed; unlisted for a moment after it is made; disabled.
import { INVISIBLE_MS, type FrontOptions, type NewImage } from '../options.ts'
import type { DoubleState, ImageOverlay } from '../state.ts'

export interface ImageState {
  state: string
  reason?: { code: string; message: string }
}

/** What the double knows of the image, made empty the first time it is asked. */
export function overlayOf(state: DoubleState, imageId: string, region: string): ImageOverlay {
  let image = state.images.get(imageId)
  if (!image) {
    image = { region, name: '', createdAt: 0, pendingMs: 0 }
    state.images.set(imageId, image)
  }
  return image
}

/** The image's state at `now`, where the double decides it (undefined: as moto has it). */
export function imageStateAt(state: DoubleState, imageId: string, now: number): ImageState | undefined {
  const image = state.images.get(imageId)
  if (image?.disabled) return { state: 'disabled' }
  if (!image || image.createdAt === 0) return undefined
  if (now < image.createdAt + image.pendingMs) return { state: 'pending' }
  return image.failure ? { state: 'failed', reason: image.failure } : { state: 'available' }
}

/** EC2 API Reference, Image, lastLaunchedTime: "there is a 24-hour delay before that usage is reported". */
export const LAUNCH_REPORT_DELAY_MS = 24 * 3_600_000

/**
 * LastLaunchedTime as EC2 reports it at `now`: the latest of what a test set (setLastLaunched) and
 * the launches by other accounts at least a day old; absent when none is reported yet.
 */
export function reportedLastLaunch(image: ImageOverlay | undefined, now: number): string | undefined {
  const launches = (image?.launches ?? []).filter((at) => at + LAUNCH_REPORT_DELAY_MS <= now)
  const set = image?.lastLaunchedTime ? Date.parse(image.lastLaunchedTime) : Number.NEGATIVE_INFINITY
  const latest = Math.max(set, ...launches)
  if (!Number.isFinite(latest)) return undefined
  return latest === set ? image?.lastLaunchedTime : new Date(latest).toISOString()
}

/** Whether DescribeImages lists the image yet (eventual consistency). */
export function isVisibleAt(state: DoubleState, imageId: string, now: number): boolean {
  return now >= (state.images.get(imageId)?.visibleAt ?? 0)
}

/** When an image made at `now` becomes visible to DescribeImages. */
export function visibleFrom(options: FrontOptions, now: number): number {
  return now + (options.invisibleMs ?? INVISIBLE_MS)
}

export function pendingFor(options: FrontOptions, image: NewImage): number {
  const pending = options.pendingMs ?? 0
  return typeof pending === 'function' ? pending(image) : pending
}

/**
 * Forgets an account's image index in a region (DoubleState.imageIndex, by Caller.scope), or, for
 * an image known deregistered, only that image: so a prune of thousands of images does not list
 * them all again for each one.
 */
export function imagesChanged(state: DoubleState, scope: string, deregistered?: string): void {
  if (deregistered !== undefined) {
    state.imageIndex.get(scope)?.delete(deregistered)
    const gone = state.deregistered.get(scope) ?? new Set<string>()
    state.deregistered.set(scope, gone.add(deregistered))
    return
  }
  state.imageIndex.delete(scope)
  state.generation.set(scope, (state.generation.get(scope) ?? 0) + 1)
}
