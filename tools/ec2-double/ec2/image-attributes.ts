// What moto does not keep of an image, set and read through the double: deprecation, deregistration
// protection and its cooldown, and LastLaunchedTime.
import type { Caller } from '../caller.ts'
import { FrontError, okBody, type Reply } from '../protocol.ts'
import type { ImageOverlay } from '../state.ts'
import { leaf, node } from '../xml.ts'
import { overlayOf, reportedLastLaunch } from './image-state.ts'
import { requireImage } from './lookups.ts'
import { isDryRun } from './requests.ts'

const COOLDOWN_MS = 24 * 3_600_000

/**
 * Changes what the double keeps of an existing image, after `check`; a DryRun changes nothing.
 * Answers `return` true (EnableImageDeregistrationProtection: the protection state it set).
 */
export async function setAttribute(
  caller: Caller,
  params: URLSearchParams,
  action: string,
  apply: (image: ImageOverlay) => void,
  check?: (imageId: string) => void
): Promise<Reply> {
  const imageId = params.get('ImageId') ?? ''
  await requireImage(caller, imageId)
  check?.(imageId)
  if (isDryRun(params)) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  apply(overlayOf(caller.state, imageId, caller.region))
  const value = action === 'EnableImageDeregistrationProtection' ? (caller.state.images.get(imageId)?.protection ?? 'enabled') : 'true'
  return { status: 200, body: okBody(action, [leaf('return', value)]) }
}

export function enableImageDeprecation(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const at = deprecateAt(params.get('DeprecateAt') ?? '', caller.now())
  return setAttribute(caller, params, 'EnableImageDeprecation', (image) => {
    image.deprecationTime = at.toISOString()
  })
}

export function disableImageDeprecation(caller: Caller, params: URLSearchParams): Promise<Reply> {
  return setAttribute(caller, params, 'DisableImageDeprecation', (image) => void delete image.deprecationTime)
}

/**
 * EnableImageDeprecation, DeprecateAt (EC2 API Reference): "If you specify a value for seconds,
 * Amazon EC2 rounds the seconds to the nearest minute. You can't specify a date in the past. The
 * upper limit for DeprecateAt is 10 years from now". (The two-year limit for public images does not
 * arise: the action never makes an image public.)
 */
function deprecateAt(text: string, now: number): Date {
  const given = Date.parse(text)
  if (Number.isNaN(given)) throw new FrontError(400, 'InvalidParameterValue', `DeprecateAt '${text}' is not a date and time.`)
  const at = new Date(Math.round(given / 60_000) * 60_000)
  const limit = new Date(now)
  limit.setUTCFullYear(limit.getUTCFullYear() + 10)
  // Both the time given and the minute it rounds to: a time just past that rounds up is still past.
  if (Math.min(given, at.getTime()) < now)
    throw new FrontError(400, 'InvalidParameterValue', `DeprecateAt ${new Date(given).toISOString()} is in the past.`)
  if (at > limit) throw new FrontError(400, 'InvalidParameterValue', `DeprecateAt ${at.toISOString()} is more than 10 years from now.`)
  return at
}

export function enableImageDeregistrationProtection(caller: Caller, params: URLSearchParams): Promise<Reply> {
  return setAttribute(caller, params, 'EnableImageDeregistrationProtection', (image) => {
    // The AWS CLI's own examples answer enabled-without-cooldown (and enabled-with-cooldown).
    image.protection = params.get('WithCooldown') === 'true' ? 'enabled-with-cooldown' : 'enabled-without-cooldown'
  })
}

/**
 * EC2 API Reference, EnableImageDeregistrationProtection: WithCooldown "enforces deregistration
 * protection for 24 hours after deregistration protection is disabled". How DescribeImages shows
 * that state is not documented; the double answers disabled-until-<time>, and keeps refusing
 * DeregisterImage until then.
 */
export function disableImageDeregistrationProtection(caller: Caller, params: URLSearchParams): Promise<Reply> {
  return setAttribute(caller, params, 'DisableImageDeregistrationProtection', (image) => {
    image.protection =
      image.protection === 'enabled-with-cooldown'
        ? `disabled-until-${new Date(caller.now() + COOLDOWN_MS).toISOString().replace(/\.\d+Z$/, 'Z')}`
        : 'disabled'
  })
}

/** Protected: enabled (with or without cooldown), or disabled but still in its cooldown. */
export function isProtectedAt(protection: string | undefined, now: number): boolean {
  if (!protection || protection === 'disabled') return false
  const until = /^disabled-until-(.+)$/.exec(protection)?.[1]
  return until === undefined || Date.parse(until) > now
}

/**
 * DescribeImageAttribute (EC2 API Reference, DescribeImageAttribute): an image moto does not know
 * is unknown (InvalidAMIID.NotFound; moto itself fails, HTTP 500), or, if another account shares it
 * with the caller, not the caller's to read (AuthFailure: its attributes are its owner's). Attribute
 * lastLaunchedTime (Image, lastLaunchedTime): moto fails on it (HTTP 500), so the double answers from
 * its overlay, and leaves the value out when the image has no reported launch.
 */
export async function describeImageAttribute(caller: Caller, params: URLSearchParams): Promise<Reply> {
  const imageId = params.get('ImageId') ?? ''
  // Only the owner reads an image's attributes; moto fails (HTTP 500) on an image it does not know.
  await requireImage(caller, imageId)
  if (params.get('Attribute') !== 'lastLaunchedTime') return caller.send(params)
  if (isDryRun(params)) throw new FrontError(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  const launched = reportedLastLaunch(caller.state.images.get(imageId), caller.now())
  return {
    status: 200,
    body: okBody('DescribeImageAttribute', [
      leaf('imageId', imageId),
      ...(launched ? [node('lastLaunchedTime', [leaf('value', launched)])] : [])
    ])
  }
}
