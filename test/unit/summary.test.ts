// The job summary a person scans: it says what the rules were, is never empty, escapes what it
// quotes, folds long plans, links each image to the console, gives ages, and stays under GitHub's
// 1 MiB per step however long the plan.
import { describe, expect, it } from '@jest/globals'
import { Journal, type PruneDecision } from '../../src/journal.ts'
import { Release } from '../../src/release.ts'
import { SUMMARY_LIMIT_BYTES, summaryOf } from '../../src/report.ts'
import { planOf } from '../support/step.ts'

const NOW = Date.parse('2026-12-02T10:00:00Z')
const DAY = 86_400_000

function decisions(count: number, region = 'us-east-1'): PruneDecision[] {
  return Array.from({ length: count }, (_, i) => ({
    region,
    imageId: `ami-${(i + 1).toString(16).padStart(17, '0')}`,
    name: `web-${i}`,
    creationDate: new Date(NOW - (i + 1) * DAY).toISOString(),
    group: '',
    action: i % 10 === 0 ? 'retire' : 'keep',
    reason: i % 10 === 0 ? 'older than 30d and beyond the newest 3' : `in use by instance i-${i.toString(16).padStart(17, '0')} (running)`
  }))
}

const prunePlan = (extra: Record<string, string> = {}) =>
  planOf({ mode: 'prune', 'prune-name': 'web-*', 'prune-tags': 'App=web', keep: '3', 'older-than': '30d', ...extra })

describe('the job summary', () => {
  it('states the rules that made the prune plan, in the inputs’ words', () => {
    const journal = new Journal()
    journal.prunePlan = decisions(3)
    const text = summaryOf(new Release('us-east-1'), journal, prunePlan({ 'unused-for': '14d', retire: 'disable' }), undefined, NOW)
    expect(text).toContain(
      'Rules: images matching `prune-name: web-*` and `prune-tags: App=web` in us-east-1; keep the newest 3 launchable; older than 30d; unused for 14d; retire: disable; at most'
    )
  })

  it('is never empty: a prune that matched nothing, a dry-run build and a step with nothing to do say so', () => {
    const none = summaryOf(new Release('us-east-1'), new Journal(), prunePlan(), undefined, NOW)
    expect(none).toContain('No image matched the selectors.')
    const dry = summaryOf(
      new Release('us-east-1'),
      new Journal(),
      planOf({ mode: 'build', 'instance-id': 'i-0123456789abcdef0', name: 'web', 'dry-run': 'true' }),
      undefined,
      NOW
    )
    expect(dry).toContain('Dry run: EC2 checked each change with `DryRun`; no image was made, changed or retired.')
    const nothing = summaryOf(new Release('us-east-1'), new Journal(), undefined, undefined, NOW)
    expect(nothing).toContain('Nothing was made, changed or retired')
  })

  it('escapes what it quotes: an error with HTML in it shows as text', () => {
    const journal = new Journal()
    journal.prunePlan = [{ ...decisions(1)[0]!, action: 'keep', reason: 'kept: <b>odd</b> | answer' }]
    const text = summaryOf(
      new Release('us-east-1'),
      journal,
      prunePlan(),
      'CopyImage failed: <html><body>502 Bad Gateway</body></html> & more',
      NOW
    )
    expect(text).toContain('> CopyImage failed: &lt;html&gt;&lt;body&gt;502 Bad Gateway&lt;/body&gt;&lt;/html&gt; &amp; more')
    expect(text).toContain('keep: kept: &lt;b&gt;odd&lt;/b&gt; \\| answer')
    expect(text).not.toMatch(/<html>|<b>/)
  })

  it('lists the plan with console links, dates to the minute with ages, no Group column without group-by, retirements first', () => {
    const journal = new Journal()
    journal.prunePlan = decisions(3)
    const text = summaryOf(new Release('us-east-1'), journal, prunePlan(), undefined, NOW)
    expect(text).toContain('| Region | Image | Name | Created | Decision |')
    expect(text).toContain(
      '| us-east-1 | [ami-00000000000000001](https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#ImageDetails:imageId=ami-00000000000000001) | web-0 | 2026-12-01 10:00 UTC (1 day ago) | **retire**: older than 30d and beyond the newest 3 |'
    )
    expect(text).not.toMatch(/\d\.\d{3}Z/)
    const grouped = summaryOf(new Release('us-east-1'), journal, prunePlan({ 'group-by': 'App' }), undefined, NOW)
    expect(grouped).toContain('| Region | Image | Name | Created | App | Decision |')
  })

  it('orders regions as the images table does, and folds a plan of more than 20 images', () => {
    const release = new Release('eu-west-1')
    release.add({
      region: 'eu-west-1',
      imageId: 'ami-0eeeeeeeeeeeeeeee',
      name: 'web-new',
      origin: 'built',
      state: 'available',
      snapshotIds: []
    })
    const journal = new Journal()
    journal.prunePlan = [...decisions(15, 'us-east-1'), ...decisions(15, 'eu-west-1')]
    const text = summaryOf(release, journal, prunePlan({ 'prune-regions': 'us-east-1 eu-west-1' }), undefined, NOW)
    expect(text).toContain('<details><summary>Every image of the plan (30)</summary>')
    expect(text.indexOf('| eu-west-1 | [ami-00000000000000001]')).toBeLessThan(text.indexOf('| us-east-1 | [ami-00000000000000001]'))
  })

  it('stays under 1 MiB with a 10,000-image plan, keeping every retirement and saying how many kept images it left out', () => {
    const journal = new Journal()
    journal.prunePlan = decisions(10_000)
    const text = summaryOf(new Release('us-east-1'), journal, prunePlan(), undefined, NOW)
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES)
    expect(SUMMARY_LIMIT_BYTES).toBeLessThan(1024 * 1024)
    expect(text.match(/\*\*retire\*\*/g)).toHaveLength(1000)
    const left = Number(/(\d+) more kept images are not shown/.exec(text)?.[1])
    expect(left).toBeGreaterThan(0)
    expect(text.match(/\| keep: /g)!.length + left).toBe(9000)
  })
})
