// Reads every input once, validates it, and returns a typed plan per mode. Nothing else reads
// inputs, so a bad value always fails here, before any call that changes anything.
import { InputError, InputErrors } from '../errors.ts'
import { MAX_TAGS } from '../limits.ts'
import { PROVENANCE, type Tags } from '../tags.ts'
import { readTargets } from './accounts.ts'
import { readBuild } from './build.ts'
import { readCopy } from './copy.ts'
import { readGivenImages } from './images.ts'
import { readPrune } from './prune.ts'
import { readPublish } from './publish.ts'
import { readShare } from './share.ts'
import { INPUTS, MODES, type InputName, type Mode, type Plan } from './spec.ts'
import { parseBoolean, parseDuration, parseList, parseRegion, parseTags } from './values.ts'

export * from './spec.ts'

/** `read(name)` returns the raw input ('' when unset), as @actions/core's getInput does. */
export type ReadInput = (name: InputName) => string

export function readPlan(read: ReadInput, env: NodeJS.ProcessEnv = process.env): Plan {
  const raw = (name: InputName): string => read(name).trim()
  const modes = parseModes(raw('mode'))
  // Every input is read even after one is refused, so that one run names every bad input.
  const refused: InputError[] = []
  const attempt = <T>(reading: () => T): T | undefined => {
    try {
      return reading()
    } catch (error) {
      if (!(error instanceof InputError)) throw error
      refused.push(error)
      return undefined
    }
  }
  refused.push(...inputsForOtherModes(raw, modes))
  const region = attempt(() => readRegion(raw, env))
  const targets = attempt(() => readTargets(raw, modes))
  const givenImages =
    region === undefined ? undefined : attempt(() => readGivenImages(raw, region, modes, (targets?.givenImages.size ?? 0) > 0))
  const { tags, provenanceTags } = attempt(() => readTags(raw)) ?? {}
  const dryRun = attempt(() => parseBoolean('dry-run', raw('dry-run'), false))
  const waitTimeoutMs = attempt(() => parseDuration('wait-timeout', raw('wait-timeout') || INPUTS['wait-timeout'].default))
  const build = modes.has('build') ? attempt(() => readBuild(raw)) : undefined
  const copy = modes.has('copy') && region !== undefined ? attempt(() => readCopy(raw, region, targets?.accounts)) : undefined
  const share = modes.has('tag') ? attempt(() => readShare(raw)) : undefined
  const prune = modes.has('prune') && region !== undefined ? attempt(() => readPrune(raw, region)) : undefined
  if (
    refused.length === 0 &&
    region !== undefined &&
    givenImages &&
    tags &&
    provenanceTags !== undefined &&
    dryRun !== undefined &&
    waitTimeoutMs !== undefined
  ) {
    const plan: Plan = { modes, region, dryRun, givenImages, tags, provenanceTags, waitTimeoutMs }
    if (targets) plan.targets = targets
    if (build) plan.build = build
    if (copy) plan.copy = copy
    if (modes.has('tag')) plan.tag = share ? { share } : {}
    if (prune) plan.prune = prune
    // publish's inputs are judged against the release's regions, so only once the rest stands.
    if (modes.has('publish')) plan.publish = readPublish(raw, releaseRegions(plan))
    return plan
  }
  throw refused.length === 1 ? refused[0] : new InputErrors(refused)
}

function readRegion(raw: (name: InputName) => string, env: NodeJS.ProcessEnv): string {
  const regionText = raw('region') || env.AWS_REGION || env.AWS_DEFAULT_REGION || ''
  if (regionText === '') {
    throw new InputError('region', '', 'expected a region such as us-east-1 (or AWS_REGION / AWS_DEFAULT_REGION in the environment)')
  }
  return parseRegion('region', regionText)
}

function readTags(raw: (name: InputName) => string): { tags: Tags; provenanceTags: boolean } {
  const tags = parseTags('tags', raw('tags'))
  const provenanceTags = parseBoolean('provenance-tags', raw('provenance-tags'), true)
  // Provenance tags count against EC2's 50-tag limit too.
  const provenanceCount = Object.keys(PROVENANCE).length
  if (provenanceTags && tags.size + provenanceCount > MAX_TAGS) {
    throw new InputError(
      'tags',
      raw('tags'),
      `EC2 allows ${MAX_TAGS} tags and provenance-tags adds up to ${provenanceCount}: give at most ${MAX_TAGS - provenanceCount} tags, or set provenance-tags: false`
    )
  }
  return { tags, provenanceTags }
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
function inputsForOtherModes(raw: (name: InputName) => string, modes: ReadonlySet<Mode>): InputError[] {
  const refused: InputError[] = []
  for (const [name, spec] of Object.entries(INPUTS) as [InputName, (typeof INPUTS)[InputName]][]) {
    if (spec.modes === 'all') continue
    const value = raw(name)
    // The runner passes action.yml defaults as if given; only a value that differs was written.
    if (value === '' || value.toLowerCase() === spec.default) continue
    if (!spec.modes.some((mode) => modes.has(mode)))
      refused.push(
        new InputError(name, value, `it applies to mode ${spec.modes.join(' or ')}, and this step runs ${[...modes].join(', ')}`)
      )
  }
  return refused
}

/** The regions the release will have images in: the source (built or given), every copy, every given image. */
function releaseRegions(plan: Plan): string[] {
  const regions = new Set<string>()
  if (plan.build || plan.givenImages.has(plan.region)) regions.add(plan.region)
  for (const region of plan.givenImages.keys()) regions.add(region)
  for (const region of plan.copy?.regions ?? []) regions.add(region)
  return [...regions]
}
