// copy's inputs: destination regions, encryption per region, time-based copies.
import { InputError } from '../errors.ts'
import type { CopyPlan, Encryption, InputName } from './spec.ts'
import { parseBoolean, parseDuration, parseList, parseMap, parseRegion, parseRegions } from './values.ts'

// Key id, multi-Region key id, alias, or key/alias ARN: the forms CopyImage's KmsKeyId accepts. An
// ARN carries its region and account.
const KMS_KEY =
  /^((mrk-)?[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|alias\/[A-Za-z0-9/_-]{1,250}|arn:aws[a-z-]*:kms:(?<region>[a-z0-9-]+):(?<account>\d{12}):(key|alias)\/[A-Za-z0-9/_-]{1,250})$/
const KMS_RULE = 'expected a KMS key id, alias/NAME, or a key or alias ARN'

function readKmsKey(input: string, inputValue: string, key: string, region: string): string {
  const match = KMS_KEY.exec(key)
  if (!match) throw new InputError(input, inputValue, `'${key}' is not a KMS key: ${KMS_RULE}`)
  const keyRegion = match.groups?.region
  // A key ARN pins a region; CopyImage fails late (after a pending copy) when it is not the destination.
  if (keyRegion !== undefined && keyRegion !== region) {
    throw new InputError(input, inputValue, `the key ${key} is in ${keyRegion}, but the copy to ${region} needs a key in ${region}`)
  }
  return key
}

/** One key of kms-key-ids: for a region (`region=key`), or by key ARN alone, which names its region. */
interface KeyEntry {
  region: string
  key: string
  /** The account the ARN names, if any. */
  account?: string
}

/**
 * kms-key-ids: `region=key` lines, a JSON object of them, or key ARNs (alone on a line or listed),
 * which carry their region and account: how each target account's copies get its own key.
 */
function readKeyEntries(text: string): KeyEntry[] {
  const entries: KeyEntry[] = []
  const arnOf = (key: string): { region?: string; account?: string } => KMS_KEY.exec(key)?.groups ?? {}
  const paired = text.startsWith('{')
    ? text
    : text
        .split(/\r?\n/)
        .filter((line) => line.includes('='))
        .join('\n')
  for (const [region, key] of parseMap('kms-key-ids', paired)) {
    parseRegion('kms-key-ids', region)
    const { account } = arnOf(key)
    entries.push({ region, key: readKmsKey('kms-key-ids', text, key, region), ...(account !== undefined && { account }) })
  }
  if (text.startsWith('{')) return entries
  const bare = text.split(/\r?\n/).filter((line) => !line.includes('='))
  for (const key of parseList(bare.join('\n'))) {
    const { region, account } = arnOf(key)
    if (region === undefined || account === undefined)
      throw new InputError(
        'kms-key-ids',
        text,
        `'${key}' has no region: give region=key, or the key's ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)`
      )
    entries.push({ region, key, account })
  }
  return entries
}

export function readCopy(raw: (name: InputName) => string, sourceRegion: string, targetAccounts: readonly string[] = []): CopyPlan {
  const regions = parseRegions('regions', raw('regions'))
  if (regions.length === 0 && targetAccounts.length === 0) {
    throw new InputError('regions', '', 'copy needs destination regions, such as us-west-2, eu-west-1 (or target-accounts)')
  }
  const encryptedText = raw('encrypted')
  const encrypted = parseBoolean('encrypted', encryptedText, false)
  const keyText = raw('kms-key-id')
  const keysText = raw('kms-key-ids')
  const entries = readKeyEntries(keysText)
  // A key means encryption; saying false as well is a contradiction, not a preference to settle.
  if (encryptedText !== '' && !encrypted && (keyText !== '' || entries.length > 0)) {
    throw new InputError(
      'encrypted',
      encryptedText,
      `${keyText !== '' ? 'kms-key-id' : 'kms-key-ids'} names a KMS key, which encrypts the copies: remove encrypted: false, or remove the key`
    )
  }
  const destinations = regions.filter((region) => region !== sourceRegion)
  // A target account owns a copy in the source region too; the step's own account has the source there.
  const accountRegions = [sourceRegion, ...destinations]
  const keys = new Map<string, string>()
  const accountKeys = new Map<string, Map<string, string>>()
  for (const entry of entries) {
    const target = entry.account !== undefined && targetAccounts.includes(entry.account) ? entry.account : undefined
    if (target !== undefined) {
      if (!accountRegions.includes(entry.region))
        throw new InputError(
          'kms-key-ids',
          keysText,
          `the key ${entry.key} of account ${target} is in ${entry.region}, where ${target} gets no copy (regions: ${regions.join(', ') || 'none'}, and the source region ${sourceRegion})`
        )
      const perAccount = accountKeys.get(target) ?? new Map<string, string>()
      if (perAccount.has(entry.region))
        throw new InputError('kms-key-ids', keysText, `it gives account ${target} two keys in ${entry.region}`)
      accountKeys.set(target, perAccount.set(entry.region, entry.key))
      continue
    }
    if (!destinations.includes(entry.region)) {
      const why =
        entry.region === sourceRegion ? 'the source region, which is not copied to' : `which is not in regions (${regions.join(', ')})`
      throw new InputError('kms-key-ids', keysText, `it names ${entry.region}, ${why}: a key is used only for a copy into its region`)
    }
    if (keys.has(entry.region)) throw new InputError('kms-key-ids', keysText, `expected each key once; '${entry.region}' is given twice`)
    keys.set(entry.region, entry.key)
  }
  const encryption = new Map<string, Encryption>()
  for (const region of destinations) {
    const perRegion = keys.get(region)
    if (perRegion !== undefined) {
      encryption.set(region, { encrypted: true, kmsKeyId: perRegion })
    } else if (keyText !== '') {
      encryption.set(region, { encrypted: true, kmsKeyId: readKmsKey('kms-key-id', keyText, keyText, region) })
    } else {
      encryption.set(region, { encrypted })
    }
  }
  const sourceKey = keyText !== '' && (KMS_KEY.exec(keyText)?.groups?.region ?? sourceRegion) === sourceRegion ? keyText : undefined
  const copy: CopyPlan = {
    regions,
    encryption,
    accountKeys,
    encryptAccountCopies: encrypted || keyText !== '',
    sourceEncryption: sourceKey !== undefined ? { encrypted: true, kmsKeyId: sourceKey } : { encrypted: encrypted || keyText !== '' }
  }
  const completion = raw('copy-completion-duration')
  if (completion !== '') copy.completionMinutes = readCompletionMinutes(completion)
  return copy
}

// EC2 takes SnapshotCopyCompletionDurationMinutes in 15-minute steps from 15 minutes to 48 hours.
function readCompletionMinutes(value: string): number {
  const accepted = 'expected a duration in 15-minute steps from 15m to 48h, such as 15m, 90m or 2h'
  const ms = parseDuration('copy-completion-duration', value)
  const minutes = ms / 60_000
  if (!Number.isInteger(minutes) || minutes % 15 !== 0 || minutes < 15 || minutes > 48 * 60) {
    throw new InputError('copy-completion-duration', value, accepted)
  }
  return minutes
}
