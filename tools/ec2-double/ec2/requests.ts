// Reading EC2 query requests: DryRun, filters and tag specifications the double takes off before
// moto sees them, and a request's fingerprint for client tokens.

export type Tag = { Key: string; Value: string }

export const isDryRun = (params: URLSearchParams): boolean => params.get('DryRun') === 'true'

/** The values of every numbered parameter whose name matches. */
export function listed(params: URLSearchParams, pattern: RegExp): string[] {
  return [...params].filter(([key]) => pattern.test(key)).map(([, value]) => value)
}

/**
 * EC2 developer guide, "Ensuring idempotency": a retry with the same client token "but one or more
 * of the parameters are different, other than the Region or Availability Zone, ... fails with an
 * IdempotentParameterMismatch error". So every parameter counts, tags included.
 */
export function fingerprintOf(params: URLSearchParams): string {
  return JSON.stringify(
    [...params].filter(([key]) => !['Action', 'Version', 'ClientToken', 'DryRun'].includes(key)).sort(([a], [b]) => a.localeCompare(b))
  )
}

/** Splits TagSpecification.N.* off the parameters, by resource type. */
export function takeTagSpecifications(params: URLSearchParams): { rest: URLSearchParams; tags: Map<string, Tag[]> } {
  const rest = new URLSearchParams()
  const specs = new Map<string, { type: string; tags: Map<string, Tag> }>()
  for (const [key, value] of params) {
    const match = /^TagSpecification\.(\d+)\.(ResourceType|Tag\.(\d+)\.(Key|Value))$/.exec(key)
    if (!match) {
      rest.append(key, value)
      continue
    }
    const spec = specs.get(match[1]!) ?? { type: '', tags: new Map() }
    specs.set(match[1]!, spec)
    if (match[2] === 'ResourceType') spec.type = value
    else {
      const tag = spec.tags.get(match[3]!) ?? { Key: '', Value: '' }
      tag[match[4] as 'Key' | 'Value'] = value
      spec.tags.set(match[3]!, tag)
    }
  }
  return { rest, tags: new Map([...specs.values()].map((spec) => [spec.type, [...spec.tags.values()]])) }
}

/** Removes the named filters, renumbering the others, and returns their values. */
export function takeFilters(params: URLSearchParams, names: string[]): { rest: URLSearchParams; taken: Map<string, string[]> } {
  const filters = new Map<string, { name: string; values: string[] }>()
  const rest = new URLSearchParams()
  for (const [key, value] of params) {
    const match = /^Filter\.(\d+)\.(Name|Value\.\d+)$/.exec(key)
    if (!match) {
      rest.append(key, value)
      continue
    }
    const filter = filters.get(match[1]!) ?? { name: '', values: [] }
    filters.set(match[1]!, filter)
    if (match[2] === 'Name') filter.name = value
    else filter.values.push(value)
  }
  const taken = new Map<string, string[]>()
  let n = 0
  for (const filter of filters.values()) {
    if (names.includes(filter.name)) {
      taken.set(filter.name, filter.values)
      continue
    }
    n++
    rest.append(`Filter.${n}.Name`, filter.name)
    filter.values.forEach((value, i) => rest.append(`Filter.${n}.Value.${i + 1}`, value))
  }
  return { rest, taken }
}
