// Recycle Bin through the front — retention rules as data, the rbin API (ListRules, GetRule,
// CreateRule) and what the rules do to DeregisterImage and DeleteSnapshot — pinned against the
// Recycle Bin API Reference, the EC2 API Reference (ListImagesInRecycleBin,
// ListSnapshotsInRecycleBin) and the EBS User Guide ("Recycle Bin"), since prune's "undo" trusts
// them. Real SDK clients with one attempt; the front on a virtual clock.
import { afterAll, describe, expect, it } from '@jest/globals'
import {
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  ListImagesInRecycleBinCommand,
  ListSnapshotsInRecycleBinCommand,
  type EC2Client
} from '@aws-sdk/client-ec2'
import { CreateRuleCommand, GetRuleCommand, ListRulesCommand, RbinClient } from '@aws-sdk/client-rbin'
import { inspector, launchBuilder, snapshotIdsOf } from '../support/ec2-env.ts'
import { seedImage } from '../support/seed.ts'
import { virtualClock } from '../../tools/ec2-double/index.ts'
import { useWorld } from '../support/world.ts'

const clock = virtualClock()
const world = useWorld({ clock })
const A = '123456789012'
const REGION = 'us-east-1'
const OTHER = 'eu-west-1'
const DAY = 86_400_000
const clients: { destroy(): void }[] = []
afterAll(() => {
  for (const c of clients) c.destroy()
})
let ec2Client: EC2Client | undefined
const ec2 = (): EC2Client => {
  if (!ec2Client) clients.push((ec2Client = inspector(world.front.endpoint, REGION)))
  return ec2Client
}
function rbin(region = REGION): RbinClient {
  const client = new RbinClient({
    region,
    endpoint: world.front.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1
  })
  clients.push(client)
  return client
}

/** A Recycle Bin request as it goes on the wire (the front checks no signature), for what the SDK would not show. */
async function raw(
  method: string,
  path: string,
  body?: unknown
): Promise<{ status: number; json: Record<string, unknown>; code: string | null }> {
  const response = await fetch(`${world.front.endpoint}${path}`, {
    method,
    headers: {
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${REGION}/rbin/aws4_request, SignedHeaders=host, Signature=0`,
      ...(body !== undefined && { 'content-type': 'application/json' })
    },
    ...(body !== undefined && { body: JSON.stringify(body) })
  })
  return {
    status: response.status,
    json: (await response.json()) as Record<string, unknown>,
    code: response.headers.get('x-amzn-errortype')
  }
}

let made = 0
/** An available image of account A, tagged (image and snapshots alike), and its snapshots. */
async function image(tags: Record<string, string> = {}): Promise<{ imageId: string; snapshots: string[] }> {
  const builder = await launchBuilder(world.moto.endpoint)
  const { imageId } = await seedImage(world.front, REGION, builder, `binned-${++made}`, 10, tags)
  const found = (await ec2().send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!
  return { imageId, snapshots: snapshotIdsOf(found) }
}

const binnedImages = async (): Promise<string[]> =>
  ((await ec2().send(new ListImagesInRecycleBinCommand({}))).Images ?? []).map((i) => i.ImageId!)
const binnedSnapshots = async (): Promise<string[]> =>
  ((await ec2().send(new ListSnapshotsInRecycleBinCommand({}))).Snapshots ?? []).map((s) => s.SnapshotId!)

describe('the test front: Recycle Bin rules', () => {
  it('lists the rules of a resource type a page at a time, each summary without tags or status', async () => {
    const ids = [1, 2, 3].map((n) =>
      world.front.recycleBinRule(A, REGION, {
        resourceType: 'EC2_IMAGE',
        retentionDays: n,
        resourceTags: [{ key: 'tier', value: `t${n}` }]
      })
    )
    world.front.recycleBinRule(A, REGION, { resourceType: 'EBS_SNAPSHOT', retentionDays: 9 })
    world.front.recycleBinRule(A, OTHER, { resourceType: 'EC2_IMAGE', retentionDays: 9 })
    for (const id of ids) expect(id).toMatch(/^[0-9a-zA-Z]{11}$/)
    const first = await rbin().send(new ListRulesCommand({ ResourceType: 'EC2_IMAGE', MaxResults: 2 }))
    expect(first.Rules?.map((r) => r.Identifier)).toEqual(ids.slice(0, 2))
    expect(first.NextToken).toMatch(/^[A-Za-z0-9+/=]+$/)
    const second = await rbin().send(new ListRulesCommand({ ResourceType: 'EC2_IMAGE', MaxResults: 2, NextToken: first.NextToken! }))
    expect(second.Rules?.map((r) => r.Identifier)).toEqual(ids.slice(2))
    expect(second.NextToken).toBeUndefined()
    expect(first.Rules![0]).toEqual({
      Identifier: ids[0],
      RetentionPeriod: { RetentionPeriodValue: 1, RetentionPeriodUnit: 'DAYS' },
      RuleArn: `arn:aws:rbin:${REGION}:${A}:rule/${ids[0]}`
    })
    // On the wire too: a RuleSummary carries no ResourceTags, ResourceType or Status.
    const wire = await raw('POST', '/list-rules', { ResourceType: 'EC2_IMAGE' })
    for (const rule of wire.json.Rules as Record<string, unknown>[])
      expect(Object.keys(rule).sort()).toEqual(['Identifier', 'RetentionPeriod', 'RuleArn'])
    // Filtered by a resource tag, and refused without a resource type or with a token of another listing.
    const tagged = await rbin().send(
      new ListRulesCommand({ ResourceType: 'EC2_IMAGE', ResourceTags: [{ ResourceTagKey: 'tier', ResourceTagValue: 't2' }] })
    )
    expect(tagged.Rules?.map((r) => r.Identifier)).toEqual([ids[1]])
    expect(await raw('POST', '/list-rules', {})).toMatchObject({ status: 400, code: 'ValidationException' })
    await expect(rbin().send(new ListRulesCommand({ ResourceType: 'EBS_SNAPSHOT', NextToken: first.NextToken! }))).rejects.toMatchObject({
      name: 'ValidationException',
      Reason: 'INVALID_PAGE_TOKEN'
    })
    await expect(rbin().send(new ListRulesCommand({ ResourceType: 'EC2_IMAGE', MaxResults: 1001 }))).rejects.toMatchObject({
      name: 'ValidationException'
    })
  })

  it('shows a rule’s resource tags, exclusion tags and status with GetRule', async () => {
    const tagLevel = world.front.recycleBinRule(A, REGION, {
      resourceType: 'EC2_IMAGE',
      retentionDays: 30,
      resourceTags: [{ key: 'keep', value: 'yes' }, { key: 'team' }],
      description: 'golden images'
    })
    const regionLevel = world.front.recycleBinRule(A, REGION, {
      resourceType: 'EBS_SNAPSHOT',
      retentionDays: 14,
      excludeResourceTags: [{ key: 'scratch', value: 'true' }],
      status: 'pending'
    })
    expect(await rbin().send(new GetRuleCommand({ Identifier: tagLevel }))).toMatchObject({
      Identifier: tagLevel,
      Description: 'golden images',
      ResourceType: 'EC2_IMAGE',
      RetentionPeriod: { RetentionPeriodValue: 30, RetentionPeriodUnit: 'DAYS' },
      ResourceTags: [{ ResourceTagKey: 'keep', ResourceTagValue: 'yes' }, { ResourceTagKey: 'team' }],
      Status: 'available',
      RuleArn: `arn:aws:rbin:${REGION}:${A}:rule/${tagLevel}`
    })
    // ExcludeResourceTags on the wire (an SDK whose model predates exclusion tags drops the member).
    const wire = await raw('GET', `/rules/${regionLevel}`)
    expect(wire.status).toBe(200)
    expect(wire.json).toEqual({
      Identifier: regionLevel,
      ResourceType: 'EBS_SNAPSHOT',
      RetentionPeriod: { RetentionPeriodValue: 14, RetentionPeriodUnit: 'DAYS' },
      ExcludeResourceTags: [{ ResourceTagKey: 'scratch', ResourceTagValue: 'true' }],
      Status: 'pending',
      RuleArn: `arn:aws:rbin:${REGION}:${A}:rule/${regionLevel}`
    })
  })

  it('answers an unknown rule with ResourceNotFoundException, a malformed identifier with ValidationException', async () => {
    const elsewhere = world.front.recycleBinRule(A, OTHER, { resourceType: 'EC2_IMAGE', retentionDays: 7 })
    await expect(rbin().send(new GetRuleCommand({ Identifier: 'a1B2c3D4e5F' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      Reason: 'RULE_NOT_FOUND',
      $metadata: { httpStatusCode: 404 }
    })
    // Rules are regional: another region's rule is not found here.
    await expect(rbin().send(new GetRuleCommand({ Identifier: elsewhere }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' })
    await expect(rbin().send(new GetRuleCommand({ Identifier: 'short' }))).rejects.toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 }
    })
  })

  it('records rbin calls, and refuses them under a denied fault with AccessDeniedException', async () => {
    world.front.configure({ faults: [{ actions: ['ListRules'], denied: true }] })
    await expect(rbin().send(new ListRulesCommand({ ResourceType: 'EC2_IMAGE' }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 }
    })
    const rbinCalls = world.front.calls.filter((call) => call.service === 'rbin')
    expect(rbinCalls).toMatchObject([{ action: 'ListRules', region: REGION, account: A, status: 403, errorCode: 'AccessDeniedException' }])
    expect(rbinCalls[0]!.params).toEqual({ ResourceType: 'EC2_IMAGE' })
  })

  it('creates a rule with CreateRule: the account’s first is pending for a while, and a tag-level rule takes no exclusion tags', async () => {
    const created = await rbin().send(
      new CreateRuleCommand({ ResourceType: 'EC2_IMAGE', RetentionPeriod: { RetentionPeriodValue: 10, RetentionPeriodUnit: 'DAYS' } })
    )
    expect(created.$metadata.httpStatusCode).toBe(201)
    expect(created).toMatchObject({ Identifier: expect.stringMatching(/^[0-9a-zA-Z]{11}$/), Status: 'pending', ResourceType: 'EC2_IMAGE' })
    clock.advance(30 * 60_000)
    expect((await rbin().send(new GetRuleCommand({ Identifier: created.Identifier! }))).Status).toBe('available')
    const second = await rbin().send(
      new CreateRuleCommand({ ResourceType: 'EBS_SNAPSHOT', RetentionPeriod: { RetentionPeriodValue: 10, RetentionPeriodUnit: 'DAYS' } })
    )
    expect(second.Status).toBe('available')
    const both = await raw('POST', '/rules', {
      ResourceType: 'EC2_IMAGE',
      RetentionPeriod: { RetentionPeriodValue: 10, RetentionPeriodUnit: 'DAYS' },
      ResourceTags: [{ ResourceTagKey: 'a', ResourceTagValue: 'b' }],
      ExcludeResourceTags: [{ ResourceTagKey: 'c', ResourceTagValue: 'd' }]
    })
    expect(both).toMatchObject({ status: 400, code: 'ValidationException' })
    await expect(
      rbin().send(
        new CreateRuleCommand({ ResourceType: 'EC2_IMAGE', RetentionPeriod: { RetentionPeriodValue: 366, RetentionPeriodUnit: 'DAYS' } })
      )
    ).rejects.toMatchObject({ name: 'ValidationException' })
  })
})

describe('the test front: what retention does', () => {
  it('lists a deregistered image a Region-level rule retains until its exit time, but not one an exclusion tag excludes', async () => {
    const rule = world.front.recycleBinRule(A, REGION, {
      resourceType: 'EC2_IMAGE',
      retentionDays: 7,
      excludeResourceTags: [{ key: 'scratch', value: 'true' }]
    })
    const kept = await image({ Name: 'web' })
    const excluded = await image({ scratch: 'true' })
    const at = clock.now()
    await ec2().send(new DeregisterImageCommand({ ImageId: kept.imageId }))
    await ec2().send(new DeregisterImageCommand({ ImageId: excluded.imageId }))
    const listed = (await ec2().send(new ListImagesInRecycleBinCommand({}))).Images ?? []
    expect(listed).toEqual([
      {
        ImageId: kept.imageId,
        Name: expect.stringMatching(/^binned-/),
        RecycleBinEnterTime: new Date(at),
        RecycleBinExitTime: new Date(at + 7 * DAY)
      }
    ])
    expect(world.front.state.recycleBin.images.get(kept.imageId)).toMatchObject({ ruleId: rule, snapshotIds: kept.snapshots })
    // Gone from DescribeImages, in the bin until its exit time, then gone for good.
    expect((await ec2().send(new DescribeImagesCommand({ Owners: ['self'] }))).Images?.map((i) => i.ImageId)).not.toContain(kept.imageId)
    clock.advance(7 * DAY - 1)
    expect(await binnedImages()).toEqual([kept.imageId])
    clock.advance(1)
    expect(await binnedImages()).toEqual([])
  })

  it('applies a tag-level rule only to images with one of its tag pairs, and the longest retention of the rules that apply', async () => {
    world.front.recycleBinRule(A, REGION, { resourceType: 'EC2_IMAGE', retentionDays: 3, resourceTags: [{ key: 'keep', value: 'yes' }] })
    const longer = world.front.recycleBinRule(A, REGION, {
      resourceType: 'EC2_IMAGE',
      retentionDays: 30,
      resourceTags: [
        { key: 'team', value: 'web' },
        { key: 'keep', value: 'yes' }
      ]
    })
    const matching = await image({ keep: 'yes' })
    const otherValue = await image({ keep: 'no' })
    const untagged = await image()
    const at = clock.now()
    for (const { imageId } of [matching, otherValue, untagged]) await ec2().send(new DeregisterImageCommand({ ImageId: imageId }))
    const listed = (await ec2().send(new ListImagesInRecycleBinCommand({}))).Images ?? []
    expect(listed.map((i) => [i.ImageId, i.RecycleBinExitTime?.getTime()])).toEqual([[matching.imageId, at + 30 * DAY]])
    expect(world.front.state.recycleBin.images.get(matching.imageId)?.ruleId).toBe(longer)
    expect((await ec2().send(new ListImagesInRecycleBinCommand({ ImageIds: [untagged.imageId] }))).Images).toEqual([])
  })

  it('lists a deleted snapshot a snapshot rule retains, whether DeleteSnapshot or DeleteAssociatedSnapshots deleted it', async () => {
    world.front.recycleBinRule(A, REGION, { resourceType: 'EBS_SNAPSHOT', retentionDays: 60 })
    const first = await image()
    const second = await image()
    await ec2().send(new DeregisterImageCommand({ ImageId: first.imageId }))
    const at = clock.now()
    await ec2().send(new DeleteSnapshotCommand({ SnapshotId: first.snapshots[0]! }))
    const result = await ec2().send(new DeregisterImageCommand({ ImageId: second.imageId, DeleteAssociatedSnapshots: true }))
    expect(result.DeleteSnapshotResults).toEqual([{ SnapshotId: second.snapshots[0], ReturnCode: 'success' }])
    const listed = (await ec2().send(new ListSnapshotsInRecycleBinCommand({}))).Snapshots ?? []
    expect(listed.map((s) => s.SnapshotId)).toEqual([first.snapshots[0], second.snapshots[0]])
    expect(listed[0]).toMatchObject({
      RecycleBinEnterTime: new Date(at),
      RecycleBinExitTime: new Date(at + 60 * DAY),
      Description: expect.stringContaining(first.imageId),
      VolumeId: expect.stringMatching(/^vol-/)
    })
    // No image rule: the images themselves are gone for good; the snapshots are gone from DescribeSnapshots.
    expect(await binnedImages()).toEqual([])
    await expect(ec2().send(new DescribeSnapshotsCommand({ SnapshotIds: [first.snapshots[0]!] }))).rejects.toMatchObject({
      name: 'InvalidSnapshot.NotFound'
    })
    await expect(ec2().send(new ListSnapshotsInRecycleBinCommand({ MaxResults: 4 }))).rejects.toMatchObject({
      name: 'InvalidParameterValue'
    })
  })

  it('lets the snapshots of an image in the bin be deleted, and keeps listing the image until its exit time', async () => {
    world.front.recycleBinRule(A, REGION, { resourceType: 'EC2_IMAGE', retentionDays: 7 })
    const { imageId, snapshots } = await image()
    await ec2().send(new DeregisterImageCommand({ ImageId: imageId }))
    await ec2().send(new DeleteSnapshotCommand({ SnapshotId: snapshots[0]! }))
    // No snapshot rule: the snapshot is gone for good, and the image can never be restored; it stays listed all the same.
    expect(await binnedSnapshots()).toEqual([])
    expect(await binnedImages()).toEqual([imageId])
  })

  it('retains nothing under a pending rule', async () => {
    const rule = world.front.recycleBinRule(A, REGION, { resourceType: 'EC2_IMAGE', retentionDays: 7, status: 'pending' })
    world.front.recycleBinRule(A, REGION, { resourceType: 'EBS_SNAPSHOT', retentionDays: 7, status: 'pending' })
    const { imageId } = await image()
    await ec2().send(new DeregisterImageCommand({ ImageId: imageId, DeleteAssociatedSnapshots: true }))
    expect(await binnedImages()).toEqual([])
    expect(await binnedSnapshots()).toEqual([])
    expect((await rbin().send(new GetRuleCommand({ Identifier: rule }))).Status).toBe('pending')
  })

  it('pages the bin: MaxResults and a NextToken only the same listing takes', async () => {
    world.front.recycleBinRule(A, REGION, { resourceType: 'EC2_IMAGE', retentionDays: 7 })
    const images = [await image(), await image(), await image()]
    for (const { imageId } of images) await ec2().send(new DeregisterImageCommand({ ImageId: imageId }))
    const first = await ec2().send(new ListImagesInRecycleBinCommand({ MaxResults: 2 }))
    expect(first.Images?.map((i) => i.ImageId)).toEqual(images.slice(0, 2).map((i) => i.imageId))
    const rest = await ec2().send(new ListImagesInRecycleBinCommand({ MaxResults: 2, NextToken: first.NextToken! }))
    expect(rest.Images?.map((i) => i.ImageId)).toEqual([images[2]!.imageId])
    expect(rest.NextToken).toBeUndefined()
    await expect(ec2().send(new ListSnapshotsInRecycleBinCommand({ NextToken: first.NextToken! }))).rejects.toMatchObject({
      name: 'InvalidPaginationToken'
    })
  })
})
