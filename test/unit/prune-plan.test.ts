import { describe, expect, it } from '@jest/globals'
import { isProtected, type ImageInfo } from '../../src/aws/images.ts'
import type { PrunePlan } from '../../src/inputs/index.ts'
import { planRegion } from '../../src/modes/prune/plan.ts'

const NOW = Date.parse('2026-11-24T12:00:00Z')
const DAY = 86_400_000

function image(id: string, daysOld: number, extra: Partial<ImageInfo> = {}): ImageInfo {
  return {
    imageId: id,
    name: `web-${id}`,
    description: '',
    state: 'available',
    snapshotIds: [],
    tags: new Map(),
    creationDate: new Date(NOW - daysOld * DAY).toISOString(),
    encrypted: false,
    protected: false,
    ...extra
  }
}

const rules = (extra: Partial<PrunePlan> = {}): PrunePlan => ({
  regions: ['us-east-1'],
  tags: new Map(),
  keep: 2,
  olderThanMs: 0,
  deleteSnapshots: true,
  maxDeletions: 100,
  snapshotPrice: new Map([['us-east-1', 0.05]]),
  retire: 'deregister',
  onlyDisabled: false,
  ...extra
})

function plan(images: ImageInfo[], extra: Partial<PrunePlan> = {}, thisStep: string[] = []) {
  return Object.fromEntries(
    planRegion('us-east-1', images, { rules: rules(extra), now: NOW, thisStep: new Set(thisStep) }).map((d) => [
      d.imageId,
      `${d.action}: ${d.reason}`
    ])
  )
}

describe('the prune plan', () => {
  it('keeps the newest images whatever their age and retires the rest', () => {
    expect(plan([image('a', 90), image('b', 60), image('c', 30)])).toEqual({
      c: 'keep: newest 2',
      b: 'keep: newest 2',
      a: 'retire: older than 0s and beyond the newest 2'
    })
  })

  it('keeps the newest of each group-by group separately', () => {
    const web = (id: string, days: number) => image(id, days, { tags: new Map([['App', 'web']]) })
    const api = (id: string, days: number) => image(id, days, { tags: new Map([['App', 'api']]) })
    const decisions = plan([web('w1', 50), web('w2', 40), web('w3', 30), api('a1', 45), api('a2', 35), image('untagged', 99)], {
      groupBy: 'App',
      keep: 1
    })
    expect(decisions).toEqual({
      w3: 'keep: newest 1 of App=web',
      w2: expect.stringMatching(/^retire/),
      w1: expect.stringMatching(/^retire/),
      a2: 'keep: newest 1 of App=api',
      a1: expect.stringMatching(/^retire/),
      untagged: 'keep: newest 1 of App=(no tag)'
    })
  })

  it('keeps images younger than older-than', () => {
    expect(plan([image('a', 40), image('b', 20), image('c', 10), image('d', 5)], { keep: 1, olderThanMs: 30 * DAY })).toEqual({
      d: 'keep: newest 1',
      c: 'keep: younger than 30d (10d old)',
      b: 'keep: younger than 30d (20d old)',
      a: 'retire: older than 30d and beyond the newest 1'
    })
  })

  it('leaves a failed image to the deregister stage: disabling or deprecating it would only fail the stage', () => {
    const images = [image('a', 1), image('b', 2), image('c', 40, { state: 'failed' })]
    expect(plan(images, { retire: 'disable' }).c).toBe(
      'keep: failed: it launches nothing, so there is nothing to disable; a retire: deregister step without only-disabled removes it'
    )
    expect(plan(images, { retire: 'deprecate' }).c).toMatch(/^keep: failed: .*nothing to deprecate/)
    expect(plan(images, { retire: 'deregister' }).c).toMatch(/^retire: /)
  })

  it('never retires an image with deregistration protection', () => {
    expect(plan([image('a', 90, { protected: true }), image('b', 1)], { keep: 1 })).toMatchObject({
      a: 'keep: deregistration protection is on'
    })
  })

  it('counts a protected image among the newest toward keep, and keeps an older protected one as an extra', () => {
    expect(
      plan([image('a', 90, { protected: true }), image('b', 60), image('c', 30, { protected: true }), image('d', 10)], { keep: 2 })
    ).toEqual({
      d: 'keep: newest 2',
      c: 'keep: newest 2',
      b: 'retire: older than 0s and beyond the newest 2',
      a: 'keep: deregistration protection is on'
    })
  })

  it('never retires an image made or given in this step, which counts among the newest', () => {
    expect(plan([image('old', 90), image('new', 0)], { keep: 0 }, ['new', 'old'])).toEqual({
      new: 'keep: made or given in this step',
      old: 'keep: made or given in this step'
    })
    expect(plan([image('a', 90), image('b', 60), image('new', 0)], { keep: 2 }, ['new'])).toMatchObject({
      new: 'keep: made or given in this step',
      b: 'keep: newest 2',
      a: expect.stringMatching(/^retire/)
    })
  })

  it('orders images of the same age by id, whatever order EC2 lists them in', () => {
    const same = [image('b', 10), image('a', 10), image('c', 10)]
    expect(plan(same, { keep: 1 })).toEqual(plan([...same].reverse(), { keep: 1 }))
    expect(plan(same, { keep: 1 }).a).toBe('keep: newest 1')
  })

  it('keeps an image whose creation date cannot be read', () => {
    expect(plan([image('a', 1), image('b', 1, { creationDate: 'soon' })], { keep: 0 }).b).toBe("keep: creation date 'soon' unreadable")
  })
})

describe('keep counts launchable images only', () => {
  it('gives no place among the newest to a disabled, failed or pending image, and never retires a pending one', () => {
    const decided = plan([
      image('new-disabled', 1, { state: 'disabled' }),
      image('new-failed', 2, { state: 'failed' }),
      image('new-pending', 3, { state: 'pending' }),
      image('a', 10),
      image('b', 20),
      image('c', 30)
    ])
    expect(decided).toEqual({
      'new-disabled': expect.stringMatching(/^retire: disabled \(takes no place among the newest\)/),
      'new-failed': expect.stringMatching(/^retire: failed/),
      'new-pending': 'keep: pending: still being made',
      a: 'keep: newest 2',
      b: 'keep: newest 2',
      c: expect.stringMatching(/^retire: older than/)
    })
  })
})

describe('deregistration protection', () => {
  it.each([
    ['enabled', true],
    ['enabled-without-cooldown', true],
    ['enabled-with-cooldown', true],
    // After protection with cooldown is turned off, EC2 refuses DeregisterImage until the cooldown ends.
    ['disabled-until-2026-11-25T10:00:00Z', true],
    ['disabled', false],
    [undefined, false]
  ])('reads %p as protected: %p', (value, expected) => {
    expect(isProtected(value)).toBe(expected)
  })

  describe('staged retirement', () => {
    const iso = (daysAgo: number) => new Date(NOW - daysAgo * DAY).toISOString()

    it('leaves an image already disabled alone when retire is disable, and counts only launchable images as kept', () => {
      const decisions = plan([image('a', 90, { state: 'disabled' }), image('b', 60), image('c', 30), image('d', 10)], { retire: 'disable' })
      expect(decisions).toEqual({
        d: 'keep: newest 2',
        c: 'keep: newest 2',
        b: 'retire: older than 0s and beyond the newest 2',
        a: 'keep: already disabled'
      })
    })

    it('leaves an image already deprecated (or disabled) alone when retire is deprecate, but deprecates one whose deprecation is still ahead', () => {
      const decisions = plan(
        [
          image('a', 90, { deprecationTime: iso(5) }),
          image('b', 80, { state: 'disabled' }),
          image('c', 70, { deprecationTime: iso(-30) }),
          image('d', 20),
          image('e', 10)
        ],
        { retire: 'deprecate' }
      )
      expect(decisions).toMatchObject({
        a: expect.stringMatching(/^keep: already deprecated/),
        b: 'keep: already disabled',
        c: 'retire: older than 0s and beyond the newest 2'
      })
    })

    it('measures older-than from when prune disabled an image, not from its creation, when deregistering', () => {
      const disabled = (id: string, created: number, disabledDaysAgo?: number) =>
        image(id, created, {
          state: 'disabled',
          ...(disabledDaysAgo !== undefined && { tags: new Map([['ami-pipeline:disabled-at', iso(disabledDaysAgo)]]) })
        })
      const decisions = plan([disabled('a', 400, 40), disabled('b', 400, 5), disabled('c', 100), image('d', 20), image('e', 10)], {
        olderThanMs: 30 * DAY
      })
      expect(decisions).toMatchObject({
        a: 'retire: disabled (takes no place among the newest), disabled longer than 30d and beyond the newest 2',
        b: 'keep: disabled less than 30d (5d since disabled)',
        // Disabled by someone else: no record of when, so its creation counts, as for any image.
        c: 'retire: disabled (takes no place among the newest), older than 30d and beyond the newest 2'
      })
    })

    it('with only-disabled, deregisters only what has been disabled long enough and keeps every image that is not disabled', () => {
      const tagged = (daysAgo: number) => new Map([['ami-pipeline:disabled-at', iso(daysAgo)]])
      const decisions = plan(
        [
          image('a', 400, { state: 'disabled', tags: tagged(40) }),
          image('b', 400, { state: 'disabled', tags: tagged(5) }),
          // Kept by the disable stage (shared, or launched lately): never disabled, so never deregistered here.
          image('c', 300),
          // Disabled by hand (a quarantine): not prune's.
          image('q', 500, { state: 'disabled' }),
          image('d', 20),
          image('e', 10)
        ],
        { olderThanMs: 30 * DAY, onlyDisabled: true }
      )
      expect(decisions).toEqual({
        e: 'keep: newest 2',
        d: 'keep: newest 2',
        c: 'keep: available, not disabled (only-disabled)',
        q: 'keep: disabled, but not by prune (no valid ami-pipeline:disabled-at tag): only-disabled retires only what prune disabled',
        b: 'keep: disabled less than 30d (5d since disabled)',
        a: 'retire: disabled (takes no place among the newest), disabled longer than 30d and beyond the newest 2'
      })
    })

    it('counts a disabled image from its last launch when EC2 reports one after its disabled-at tag (it was enabled again since)', () => {
      const decisions = plan(
        [
          // Tagged 60 days ago, enabled for a rollback, launched 10 days ago, disabled again by hand.
          image('a', 400, { state: 'disabled', tags: new Map([['ami-pipeline:disabled-at', iso(60)]]), lastLaunchedTime: iso(10) }),
          // Disabled by other means after a launch 50 days ago: its launch is the latest it can have been disabled from.
          image('b', 400, { state: 'disabled', lastLaunchedTime: iso(50) }),
          image('d', 20),
          image('e', 10)
        ],
        { olderThanMs: 30 * DAY }
      )
      expect(decisions).toMatchObject({
        a: 'keep: disabled less than 30d: it launched an instance 9d ago, counting the day EC2 may report a launch late',
        b: 'retire: disabled (takes no place among the newest), disabled longer than 30d and beyond the newest 2'
      })
    })

    it('keeps an image that launched an instance within unused-for, and counts a never-launched one from its creation', () => {
      const decisions = plan(
        [
          image('a', 200, { lastLaunchedTime: iso(10) }),
          image('b', 200, { lastLaunchedTime: iso(120) }),
          image('c', 60),
          image('d', 120),
          image('g', 200, { lastLaunchedTime: iso(90.5) }),
          image('e', 5),
          image('f', 4)
        ],
        { unusedForMs: 90 * DAY }
      )
      expect(decisions).toMatchObject({
        a: 'keep: launched an instance 10d ago, within unused-for 90d and the day EC2 may report a launch late',
        b: 'retire: older than 0s, unused for over 90d and beyond the newest 2',
        c: 'keep: created (never launched an instance) 60d ago, within unused-for 90d and the day EC2 may report a launch late',
        d: 'retire: older than 0s, unused for over 90d and beyond the newest 2',
        // A launch EC2 has not reported yet may be up to a day newer.
        g: expect.stringMatching(/^keep: launched an instance 90d12h ago, within unused-for 90d/)
      })
    })
  })
})
