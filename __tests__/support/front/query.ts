// EC2's query protocol from the front's side: the region in the signature, numbered lists
// (`Filter.1.Name`, `TagSpecification.2.Tag.1.Key`) taken apart and put back together.

/** An EC2 error the front answers with instead of moto's reply. */
export class FrontError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export interface Tag {
  Key: string
  Value: string
}

export interface Filter {
  name: string
  values: string[]
}

/** The region in the SigV4 credential scope: `Credential=AKID/DATE/REGION/ec2/aws4_request`. */
export function regionOf(authorization: string | undefined): string {
  return /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//.exec(authorization ?? '')?.[1] ?? 'us-east-1'
}

/** `Prefix.1`, `Prefix.2`, … in order. */
export function listOf(params: URLSearchParams, prefix: string): string[] {
  return [...params]
    .flatMap(([key, value]) => {
      const match = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)$`).exec(key)
      return match ? [{ n: Number(match[1]), value }] : []
    })
    .sort((a, b) => a.n - b.n)
    .map((entry) => entry.value)
}

/** A copy without the given parameters. */
export function without(params: URLSearchParams, ...names: string[]): URLSearchParams {
  const rest = new URLSearchParams(params)
  for (const name of names) rest.delete(name)
  return rest
}

/**
 * Splits `TagSpecification.N.*` off the parameters: the tags by resource type, and the parameters
 * with only the specifications of the `kept` types, renumbered from 1.
 */
export function takeTagSpecifications(params: URLSearchParams, kept: string[] = []): { rest: URLSearchParams; tags: Map<string, Tag[]> } {
  const specs = new Map<string, { type: string; tags: Map<string, Tag> }>()
  const rest = new URLSearchParams()
  for (const [key, value] of params) {
    const match = /^TagSpecification\.(\d+)\.(?:(ResourceType)|Tag\.(\d+)\.(Key|Value))$/.exec(key)
    if (!match) {
      rest.append(key, value)
      continue
    }
    const [, n, isType, tagN, part] = match
    const spec = specs.get(n!) ?? { type: '', tags: new Map<string, Tag>() }
    specs.set(n!, spec)
    if (isType) spec.type = value
    else {
      const tag = spec.tags.get(tagN!) ?? { Key: '', Value: '' }
      tag[part as keyof Tag] = value
      spec.tags.set(tagN!, tag)
    }
  }
  const tags = new Map<string, Tag[]>()
  let n = 0
  for (const spec of [...specs.entries()].sort(([a], [b]) => Number(a) - Number(b)).map(([, s]) => s)) {
    const list = [...spec.tags.entries()].sort(([a], [b]) => Number(a) - Number(b)).map(([, tag]) => tag)
    tags.set(spec.type, [...(tags.get(spec.type) ?? []), ...list])
    if (!kept.includes(spec.type)) continue
    n++
    rest.append(`TagSpecification.${n}.ResourceType`, spec.type)
    list.forEach((tag, i) => {
      rest.append(`TagSpecification.${n}.Tag.${i + 1}.Key`, tag.Key)
      rest.append(`TagSpecification.${n}.Tag.${i + 1}.Value`, tag.Value)
    })
  }
  return { rest, tags }
}

/** Takes the named filters out of the parameters (renumbering the others) and returns them. */
export function takeFilters(params: URLSearchParams, names: string[]): { rest: URLSearchParams; taken: Filter[] } {
  const filters = new Map<number, Filter>()
  const rest = new URLSearchParams()
  for (const [key, value] of params) {
    const match = /^Filter\.(\d+)\.(Name|Value\.\d+)$/.exec(key)
    if (!match) {
      rest.append(key, value)
      continue
    }
    const filter = filters.get(Number(match[1])) ?? { name: '', values: [] }
    filters.set(Number(match[1]), filter)
    if (match[2] === 'Name') filter.name = value
    else filter.values.push(value)
  }
  const taken: Filter[] = []
  let n = 0
  for (const [, filter] of [...filters.entries()].sort(([a], [b]) => a - b)) {
    if (names.includes(filter.name)) {
      taken.push(filter)
      continue
    }
    n++
    rest.append(`Filter.${n}.Name`, filter.name)
    filter.values.forEach((value, i) => rest.append(`Filter.${n}.Value.${i + 1}`, value))
  }
  return { rest, taken }
}

/** Whether a value passes EC2 filters (values OR-ed, `*` and `?` as wildcards). */
export function passes(filters: Filter[], name: string, value: string | undefined): boolean {
  return filters
    .filter((filter) => filter.name === name)
    .every((filter) => value !== undefined && filter.values.some((pattern) => wildcard(pattern).test(value)))
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
}
