import { describe, expect, it } from '@jest/globals'
import { Journal } from '../../src/journal.ts'
import { Release } from '../../src/release.ts'
import { consoleLink, outputsOf, summaryOf } from '../../src/report.ts'

function release(): Release {
  const r = new Release('us-east-1')
  r.add({ region: 'eu-west-1', imageId: 'ami-0fedcba9876543210', name: 'web-1', origin: 'copied', state: 'pending', snapshotIds: [] })
  r.add({
    region: 'us-east-1',
    imageId: 'ami-0123456789abcdef0',
    name: 'web-1',
    origin: 'built',
    state: 'available',
    snapshotIds: ['snap-01111111111111111']
  })
  return r
}

describe('outputs', () => {
  it('lists the source image and every copy, region by region', () => {
    expect(outputsOf(release(), new Journal())).toEqual({
      'account-image-ids': '{}',
      savings: '{"gib":0,"usd-per-month":0,"regions":{}}',
      'image-id': 'ami-0123456789abcdef0',
      'image-name': 'web-1',
      'image-ids': '{"us-east-1":"ami-0123456789abcdef0","eu-west-1":"ami-0fedcba9876543210"}',
      'snapshot-ids': '{"us-east-1":["snap-01111111111111111"],"eu-west-1":[]}',
      'pruned-image-ids': '{}',
      'pruned-snapshot-ids': '{}',
      'launch-template-versions': '{}'
    })
  })

  it('reports pruned images and snapshots per region', () => {
    const r = new Release('us-east-1')
    const journal = new Journal()
    journal.record('retired', 'us-west-2', { imageIds: ['ami-0aaaaaaaaaaaaaaaa'], snapshotIds: ['snap-0aaaaaaaaaaaaaaaa'] })
    expect(outputsOf(r, journal)['pruned-image-ids']).toBe('{"us-west-2":["ami-0aaaaaaaaaaaaaaaa"]}')
    expect(outputsOf(r, journal)['pruned-snapshot-ids']).toBe('{"us-west-2":["snap-0aaaaaaaaaaaaaaaa"]}')
  })
})

describe('summary', () => {
  it('shows a row per region with the image, a console link, its state and snapshots', () => {
    const text = summaryOf(release(), new Journal(), undefined, undefined)
    expect(text).toContain(
      '| us-east-1 | [ami-0123456789abcdef0](https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#ImageDetails:imageId=ami-0123456789abcdef0) | web-1 | available | built | snap-01111111111111111 |'
    )
    expect(text.indexOf('us-east-1 |')).toBeLessThan(text.indexOf('eu-west-1 |'))
  })

  it('leads with the failure when the step failed', () => {
    expect(summaryOf(release(), new Journal(), undefined, 'Timed out')).toMatch(/> \[!CAUTION\]\n> Timed out/)
  })

  it('links to the console of the region’s partition', () => {
    expect(consoleLink('cn-north-1', 'ami-1')).toMatch(/^https:\/\/console\.amazonaws\.cn\//)
    expect(consoleLink('us-gov-west-1', 'ami-1')).toMatch(/^https:\/\/console\.amazonaws-us-gov\.com\//)
    expect(consoleLink('eusc-de-east-1', 'ami-1')).toBe(
      'https://eusc-de-east-1.console.amazonaws-eusc.eu/ec2/home?region=eusc-de-east-1#ImageDetails:imageId=ami-1'
    )
    // The ISO partitions' consoles are not on the public internet: no link at all.
    expect(consoleLink('us-iso-east-1', 'ami-1')).toBeUndefined()
    expect(consoleLink('us-isob-east-1', 'ami-1')).toBeUndefined()
    expect(consoleLink('eu-isoe-west-1', 'ami-1')).toBeUndefined()
  })
})

describe('the savings output', () => {
  it('counts only the snapshots that were deleted, not every one the plan meant to delete', () => {
    const journal = new Journal()
    const GIB = 2 ** 30
    journal.prunePlan = [
      {
        region: 'us-east-1',
        imageId: 'ami-0000000000000000a',
        name: 'web-1',
        creationDate: '2026-10-01T00:00:00.000Z',
        group: '',
        action: 'retire',
        reason: 'older than 30d',
        frees: {
          snapshotIds: ['snap-a', 'snap-b'],
          bytes: 12 * GIB,
          unknown: [],
          usdPerMonth: 0.6,
          sizes: [
            { snapshotId: 'snap-a', bytes: 8 * GIB, usd: 0.4, archived: false },
            { snapshotId: 'snap-b', bytes: 4 * GIB, usd: 0.2, archived: false }
          ]
        }
      }
    ]
    // snap-b's deletion failed: it is still stored, and billed.
    journal.record('retired', 'us-east-1', { imageIds: ['ami-0000000000000000a'], snapshotIds: ['snap-a'] })
    expect(JSON.parse(outputsOf(release(), journal).savings)).toEqual({
      gib: 8,
      'usd-per-month': 0.4,
      regions: { 'us-east-1': { gib: 8, 'usd-per-month': 0.4 } }
    })
  })
})
