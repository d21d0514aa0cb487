// tag's sharing inputs: launch permissions (never public), snapshots, deprecation, deregistration protection.
import { InputError } from '../errors.ts'
import { TEN_YEARS_MS } from '../limits.ts'
import type { InputName, SharePlan } from './spec.ts'
import { parseBoolean, parseDuration, parseList } from './values.ts'

const ACCOUNT = /^\d{12}$/
const ORGANIZATION = /^arn:aws[a-z-]*:organizations::\d{12}:organization\/o-[a-z0-9]{10,32}$/
const ORGANIZATIONAL_UNIT = /^arn:aws[a-z-]*:organizations::\d{12}:ou\/o-[a-z0-9]{10,32}\/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/

/**
 * Sharing is only ever with named accounts, organizations and OUs: `all` (public), wildcards or
 * anything else that could widen an image to the public is refused.
 */
function readShares(raw: (name: InputName) => string, input: InputName, pattern: RegExp, accepted: string): string[] {
  const items = parseList(raw(input))
  for (const item of items) {
    if (/^(all|public|\*)$/i.test(item) || item.includes('*')) {
      throw new InputError(input, item, `${accepted}; the action never makes an image public, so 'all' and wildcards are refused`)
    }
    if (!pattern.test(item)) throw new InputError(input, item, accepted)
  }
  return items
}

export function readShare(raw: (name: InputName) => string): SharePlan | undefined {
  const plan: SharePlan = {
    shareAccounts: readShares(raw, 'share-accounts', ACCOUNT, 'expected 12-digit AWS account ids'),
    shareOrganizations: readShares(
      raw,
      'share-organizations',
      ORGANIZATION,
      'expected organization ARNs such as arn:aws:organizations::111122223333:organization/o-exampleorgid'
    ),
    shareOrganizationalUnits: readShares(
      raw,
      'share-organizational-units',
      ORGANIZATIONAL_UNIT,
      'expected OU ARNs such as arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-exam-ple12345'
    ),
    deregistrationProtection: parseBoolean('deregistration-protection', raw('deregistration-protection'), false),
    shareSnapshots: parseBoolean('share-snapshots', raw('share-snapshots'), false)
  }
  if (plan.shareSnapshots) {
    // EC2 API Reference, CreateVolumePermission: a snapshot is shared with an account (UserId) or
    // made public (Group all), never with an organization or OU.
    const withOrganizations = plan.shareOrganizations.length + plan.shareOrganizationalUnits.length > 0
    if (withOrganizations || plan.shareAccounts.length === 0) {
      throw new InputError(
        'share-snapshots',
        raw('share-snapshots'),
        withOrganizations
          ? 'snapshots can be shared with accounts only, not with organizations or OUs: list the accounts in share-accounts and drop share-organizations / share-organizational-units, or set share-snapshots: false'
          : 'it shares the snapshots with the accounts in share-accounts, and none are given'
      )
    }
  }
  const deprecate = raw('deprecate-after')
  if (deprecate !== '') {
    const ms = parseDuration('deprecate-after', deprecate)
    // EC2 refuses a deprecation time in the past or more than 10 years ahead.
    if (ms < 60_000 || ms > TEN_YEARS_MS)
      throw new InputError('deprecate-after', deprecate, 'expected a duration from 1m to 10 years (3650d)')
    plan.deprecateAfterMs = ms
  }
  const any = plan.shareAccounts.length + plan.shareOrganizations.length + plan.shareOrganizationalUnits.length > 0
  return any || plan.deprecateAfterMs !== undefined || plan.deregistrationProtection ? plan : undefined
}
