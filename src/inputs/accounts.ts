// Target accounts' inputs: which accounts get images of their own (target-accounts), the role the
// step assumes in each (target-role), and the images of an earlier release in each
// (account-image-ids, for a later step or a rollback).
import { InputError } from '../errors.ts'
import type { InputName, Mode, TargetsPlan } from './spec.ts'
import { parseImageId, parseRegion } from './values.ts'

export const ACCOUNT_ID = /^\d{12}$/

// IAM User Guide, "IAM identifiers" and the CreateRole API Reference: a role name is 1–64
// characters of letters, digits and +=,.@_-; a path is /-separated segments of printable ASCII.
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/
const PATH_SEGMENT = /^[\x21-\x2e\x30-\x7e]+$/

export function readTargets(raw: (name: InputName) => string, modes: ReadonlySet<Mode>): TargetsPlan | undefined {
  const accountsText = raw('target-accounts')
  const imagesText = raw('account-image-ids')
  // Read as written (parseList drops repeats): a repeat is refused as the likely typo it is.
  const accounts = accountsText.split(/[\s,]+/).filter(Boolean)
  if (accounts.length === 0) {
    if (imagesText !== '')
      throw new InputError(
        'account-image-ids',
        imagesText,
        'it names images in target accounts: give those accounts in target-accounts too'
      )
    return undefined
  }
  const seen = new Set<string>()
  for (const account of accounts) {
    if (!ACCOUNT_ID.test(account))
      throw new InputError(
        'target-accounts',
        accountsText,
        `'${account}' is not an AWS account id: expected 12 digits, such as 111122223333`
      )
    if (seen.has(account)) throw new InputError('target-accounts', accountsText, `${account} is listed twice`)
    seen.add(account)
  }
  const role = readRole(raw('target-role') || 'ami-pipeline')
  const givenImages = readAccountImages(imagesText, accounts)
  if (givenImages.size > 0 && modes.has('copy'))
    throw new InputError(
      'account-image-ids',
      imagesText,
      'copy makes the target accounts’ images, so account-image-ids is not used with it'
    )
  // wait, tag and publish act on each account's own images: without copy, they must be given.
  const needsImages = ['wait', 'tag', 'publish'].filter((mode) => modes.has(mode as Mode))
  const missing = accounts.filter((account) => !givenImages.has(account))
  if (needsImages.length > 0 && !modes.has('copy') && missing.length > 0)
    throw new InputError(
      'account-image-ids',
      imagesText,
      `${needsImages.join(', ')} ${needsImages.length === 1 ? 'acts' : 'act'} on each target account's own images, and none are given for ${missing.join(', ')}: pass the account-image-ids output of the step that copied them`
    )
  return { accounts, role, givenImages }
}

/** A role name, or path/name as IAM writes it inside an ARN (`team/ami-pipeline`). */
function readRole(value: string): string {
  const accepted =
    'expected a role name such as ami-pipeline, or path/name such as ci/ami-pipeline (not an ARN: the account comes from target-accounts)'
  if (value.startsWith('arn:')) throw new InputError('target-role', value, accepted)
  const role = value.replace(/^\/+/, '')
  const parts = role.split('/')
  const name = parts.pop() ?? ''
  if (!ROLE_NAME.test(name) || !parts.every((part) => PATH_SEGMENT.test(part)) || role.length > 512)
    throw new InputError('target-role', value, accepted)
  return role
}

/** account-image-ids: the output of an earlier step, `{"111122223333": {"us-east-1": "ami-…"}}`. */
function readAccountImages(text: string, accounts: readonly string[]): Map<string, Map<string, string>> {
  const images = new Map<string, Map<string, string>>()
  if (text === '') return images
  const accepted = 'expected the account-image-ids output of an earlier step: a JSON object, account → region → image id'
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new InputError('account-image-ids', text, `${accepted}; the JSON does not parse (${(error as Error).message})`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InputError('account-image-ids', text, accepted)
  for (const [account, regions] of Object.entries(parsed)) {
    if (!accounts.includes(account))
      throw new InputError(
        'account-image-ids',
        text,
        `it names account ${account}, which is not in target-accounts (${accounts.join(', ')})`
      )
    if (regions === null || typeof regions !== 'object' || Array.isArray(regions)) throw new InputError('account-image-ids', text, accepted)
    const perRegion = new Map<string, string>()
    for (const [region, id] of Object.entries(regions as Record<string, unknown>)) {
      parseRegion('account-image-ids', region)
      if (typeof id !== 'string')
        throw new InputError('account-image-ids', text, `${accepted}; ${account} ${region} holds ${JSON.stringify(id)}`)
      perRegion.set(region, parseImageId('account-image-ids', id))
    }
    images.set(account, perRegion)
  }
  return images
}
