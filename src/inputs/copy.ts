// copy's inputs: destination regions, encryption per region, time-based copies.
import { InputError } from '../errors.ts'
import type { CopyPlan, Encryption, InputName } from './spec.ts'
import { parseBoolean, parseDuration, parseMap, parseRegion, parseRegions } from './values.ts'

// Key id, multi-Region key id, alias, or key/alias ARN: the forms CopyImage's KmsKeyId accepts.
const KMS_KEY =
  /^((mrk-)?[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|alias\/[A-Za-z0-9/_-]{1,250}|arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:(key|alias)\/[A-Za-z0-9/_-]{1,250})$/
const KMS_RULE = 'expected a KMS key id, alias/NAME, or a key or alias ARN'

function readKmsKey(input: string, inputValue: string, key: string, region: string): string {
  const match = KMS_KEY.exec(key)
  if (!match) throw new InputError(input, inputValue, `'${key}' is not a KMS key: ${KMS_RULE}`)
  const keyRegion = match[3]
  // A key ARN pins a region; CopyImage fails late (after a pending copy) when it is not the destination.
  if (keyRegion !== undefined && keyRegion !== region) {
    throw new InputError(input, inputValue, `the key ${key} is in ${keyRegion}, but the copy to ${region} needs a key in ${region}`)
  }
  return key
}

export function readCopy(raw: (name: InputName) => string, sourceRegion: string): CopyPlan {
  const regions = parseRegions('regions', raw('regions'))
  if (regions.length === 0) {
    throw new InputError('regions', '', 'copy needs destination regions, such as us-west-2, eu-west-1')
  }
  const encryptedText = raw('encrypted')
  const encrypted = parseBoolean('encrypted', encryptedText, false)
  const keyText = raw('kms-key-id')
  const keysText = raw('kms-key-ids')
  const keys = parseMap('kms-key-ids', keysText)
  // A key means encryption; saying false as well is a contradiction, not a preference to settle.
  if (encryptedText !== '' && !encrypted && (keyText !== '' || keys.size > 0)) {
    throw new InputError(
      'encrypted',
      encryptedText,
      `${keyText !== '' ? 'kms-key-id' : 'kms-key-ids'} names a KMS key, which encrypts the copies: remove encrypted: false, or remove the key`
    )
  }
  const destinations = regions.filter((region) => region !== sourceRegion)
  for (const keyRegion of keys.keys()) {
    parseRegion('kms-key-ids', keyRegion)
    if (!destinations.includes(keyRegion)) {
      const why =
        keyRegion === sourceRegion ? 'the source region, which is not copied to' : `which is not in regions (${regions.join(', ')})`
      throw new InputError('kms-key-ids', keysText, `it names ${keyRegion}, ${why}: a key is used only for a copy into its region`)
    }
  }
  const encryption = new Map<string, Encryption>()
  for (const region of destinations) {
    const perRegion = keys.get(region)
    if (perRegion !== undefined) {
      encryption.set(region, { encrypted: true, kmsKeyId: readKmsKey('kms-key-ids', keysText, perRegion, region) })
    } else if (keyText !== '') {
      encryption.set(region, { encrypted: true, kmsKeyId: readKmsKey('kms-key-id', keyText, keyText, region) })
    } else {
      encryption.set(region, { encrypted })
    }
  }
  const copy: CopyPlan = { regions, encryption }
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
