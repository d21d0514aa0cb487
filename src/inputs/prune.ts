// prune's inputs: selectors, regions, and the rules of the plan.
import { InputError } from '../errors.ts'
import { LAUNCH_REPORT_DELAY_MS } from '../limits.ts'
import { INPUTS, type InputName, type PrunePlan, type Retirement } from './spec.ts'
import { parseBoolean, parseCount, parseDuration, parseMap, parseRegion, parseRegions } from './values.ts'

const RETIREMENTS: readonly Retirement[] = ['deregister', 'disable', 'deprecate']

export function readPrune(raw: (name: InputName) => string, region: string): PrunePlan {
  const name = raw('prune-name')
  const tags = parseMap('prune-tags', raw('prune-tags'))
  if (name === '' && tags.size === 0) {
    throw new InputError('prune-name', '', 'prune needs prune-name or prune-tags (or both): it never selects all of your images')
  }
  // A pattern of wildcards alone matches every name: it selects all of your images, as no selector would.
  if (name !== '' && /^[*?]+$/.test(name) && tags.size === 0) {
    throw new InputError(
      'prune-name',
      name,
      'a pattern made only of wildcards matches every image name: name the images (web-*), or select them with prune-tags'
    )
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
    maxDeletions: parseCount('max-deletions', raw('max-deletions') || INPUTS['max-deletions'].default, 1, 100_000),
    retire: readRetire(raw('retire')),
    onlyDisabled: parseBoolean('only-disabled', raw('only-disabled'), false),
    snapshotPrice: readSnapshotPrice(raw('snapshot-price'), regions)
  }
  if (plan.onlyDisabled && plan.retire !== 'deregister') {
    throw new InputError(
      'only-disabled',
      raw('only-disabled'),
      `it selects images already disabled, for retire: deregister to remove them; with retire: ${plan.retire} there is nothing left to do to them`
    )
  }
  const unused = raw('unused-for')
  if (unused !== '') {
    const ms = parseDuration('unused-for', unused)
    // EC2 reports LastLaunchedTime up to a day late: a day is the least that means anything.
    if (ms < LAUNCH_REPORT_DELAY_MS) {
      throw new InputError(
        'unused-for',
        unused,
        'expected at least 1d: EC2 reports an instance launch up to 24 hours late, so a shorter span could retire an image in use'
      )
    }
    plan.unusedForMs = ms
  }
  if (name !== '') plan.name = name
  if (groupBy !== '') plan.groupBy = groupBy
  return plan
}

function readRetire(value: string): Retirement {
  const retire = (value.toLowerCase() || INPUTS.retire.default) as Retirement
  if (!RETIREMENTS.includes(retire)) {
    throw new InputError(
      'retire',
      value,
      'expected deregister (with snapshots per delete-snapshots), disable (DisableImage: the owner can enable it again) or deprecate (deprecated now)'
    )
  }
  return retire
}

/**
 * snapshot-price: one number for every region, or region=price lines naming every prune region
 * (prices differ by region: Amazon EBS pricing). USD per GB-month of standard-tier storage, where
 * AWS's GB for EBS is 2^30 bytes.
 */
function readSnapshotPrice(value: string, regions: readonly string[]): Map<string, number> {
  const accepted = 'expected USD per GB-month of snapshot storage, such as 0.05, or region=price lines for every prune region'
  const price = (text: string): number => {
    const n = Number(text)
    if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100)
      throw new InputError('snapshot-price', value, `'${text}' is not a price: ${accepted}`)
    return n
  }
  const text = value.trim() || INPUTS['snapshot-price'].default
  if (!text.includes('=') && !text.startsWith('{')) {
    const one = price(text)
    return new Map(regions.map((region) => [region, one]))
  }
  const prices = new Map<string, number>()
  for (const [region, item] of parseMap('snapshot-price', text)) prices.set(parseRegion('snapshot-price', region), price(item))
  const missing = regions.filter((region) => !prices.has(region))
  if (missing.length > 0) throw new InputError('snapshot-price', value, `it gives no price for ${missing.join(', ')}: ${accepted}`)
  return prices
}
