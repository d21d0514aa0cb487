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
      : `${region} is not a region of this account's partition`
    throw new InputError(input, region, `${why}; the regions it can use are ${usable.sort().join(', ')}`)
  }
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
