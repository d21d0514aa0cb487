// Every region the step names, checked against the account's own list (one DescribeRegions) before
// anything changes: a typo in `regions` would otherwise copy to the regions before it and fail on
// it, and a region the account has not opted in to fails only when a call reaches it.
import { AwsError, hasCode } from './aws/errors.ts'
import { accountRegions } from './aws/regions.ts'
import { isUncodedAnswer, isUnknownOperation } from './aws/retry.ts'
import type { Context } from './context.ts'
import { InputError } from './errors.ts'
import type { InputName, Plan } from './inputs/index.ts'

export async function checkRegions(context: Context, plan: Plan): Promise<void> {
  const named = regionsNamed(plan)
  let known: Awaited<ReturnType<typeof accountRegions>>
  try {
    known = await accountRegions(context.aws, plan.region)
  } catch (error) {
    // The source region itself is one the account has not enabled (EC2 API Reference, error codes: OptInRequired).
    if (hasCode(error, 'OptInRequired'))
      throw new InputError(
        'region',
        plan.region,
        `${plan.region} is not enabled for this account (it is an opt-in region: enable it in the account settings first)`
      )
    // Not a safety check: without it a bad region still fails, only later. The step goes on, saying so.
    const unavailable = hasCode(error, 'UnauthorizedOperation', 'AccessDenied') || isUnknownOperation(error) || isUncodedAnswer(error)
    if (!(error instanceof AwsError) || !unavailable) throw error
    context.log.warning(
      `The regions named could not be checked (${error.message}): a region that does not exist or is not enabled fails only when the step reaches it. Allow ec2:DescribeRegions.`
    )
    return
  }
  if (known.length === 0) return
  const usable = known.filter((region) => region.optInStatus !== 'not-opted-in').map((region) => region.name)
  for (const [region, input] of named) {
    const found = known.find((candidate) => candidate.name === region)
    if (found && found.optInStatus !== 'not-opted-in') continue
    const why = found
      ? `${region} is not enabled for this account (it is an opt-in region: enable it in the account settings first)`
      : `${region} is not a region of this account's partition${nearest(region, usable)}`
    throw new InputError(input, region, `${why}; the regions it can use are ${usable.sort().join(', ')}`)
  }
}

/** " (did you mean eu-west-1?)" when one region the account can use is nearest, one or two keystrokes away. */
function nearest(region: string, usable: readonly string[]): string {
  const distances = usable.map((candidate) => ({ candidate, distance: editDistance(region, candidate) }))
  const best = Math.min(...distances.map((d) => d.distance))
  const closest = distances.filter((d) => d.distance === best)
  return best <= 2 && closest.length === 1 ? ` (did you mean ${closest[0]!.candidate}?)` : ''
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit (eu-wset-1 → eu-west-1). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

/** Each region the plan names, with the first input that names it. */
function regionsNamed(plan: Plan): Map<string, InputName> {
  const named = new Map<string, InputName>()
  const add = (regions: Iterable<string>, input: InputName): void => {
    for (const region of regions) if (!named.has(region)) named.set(region, input)
  }
  add([plan.region], 'region')
  add(plan.copy?.regions ?? [], 'regions')
  add(plan.prune?.regions ?? [], 'prune-regions')
  add(plan.givenImages.keys(), 'image-ids')
  return named
}
