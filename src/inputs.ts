// Reads every input once, validates it, and returns a typed plan per mode. Nothing else reads
// inputs, so a bad value always fails here, before any call that changes anything.
import { InputError } from './errors.ts'
import { readCopy } from './inputs/copy.ts'
import { readDistribution } from './inputs/distribution.ts'
import { readPrune } from './inputs/prune.ts'
import { readPublish } from './inputs/publish.ts'
import { INPUTS, MODES, type BuildPlan, type InputName, type Mode, type Plan } from './inputs/spec.ts'
import { PROVENANCE } from './provenance.ts'
import { INSTANCE_ID, parseBoolean, parseDuration, parseImageId, parseList, parseMap, parseRegion, parseTags } from './parse.ts'

export * from './inputs/spec.ts'

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
  // Provenance tags count against EC2's 50-tag limit too.
  const provenanceCount = Object.keys(PROVENANCE).length
  if (provenanceTags && tags.size + provenanceCount > 50) {
    throw new InputError(
      'tags',
      raw('tags'),
      `EC2 allows 50 tags and provenance-tags adds up to ${provenanceCount}: give at most ${50 - provenanceCount} tags, or set provenance-tags: false`
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
  if (modes.has('publish')) plan.publish = readPublish(raw, releaseRegions(plan))
  if (modes.has('prune')) plan.prune = readPrune(raw, region)
  return plan
}

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
  const needsImage = ['wait', 'tag', 'copy', 'publish'].some((mode) => modes.has(mode as Mode))
  if (needsImage && !modes.has('build') && images.size === 0) {
    throw new InputError(
      'image-id',
      '',
      'wait, tag, copy and publish need an image: run build in the same step, or give image-id or image-ids'
    )
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
  if (ifExists !== 'fail' && ifExists !== 'reuse' && ifExists !== 'replace') {
    throw new InputError(
      'if-exists',
      raw('if-exists'),
      'expected fail, reuse, or replace (deregister the existing image and its snapshots first, refused if it is in use or protected)'
    )
  }
  return { instanceId, name, description, noReboot: parseBoolean('no-reboot', raw('no-reboot'), false), ifExists }
}

/** The regions the release will have images in: the source (built or given), every copy, every given image. */
function releaseRegions(plan: Plan): string[] {
  const regions = new Set<string>()
  if (plan.build || plan.givenImages.has(plan.region)) regions.add(plan.region)
  for (const region of plan.givenImages.keys()) regions.add(region)
  for (const region of plan.copy?.regions ?? []) regions.add(region)
  return [...regions]
}
