// Images shared with other accounts: prune and if-exists: replace keep one that another account uses,
// as an AMI usage report shows it (instances, launch template versions), or that launched an
// instance in the window a report may miss; and they fail closed where a report cannot be made or
// read. Other accounts are the double's data (Front.otherAccount); the images live in moto.
import { describe, expect, it } from '@jest/globals'
import { ownImages } from '../support/ec2-env.ts'
import { seedImage, shareImage, type Seeded } from '../support/seed.ts'
import { runAgainst } from '../support/step.ts'
import { launchBuilder, useWorld } from '../support/world.ts'
import type { VirtualClock } from '../../tools/ec2-double/clock.ts'

const world = useWorld({}, { virtual: true })
const REGION = 'us-east-1'
const HOUR = 3_600_000
const B = '111111111111'
const C = '222222222222'
const PRUNE = { mode: 'prune', 'prune-tags': 'App=web', keep: '1', 'max-deletions': '10' } as const

const clock = (): VirtualClock => world.front.clock as VirtualClock

/** Releases 60, 50, 40, … days old: keep: 1 keeps the newest; the rest are candidates. */
async function seed(count: number): Promise<Seeded[]> {
  const builder = await launchBuilder(world.moto.endpoint)
  const images: Seeded[] = []
  for (let i = 0; i < count; i++) images.push(await seedImage(world.front, REGION, builder, `web-${i}`, 60 - i * 10, { App: 'web' }))
  return images
}

const share = (image: Seeded, account: string): Promise<void> => shareImage(world.front, image, account)

const reasonOf = (step: { journal: { prunePlan: { imageId: string; reason: string }[] } }, image: Seeded) =>
  step.journal.prunePlan.find((d) => d.imageId === image.imageId)?.reason
const warnings = (step: { log: { lines: { level: string; message: string }[] } }) =>
  step.log.lines.filter((line) => line.level === 'warning').map((line) => line.message)
const calls = (action: string) => world.front.calls.filter((call) => call.action === action)

describe('an image shared with other accounts', () => {
  it('is kept while another account runs an instance of it or names it in a launch template; an unused one is retired', async () => {
    const images = await seed(5)
    for (const image of images.slice(0, 4)) await share(image, images.indexOf(image) === 1 ? C : B)
    await world.front.otherAccount(B, REGION).launch(images[0]!.imageId)
    world.front.otherAccount(C, REGION).templateVersion(images[1]!.imageId)
    // Past the day a report may miss of instances and the week the double leaves out of launch templates.
    clock().advance(8 * 24 * HOUR)
    const { step, failure } = await runAgainst(world.front, PRUNE)
    expect(failure).toBeUndefined()
    expect(reasonOf(step, images[0]!)).toBe(`in use by account ${B}: 1 instance`)
    expect(reasonOf(step, images[1]!)).toBe(`in use by account ${C}: 1 launch template`)
    expect(step.journal.retired.get(REGION)?.imageIds.sort()).toEqual([images[2]!.imageId, images[3]!.imageId].sort())
    // One report per shared candidate, none for the unshared; all deleted once read.
    expect(
      calls('CreateImageUsageReport')
        .map((call) => call.params.ImageId)
        .sort()
    ).toEqual(
      images
        .slice(0, 3)
        .map((image) => image.imageId)
        .concat(images[3]!.imageId)
        .sort()
    )
    expect(calls('DeleteImageUsageReport')).toHaveLength(4)
    expect(world.front.state.usageReports.size).toBe(0)
    expect(warnings(step)).toEqual([])
  })

  it('is kept when it launched an instance in the two days a report and LastLaunchedTime may not show yet', async () => {
    const images = await seed(3)
    await share(images[0]!, B)
    const b = world.front.otherAccount(B, REGION)
    const instance = await b.launch(images[0]!.imageId)
    clock().advance(40 * HOUR)
    // Gone by the time of the report: only LastLaunchedTime still tells of it.
    b.terminate(instance)
    const { step, failure } = await runAgainst(world.front, PRUNE)
    expect(failure).toBeUndefined()
    expect(reasonOf(step, images[0]!)).toMatch(/^shared, and it launched an instance 1d16h ago: a usage report may miss the last day/)
    expect(step.journal.retired.get(REGION)?.imageIds).toEqual([images[1]!.imageId])
  })

  it('is kept, with one warning naming the permissions, when usage reports cannot be made; unshared images still go', async () => {
    const images = await seed(6)
    for (const image of images.slice(0, 4)) await share(image, B)
    world.front.configure({ faults: [{ actions: ['CreateImageUsageReport'], denied: true }] })
    const { step, failure } = await runAgainst(world.front, PRUNE)
    expect(failure).toBeUndefined()
    const reason =
      'not checked for use by other accounts: allow ec2:CreateImageUsageReport, ec2:DescribeImageUsageReports, ec2:DescribeImageUsageReportEntries and ec2:DeleteImageUsageReport'
    expect(reasonOf(step, images[0]!)).toBe(reason)
    expect(reasonOf(step, images[3]!)).toBe(reason)
    expect(step.journal.retired.get(REGION)?.imageIds).toEqual([images[4]!.imageId])
    expect(warnings(step)).toEqual([
      expect.stringMatching(/^AMI usage reports could not be made in us-east-1 .*Allow ec2:CreateImageUsageReport/)
    ])
    // Three refusals in a row, none made, stop the rest: not one call per image.
    expect(calls('CreateImageUsageReport')).toHaveLength(3)
  })

  it('is kept when its report ends in error or is still pending when the step stops waiting', async () => {
    const images = await seed(4)
    for (const image of images.slice(0, 3)) await share(image, B)
    world.front.configure({
      usageReportError: (imageId) => (imageId === images[0]!.imageId ? 'Internal error' : undefined),
      usageReportMs: 3 * HOUR
    })
    const { step, failure } = await runAgainst(world.front, PRUNE)
    expect(failure).toBeUndefined()
    expect(reasonOf(step, images[0]!)).toMatch(/^its AMI usage report amiur-\w+ was still pending when the step stopped waiting$/)
    expect(step.journal.retired.size).toBe(0)
    world.front.configure({ usageReportMs: 60_000 })
    const again = await runAgainst(world.front, PRUNE)
    expect(reasonOf(again.step, images[0]!)).toMatch(/^its AMI usage report amiur-\w+ ended in error \(Internal error\)$/)
    expect(again.step.journal.retired.get(REGION)?.imageIds.sort()).toEqual([images[1]!.imageId, images[2]!.imageId].sort())
    expect(warnings(again.step)).toEqual([expect.stringMatching(/ is kept: its AMI usage report .* ended in error/)])
    expect(world.front.state.usageReports.size).toBe(0)
  })

  it('is planned the same by a dry run, which makes and deletes the reports but retires nothing', async () => {
    const images = await seed(4)
    await share(images[0]!, B)
    await share(images[1]!, B)
    await world.front.otherAccount(B, REGION).launch(images[0]!.imageId)
    clock().advance(3 * 24 * HOUR)
    const dry = await runAgainst(world.front, { ...PRUNE, 'dry-run': 'true' })
    expect(dry.failure).toBeUndefined()
    expect(world.front.state.usageReports.size).toBe(0)
    expect((await ownImages(world.moto.endpoint, REGION)).length).toBe(4)
    const real = await runAgainst(world.front, PRUNE)
    const plan = (step: typeof dry.step) => step.journal.prunePlan.map((d) => [d.imageId, d.action, d.reason])
    expect(plan(real.step)).toEqual(plan(dry.step))
    expect(reasonOf(real.step, images[0]!)).toBe(`in use by account ${B}: 1 instance`)
  })

  it('is never disabled, and a disable stage asks no usage report', async () => {
    const images = await seed(3)
    await share(images[0]!, B)
    const { step, failure } = await runAgainst(world.front, { ...PRUNE, retire: 'disable' })
    expect(failure).toBeUndefined()
    expect(reasonOf(step, images[0]!)).toMatch(new RegExp(`^shared with ${B}: DisableImage would remove those launch permissions`))
    expect(step.journal.retired.get(REGION)?.imageIds).toEqual([images[1]!.imageId])
    expect(calls('CreateImageUsageReport')).toHaveLength(0)
  })

  it('refuses if-exists: replace while another account uses it, naming the account, with nothing changed', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    const old = await seedImage(world.front, REGION, builder, 'web-2.0.0', 5, { App: 'web' })
    await share(old, B)
    await world.front.otherAccount(B, REGION).launch(old.imageId)
    clock().advance(3 * 24 * HOUR)
    const { failure } = await runAgainst(world.front, { mode: 'build', 'instance-id': builder, name: 'web-2.0.0', 'if-exists': 'replace' })
    expect(String(failure)).toMatch(new RegExp(`${old.imageId} in us-east-1 is in use by account ${B}: 1 instance\\. Nothing was changed`))
    expect((await ownImages(world.moto.endpoint, REGION)).map((image) => image.ImageId)).toEqual([old.imageId])
    expect(world.front.state.usageReports.size).toBe(0)
  })

  it('deletes the report a lost reply left, and judges a report EC2 lists only a moment after making it', async () => {
    const images = await seed(4)
    for (const image of images.slice(0, 3)) await share(image, B)
    await world.front.otherAccount(B, REGION).launch(images[1]!.imageId)
    clock().advance(3 * 24 * HOUR)
    world.front.configure({
      usageReportInvisibleMs: 8000,
      faults: [{ actions: ['CreateImageUsageReport'], lostReplyFirst: 1000 }]
    })
    const { step, failure } = await runAgainst(world.front, PRUNE)
    expect(failure).toBeUndefined()
    // Every reply lost (EC2 made the report each time): kept, and the report found and deleted.
    const lost = calls('CreateImageUsageReport').filter((call) => call.status >= 500)
    expect(lost.length).toBeGreaterThan(0)
    const imageOfLost = lost[0]!.params.ImageId
    expect(
      reasonOf(
        step,
        images.find((image) => image.imageId === imageOfLost)!
      )
    ).toMatch(/^its AMI usage report could not be made: /)
    expect(world.front.state.usageReports.size).toBe(0)
    world.front.configure({ usageReportInvisibleMs: 8000, faults: [] })
    const again = await runAgainst(world.front, PRUNE)
    expect(reasonOf(again.step, images[1]!)).toBe(`in use by account ${B}: 1 instance`)
    expect(again.step.journal.retired.get(REGION)?.imageIds.sort()).toEqual([images[0]!.imageId, images[2]!.imageId].sort())
    expect(world.front.state.usageReports.size).toBe(0)
  })
})
