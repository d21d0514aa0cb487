// Reads every input once, validates it, and returns a typed plan per mode. Nothing else reads
// inputs, so a bad value always fails here, before any call that changes anything.
import { InputError } from './errors.ts'
import {
  INSTANCE_ID,
  parseBoolean,
  parseCount,
  parseDuration,
  parseImageId,
  parseList,
  parseMap,
  parseRegion,
  parseRegions,
  parseTags,
  type Tags
} from './parse.ts'

export const MODES = ['build', 'copy', 'wait', 'tag', 'prune'] as const
export type Mode = (typeof MODES)[number]

/** Each input, the modes it serves (`all` for every mode) and its action.yml default. */
export const INPUTS = {
  mode: { modes: 'all', default: '' },
  region: { modes: 'all', default: '' },
  'instance-id': { modes: ['build'], default: '' },
  name: { modes: ['build'], default: '' },
  description: { modes: ['build'], default: '' },
  'no-reboot': { modes: ['build'], default: 'false' },
  'if-exists': { modes: ['build'], default: 'fail' },
  'image-id': { modes: ['wait', 'tag', 'copy'], default: '' },
  'image-ids': { modes: ['wait', 'tag', 'copy'], default: '' },
  tags: { modes: ['build', 'tag', 'copy'], default: '' },
  'provenance-tags': { modes: ['build', 'tag', 'copy'], default: 'true' },
  regions: { modes: ['copy', 'prune'], default: '' },
  encrypted: { modes: ['copy'], default: 'false' },
  'kms-key-id': { modes: ['copy'], default: '' },
  'kms-key-ids': { modes: ['copy'], default: '' },
  'copy-completion-duration': { modes: ['copy'], default: '' },
  'share-accounts': { modes: ['tag'], default: '' },
  'share-organizations': { modes: ['tag'], default: '' },
  'share-organizational-units': { modes: ['tag'], default: '' },
  'deprecate-after': { modes: ['tag'], default: '' },
  'deregistration-protection': { modes: ['tag'], default: 'false' },
  'wait-timeout': { modes: ['wait', 'copy', 'tag', 'prune'], default: '60m' },
  'prune-name': { modes: ['prune'], default: '' },
  'prune-tags': { modes: ['prune'], default: '' },
  'prune-regions': { modes: ['prune'], default: '' },
  keep: { modes: ['prune'], default: '3' },
  'older-than': { modes: ['prune'], default: '0s' },
  'group-by': { modes: ['prune'], default: '' },
  'delete-snapshots': { modes: ['prune'], default: 'true' },
  'max-deletions': { modes: ['prune'], default: '100' },
  'dry-run': { modes: 'all', default: 'false' }
} as const satisfies Record<string, { modes: 'all' | readonly Mode[]; default: string }>

export type InputName = keyof typeof INPUTS

export interface BuildPlan {
  instanceId: string
  name: string
  description: string
  noReboot: boolean
  ifExists: 'fail' | 'reuse'
}

export interface Encryption {
  encrypted: boolean
  kmsKeyId?: string
}

export interface CopyPlan {
  regions: string[]
  encryption: ReadonlyMap<string, Encryption>
  /** Time-based copy: EC2 finishes the snapshot copy within this many minutes (billed per TiB). */
  completionMinutes?: number
}

/** Distribution settings applied by tag, once each image is available. */
export interface DistributionPlan {
  shareAccounts: string[]
  shareOrganizations: string[]
  shareOrganizationalUnits: string[]
  deprecateAfterMs?: number
  deregistrationProtection: boolean
}

export interface PrunePlan {
  regions: string[]
  name?: string
  tags: Tags
  keep: number
  olderThanMs: number
  groupBy?: string
  deleteSnapshots: boolean
  maxDeletions: number
}

export interface Plan {
  modes: ReadonlySet<Mode>
  region: string
  dryRun: boolean
  /** Images the step was given, region → image id (the source region's is `image-id`). */
  givenImages: ReadonlyMap<string, string>
  tags: Tags
  provenanceTags: boolean
  waitTimeoutMs: number
  build?: BuildPlan
  copy?: CopyPlan
  distribution?: DistributionPlan
  prune?: PrunePlan
}

/** `read(name)` returns the raw input ('' when unset), as @actions/core's getInput does. */
export type ReadInput = (name: InputName) => string

export function readPlan(read: ReadInput, env: NodeJS.ProcessEnv = process.env): Plan {
  const raw = (name: InputName): string => read(name).trim()
  const modes = parseModes(raw('mode'))
  rejectInputsForOtherModes(raw, modes)

  const regionText = raw('region') || env.AWS_REGION || env.AWS_DEFAULT_REGION || ''
  if (regionText === '') {
    throw new InputError('region', '', 'expected a region such as us-east-1 (or AWS_REGION / AWS_DEFAULT_REGION in the environment)')
  }
  const region = parseRegion('region', regionText)
  const givenImages = readGivenImages(raw, region, modes)
  const tags = parseTags('tags', raw('tags'))
  const provenanceTags = parseBoolean('provenance-tags', raw('provenance-tags'), true)
  if (provenanceTags && tags.size + PROVENANCE_TAG_COUNT > 50) {
    throw new InputError(
      'tags',
      raw('tags'),
      `EC2 allows 50 tags and provenance-tags adds up to ${PROVENANCE_TAG_COUNT}: give at most ${50 - PROVENANCE_TAG_COUNT} tags, or set provenance-tags: false`
    )
  }

  const plan: Plan = {
    modes,
    region,
    dryRun: parseBoolean('dry-run', raw('dry-run'), false),
    givenImages,
    tags,
    provenanceTags,
    waitTimeoutMs: parseDuration('wait-timeout', raw('wait-timeout') || INPUTS['wait-timeout'].default)
  }
  if (modes.has('build')) plan.build = readBuild(raw)
  if (modes.has('copy')) plan.copy = readCopy(raw, region)
  if (modes.has('tag')) {
    const distribution = readDistribution(raw)
    if (distribution) plan.distribution = distribution
  }
  if (modes.has('prune')) plan.prune = readPrune(raw, region)
  return plan
}

/** Provenance tags the action may add (see provenance.ts); counted against EC2's 50-tag limit. */
export const PROVENANCE_TAG_COUNT = 8

function parseModes(value: string): Set<Mode> {
  const accepted = `expected one or more of ${MODES.join(', ')}, separated by commas, spaces or newlines`
  const items = parseList(value.toLowerCase())
  if (items.length === 0) throw new InputError('mode', value, accepted)
  for (const item of items) {
    if (!(MODES as readonly string[]).includes(item)) throw new InputError('mode', value, `'${item}' is not a mode; ${accepted}`)
  }
  return new Set(items as Mode[])
}

/** An input given for a mode the step does not run is almost always a mistake in the workflow. */
function rejectInputsForOtherModes(raw: (name: InputName) => string, modes: ReadonlySet<Mode>): void {
  for (const [name, spec] of Object.entries(INPUTS) as [InputName, (typeof INPUTS)[InputName]][]) {
    if (spec.modes === 'all') continue
    const value = raw(name)
    // The runner passes action.yml defaults as if given; only a value that differs was written.
    if (value === '' || value.toLowerCase() === spec.default) continue
    if (!spec.modes.some((mode) => modes.has(mode))) {
      throw new InputError(name, value, `it applies to mode ${spec.modes.join(' or ')}, and this step runs ${[...modes].join(', ')}`)
    }
  }
}

function readGivenImages(raw: (name: InputName) => string, region: string, modes: ReadonlySet<Mode>): Map<string, string> {
  const images = new Map<string, string>()
  const idsText = raw('image-ids')
  for (const [imageRegion, id] of parseMap('image-ids', idsText)) {
    parseRegion('image-ids', imageRegion)
    images.set(imageRegion, parseImageId('image-ids', id))
  }
  const idText = raw('image-id')
  if (idText !== '') {
    const id = parseImageId('image-id', idText)
    const listed = images.get(region)
    if (listed !== undefined && listed !== id) {
      throw new InputError('image-ids', idsText, `it names ${listed} in ${region}, but image-id is ${id}: give one or make them agree`)
    }
    images.set(region, id)
  }
  if (modes.has('build') && images.size > 0) {
    const input = idText !== '' ? 'image-id' : 'image-ids'
    throw new InputError(input, raw(input), 'build makes the source image, so image-id and image-ids are not used with it')
  }
  const needsImage = ['wait', 'tag', 'copy'].some((mode) => modes.has(mode as Mode))
  if (needsImage && !modes.has('build') && images.size === 0) {
    throw new InputError('image-id', '', 'wait, tag and copy need an image: run build in the same step, or give image-id or image-ids')
  }
  if (modes.has('copy') && !modes.has('build') && !images.has(region)) {
    throw new InputError('image-id', idText, `copy needs the source image in region ${region}: give image-id, or image-ids with ${region}`)
  }
  return images
}

const NAME_RULE = "expected 3 to 128 characters of letters, digits, spaces and ( ) [ ] . / - ' @ _"

function readBuild(raw: (name: InputName) => string): BuildPlan {
  const instanceId = raw('instance-id')
  if (!INSTANCE_ID.test(instanceId)) {
    throw new InputError('instance-id', instanceId, 'build needs the builder instance: i- followed by 8 or 17 hexadecimal digits')
  }
  const name = raw('name')
  if (!/^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/.test(name)) throw new InputError('name', name, NAME_RULE)
  const description = raw('description')
  if (description.length > 255) {
    throw new InputError('description', description, `expected at most 255 characters; it has ${description.length}`)
  }
  const ifExists = raw('if-exists').toLowerCase() || 'fail'
  if (ifExists !== 'fail' && ifExists !== 'reuse') throw new InputError('if-exists', raw('if-exists'), 'expected fail or reuse')
  return { instanceId, name, description, noReboot: parseBoolean('no-reboot', raw('no-reboot'), false), ifExists }
}

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

function readCopy(raw: (name: InputName) => string, sourceRegion: string): CopyPlan {
  const regions = parseRegions('regions', raw('regions'))
  if (regions.length === 0) {
    throw new InputError('regions', '', 'copy needs destination regions, such as us-west-2, eu-west-1')
  }
  const encrypted = parseBoolean('encrypted', raw('encrypted'), false)
  const keyText = raw('kms-key-id')
  const keysText = raw('kms-key-ids')
  const keys = parseMap('kms-key-ids', keysText)
  for (const keyRegion of keys.keys()) {
    parseRegion('kms-key-ids', keyRegion)
    if (!regions.includes(keyRegion)) {
      throw new InputError('kms-key-ids', keysText, `it names ${keyRegion}, which is not in regions (${regions.join(', ')})`)
    }
  }
  const encryption = new Map<string, Encryption>()
  for (const region of regions.filter((r) => r !== sourceRegion)) {
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

const ACCOUNT = /^\d{12}$/
const ORGANIZATION = /^arn:aws[a-z-]*:organizations::\d{12}:organization\/o-[a-z0-9]{10,32}$/
const ORGANIZATIONAL_UNIT = /^arn:aws[a-z-]*:organizations::\d{12}:ou\/o-[a-z0-9]{10,32}\/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/
const TEN_YEARS_MS = 10 * 365 * 86_400_000

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

function readDistribution(raw: (name: InputName) => string): DistributionPlan | undefined {
  const plan: DistributionPlan = {
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
    deregistrationProtection: parseBoolean('deregistration-protection', raw('deregistration-protection'), false)
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

function readPrune(raw: (name: InputName) => string, region: string): PrunePlan {
  const name = raw('prune-name')
  const tags = parseMap('prune-tags', raw('prune-tags'))
  if (name === '' && tags.size === 0) {
    throw new InputError('prune-name', '', 'prune needs prune-name or prune-tags (or both): it never selects all of your images')
  }
  if (name !== '' && !/^[A-Za-z0-9()[\] ./\-'@_*?]{1,128}$/.test(name)) {
    throw new InputError(
      'prune-name',
      name,
      "expected an AMI name pattern: letters, digits, spaces, ( ) [ ] . / - ' @ _ and the wildcards * and ?"
    )
  }
  const groupBy = raw('group-by')
  if (groupBy.length > 128) throw new InputError('group-by', groupBy, 'expected a tag key of at most 128 characters')
  const listed = raw('prune-regions')
  const regions = listed !== '' ? parseRegions('prune-regions', listed) : [...new Set([region, ...parseRegions('regions', raw('regions'))])]
  const plan: PrunePlan = {
    regions,
    tags,
    keep: parseCount('keep', raw('keep') || INPUTS.keep.default, 0, 1000),
    olderThanMs: parseDuration('older-than', raw('older-than') || INPUTS['older-than'].default),
    deleteSnapshots: parseBoolean('delete-snapshots', raw('delete-snapshots'), true),
    maxDeletions: parseCount('max-deletions', raw('max-deletions') || INPUTS['max-deletions'].default, 1, 100_000)
  }
  if (name !== '') plan.name = name
  if (groupBy !== '') plan.groupBy = groupBy
  return plan
}
