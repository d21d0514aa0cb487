// The double's other accounts and AMI usage reports, pinned against the EC2 User Guide ("View your
// AMI usage") and the API Reference, since prune's safety across accounts trusts them. A raw SDK
// client with one attempt; the front on a virtual clock.
import { afterAll, describe, expect, it } from '@jest/globals'
import {
  CreateImageUsageReportCommand,
  DeleteImageUsageReportCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeImageUsageReportEntriesCommand,
  DescribeImageUsageReportsCommand,
  ModifyImageAttributeCommand,
  type CreateImageUsageReportCommandInput,
  type EC2Client
} from '@aws-sdk/client-ec2'
import { inspector, launchBuilder } from '../support/ec2-env.ts'
import { seedImage } from '../support/seed.ts'
import { virtualClock } from '../../tools/ec2-double/index.ts'
import { useWorld } from '../support/world.ts'

const clock = virtualClock()
const world = useWorld({ clock })
const REGION = 'us-east-1'
const HOUR = 3_600_000
const DAY = 24 * HOUR
const B = '111111111111'
let ec2: EC2Client | undefined
const client = (): EC2Client => (ec2 ??= inspector(world.front.endpoint, REGION))
afterAll(() => ec2?.destroy())

let made = 0
async function sharedImage(with_: string[] = [B]): Promise<string> {
  const builder = await launchBuilder(world.moto.endpoint)
  const { imageId } = await seedImage(world.front, REGION, builder, `web-${++made}`, 30)
  if (with_.length > 0)
    await client().send(
      new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: with_.map((UserId) => ({ UserId })) } })
    )
  return imageId
}

const REPORT = (ImageId: string, extra: Partial<CreateImageUsageReportCommandInput> = {}): CreateImageUsageReportCommandInput => ({
  ImageId,
  ResourceTypes: [
    { ResourceType: 'ec2:Instance' },
    { ResourceType: 'ec2:LaunchTemplate', ResourceTypeOptions: [{ OptionName: 'version-depth', OptionValues: ['10000'] }] }
  ],
  ...extra
})

async function report(imageId: string, extra: Partial<CreateImageUsageReportCommandInput> = {}): Promise<string> {
  return (await client().send(new CreateImageUsageReportCommand(REPORT(imageId, extra)))).ReportId!
}
const stateOf = async (reportId: string) =>
  (await client().send(new DescribeImageUsageReportsCommand({ ReportIds: [reportId] }))).ImageUsageReports?.[0]?.State
const entriesOf = async (reportId: string) =>
  ((await client().send(new DescribeImageUsageReportEntriesCommand({ ReportIds: [reportId] }))).ImageUsageReportEntries ?? []).map((e) => [
    e.AccountId,
    e.ResourceType,
    e.UsageCount
  ])
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'succeeded',
    (error: { name?: string }) => error.name
  )

describe('other accounts', () => {
  it('launch only images shared with them, and the launch shows in LastLaunchedTime a day later', async () => {
    const imageId = await sharedImage([])
    const b = world.front.otherAccount(B, REGION)
    await expect(b.launch(imageId)).rejects.toThrow(/no launch permission/)
    await client().send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ Group: 'all' }] } }))
    await b.launch(imageId)
    const launched = async () =>
      (await client().send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'lastLaunchedTime' }))).LastLaunchedTime?.Value
    expect(await launched()).toBeUndefined()
    const at = clock.now()
    clock.advance(DAY)
    expect(await launched()).toBe(new Date(at).toISOString())
    const listed = (await client().send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0]
    expect(listed?.LastLaunchedTime).toBe(new Date(at).toISOString())
  })
})

describe('AMI usage reports', () => {
  it('are pending, then show per account the instances and launch templates, less the last day and week', async () => {
    const imageId = await sharedImage()
    const b = world.front.otherAccount(B, REGION)
    await b.launch(imageId)
    b.templateVersion(imageId)
    clock.advance(8 * DAY)
    await b.launch(imageId)
    b.templateVersion(imageId)
    const reportId = await report(imageId)
    expect(await stateOf(reportId)).toBe('pending')
    expect(await entriesOf(reportId)).toEqual([])
    clock.advance(5 * 60_000)
    expect(await stateOf(reportId)).toBe('available')
    // The newer instance and template are in the blind window.
    expect(await entriesOf(reportId)).toEqual([
      [B, 'ec2:Instance', 1],
      [B, 'ec2:LaunchTemplate', 1]
    ])
  })

  it('count a launch template once however many versions name the image, and only within version-depth', async () => {
    const imageId = await sharedImage()
    const other = await sharedImage()
    const b = world.front.otherAccount(B, REGION)
    const { templateId } = b.templateVersion(imageId)
    b.templateVersion(imageId, templateId)
    for (let i = 0; i < 20; i++) b.templateVersion(other, templateId)
    clock.advance(8 * DAY)
    const deep = await report(imageId)
    const shallow = await report(other)
    clock.advance(5 * 60_000)
    expect(await entriesOf(deep)).toEqual([[B, 'ec2:LaunchTemplate', 1]])
    expect(await entriesOf(shallow)).toEqual([[B, 'ec2:LaunchTemplate', 1]])
    await client().send(new DeleteImageUsageReportCommand({ ReportId: deep }))
    // Default depth 20: the two versions that name the first image are beyond the newest 20.
    const defaultDepth = await report(imageId, { ResourceTypes: [{ ResourceType: 'ec2:LaunchTemplate' }] })
    clock.advance(5 * 60_000)
    expect(await entriesOf(defaultDepth)).toEqual([])
  })

  it('refuse what the API Reference does not accept, before DryRun', async () => {
    const imageId = await sharedImage()
    const send = (input: CreateImageUsageReportCommandInput) => codeOf(client().send(new CreateImageUsageReportCommand(input)))
    expect(await send(REPORT(imageId, { ResourceTypes: [{ ResourceType: 'ssm:Parameter' }], DryRun: true }))).toBe('InvalidParameterValue')
    expect(
      await send(
        REPORT(imageId, {
          ResourceTypes: [{ ResourceType: 'ec2:Instance', ResourceTypeOptions: [{ OptionName: 'version-depth', OptionValues: ['5'] }] }]
        })
      )
    ).toBe('InvalidParameterValue')
    expect(
      await send(
        REPORT(imageId, {
          ResourceTypes: [
            { ResourceType: 'ec2:LaunchTemplate', ResourceTypeOptions: [{ OptionName: 'version-depth', OptionValues: ['10001'] }] }
          ]
        })
      )
    ).toBe('InvalidParameterValue')
    expect(await send(REPORT(imageId, { ResourceTypes: [] }))).toBe('MissingParameter')
    expect(await send(REPORT('ami-0123456789abcdef0'))).toBe('InvalidAMIID.NotFound')
    expect(await send(REPORT(imageId, { DryRun: true }))).toBe('DryRunOperation')
    expect(world.front.state.usageReports.size).toBe(0)
  })

  it('keep one pending report per image, answer a retry with the same client token with the same report, and delete only known ones', async () => {
    const imageId = await sharedImage()
    const first = await report(imageId, { ClientToken: 'token-1' })
    expect(await report(imageId, { ClientToken: 'token-1' })).toBe(first)
    expect(await codeOf(report(imageId, { ClientToken: 'token-1', AccountIds: [B] }))).toBe('IdempotentParameterMismatch')
    expect(await codeOf(report(imageId))).toBe('ResourceLimitExceeded')
    clock.advance(5 * 60_000)
    const second = await report(imageId)
    expect(second).not.toBe(first)
    await client().send(new DeleteImageUsageReportCommand({ ReportId: first }))
    expect(await codeOf(client().send(new DeleteImageUsageReportCommand({ ReportId: first })))).toBe('InvalidImageUsageReportId.NotFound')
    expect(await stateOf(second)).toBe('pending')
    // Ids are never reused, as EC2's are not: a report made after a deletion does not take a live one's.
    clock.advance(5 * 60_000)
    const third = await report(imageId)
    expect([first, second]).not.toContain(third)
    expect(await stateOf(second)).toBe('available')
  })

  it('end in error with the reason given, showing no entries, and are gone after 30 days', async () => {
    const imageId = await sharedImage()
    world.front.configure({ usageReportError: () => 'Internal error' })
    const reportId = await report(imageId)
    clock.advance(5 * 60_000)
    const described = (await client().send(new DescribeImageUsageReportsCommand({ ReportIds: [reportId] }))).ImageUsageReports?.[0]
    expect([described?.State, described?.StateReason]).toEqual(['error', 'Internal error'])
    expect(await entriesOf(reportId)).toEqual([])
    clock.advance(30 * DAY)
    expect(await stateOf(reportId)).toBeUndefined()
  })
})
