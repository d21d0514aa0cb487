// Parsers for the value shapes the contract defines (durations, lists, maps, booleans, tags).
// Each takes the input's name so that every refusal names the input, the value and what is accepted.
import { InputError } from '../errors.ts'
import { MAX_TAGS } from '../limits.ts'

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** `45m`, `2h`, `90d`, `0s`: a whole number with a unit, in milliseconds. */
export function parseDuration(input: string, value: string): number {
  const match = /^(\d{1,9})\s*([smhd])$/i.exec(value.trim())
  if (!match) {
    throw new InputError(input, value, 'expected a whole number with a unit s, m, h or d, such as 45m, 2h or 90d')
  }
  const unit = match[2]!.toLowerCase() as keyof typeof UNIT_MS
  return Number(match[1]) * UNIT_MS[unit]
}

/** Items separated by commas, spaces or newlines; repeats dropped, order kept. */
export function parseList(value: string): string[] {
  return [...new Set(value.split(/[\s,]+/).filter((item) => item !== ''))]
}

/** YAML 1.2 core booleans, any case: `true` or `false`. Empty means the default. */
export function parseBoolean(input: string, value: string, fallback: boolean): boolean {
  const text = value.trim().toLowerCase()
  if (text === '') return fallback
  if (text === 'true') return true
  if (text === 'false') return false
  throw new InputError(input, value, 'expected true or false')
}

/** A whole number within bounds. */
export function parseCount(input: string, value: string, min: number, max: number): number {
  const text = value.trim()
  if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new InputError(input, value, `expected a whole number from ${min} to ${max}`)
  }
  return Number(text)
}

/**
 * `key=value` lines, or a JSON object of strings. Lines (not commas) separate entries because
 * tag values may contain commas and spaces; the first `=` splits, so values may contain `=`.
 */
export function parseMap(input: string, value: string): Map<string, string> {
  const text = value.trim()
  const map = new Map<string, string>()
  if (text === '') return map
  if (text.startsWith('{') || text.startsWith('[')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (error) {
      throw new InputError(input, value, `expected a JSON object or key=value lines; the JSON does not parse (${(error as Error).message})`)
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new InputError(input, value, 'expected a JSON object of strings, such as {"Team": "web"}')
    }
    for (const [key, item] of Object.entries(parsed)) {
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        throw new InputError(input, value, `expected a JSON object of strings; '${key}' holds ${JSON.stringify(item)}`)
      }
      map.set(key.trim(), String(item))
    }
    return map
  }
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue
    const at = line.indexOf('=')
    const key = at < 0 ? '' : line.slice(0, at).trim()
    if (key === '') {
      throw new InputError(input, value, `expected key=value on every line; '${line.trim()}' is not`)
    }
    if (map.has(key)) {
      throw new InputError(input, value, `expected each key once; '${key}' is given twice`)
    }
    const item = line.slice(at + 1).trim()
    // `App=web, Version=1` is two pairs to whoever wrote it, but one value to a line reader: the
    // value would swallow the next pair (and prune-tags would match nothing, forever). Refused.
    const swallowed = /,\s*([^\s=,]+)\s*=/.exec(item)
    if (swallowed) {
      throw new InputError(
        input,
        value,
        `one key=value pair per line: '${line.trim()}' reads as ${key} = '${item}', swallowing '${swallowed[1]}='; put each pair on its own line, or give a JSON object`
      )
    }
    map.set(key, item)
  }
  return map
}

/** EC2's tag rules: key 1–128 characters, value up to 256, no `aws:` prefix (AWS reserves it). */
export function parseTags(input: string, value: string): Map<string, string> {
  const tags = parseMap(input, value)
  for (const [key, item] of tags) {
    if (key.length > 128) {
      throw new InputError(input, value, `tag keys are 1 to 128 characters; '${key.slice(0, 40)}…' has ${key.length}`)
    }
    if (item.length > 256) {
      throw new InputError(input, value, `tag values are up to 256 characters; the value of '${key}' has ${item.length}`)
    }
    if (/^aws:/i.test(key)) {
      throw new InputError(input, value, `tag keys may not start with 'aws:' (AWS reserves it); '${key}' does`)
    }
  }
  if (tags.size > MAX_TAGS) {
    throw new InputError(input, value, `EC2 allows at most ${MAX_TAGS} tags on a resource; ${tags.size} are given`)
  }
  return tags
}

/**
 * The shape of every region the AWS SDK's partitions know: `us-east-1`, `cn-north-1`,
 * `us-gov-west-1`, `us-isob-east-1`, `eusc-de-east-1` (the prefix is two to four letters).
 */
export const REGION = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/
export const IMAGE_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/
export const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/

export function parseRegion(input: string, value: string): string {
  const region = value.trim()
  if (!REGION.test(region)) {
    throw new InputError(input, value, 'expected an AWS region code such as us-east-1 or eu-west-2')
  }
  return region
}

export function parseRegions(input: string, value: string): string[] {
  return parseList(value).map((region) => parseRegion(input, region))
}

export function parseImageId(input: string, value: string): string {
  const id = value.trim()
  if (!IMAGE_ID.test(id)) {
    throw new InputError(input, value, 'expected an image id: ami- followed by 8 or 17 hexadecimal digits')
  }
  return id
}
