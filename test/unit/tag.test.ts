import { beforeEach, describe, expect, it } from '@jest/globals'
import { CreateTagsCommand, DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { tag as tagMode } from '../../src/modes/tag/tag.ts'
import { testStep, type TestStep } from '../support/step.ts'

const tag = (step: TestStep) => tagMode(step, step.plan.tag!)

const ec2 = mockClient(EC2Client)
const SOURCE = 'ami-0123456789abcdef0'
const COPY = 'ami-0fedcba9876543210'

function image(id: string, snapshots: string[], tags: Record<string, string> = {}): Image {
  return {
    ImageId: id,
    State: 'available',
    BlockDeviceMappings: snapshots.map((SnapshotId, i) => ({ DeviceName: `/dev/sd${'abc'[i]}`, Ebs: { SnapshotId } })),
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))
  }
}

beforeEach(() => {
  ec2.reset()
})

describe('tag', () => {
  it('tags every image and all of its snapshots with one CreateTags per region, after they are available', async () => {
    ec2.on(DescribeImagesCommand).callsFake((input: { Filters: { Values: string[] }[] }) => {
      const id = input.Filters[0]!.Values[0]!
      return {
        Images: [
          id === SOURCE ? image(SOURCE, ['snap-01111111111111111', 'snap-02222222222222222']) : image(COPY, ['snap-03333333333333333'])
        ]
      }
    })
    ec2.on(CreateTagsCommand).resolves({})
    const step = testStep({
      mode: 'tag',
      'image-ids': JSON.stringify({ 'us-east-1': SOURCE, 'eu-west-1': COPY }),
      tags: 'Release=2026.11',
      'provenance-tags': 'false'
    })
    step.release.add({ region: 'us-east-1', imageId: SOURCE, name: 'web', origin: 'given', state: 'pending', snapshotIds: [] })
    step.release.add({ region: 'eu-west-1', imageId: COPY, name: 'web', origin: 'given', state: 'pending', snapshotIds: [] })
    await tag(step)
    const calls = ec2.commandCalls(CreateTagsCommand).map((call) => call.args[0].input)
    expect(calls).toHaveLength(2)
    expect(calls.map((c) => c.Resources).sort()).toEqual([
      [SOURCE, 'snap-01111111111111111', 'snap-02222222222222222'],
      [COPY, 'snap-03333333333333333']
    ])
    expect(calls[0]!.Tags).toEqual([{ Key: 'Release', Value: '2026.11' }])
  })

  it('adds provenance to a given image that has none, and leaves existing provenance alone', async () => {
    ec2.on(CreateTagsCommand).resolves({})
    const step = testStep({ mode: 'tag', 'image-ids': JSON.stringify({ 'us-east-1': SOURCE, 'eu-west-1': COPY }), tags: 'Release=1' })
    step.release.add({
      region: 'us-east-1',
      imageId: SOURCE,
      name: 'web',
      origin: 'given',
      state: 'available',
      snapshotIds: ['snap-01111111111111111'],
      tags: new Map()
    })
    step.release.add({
      region: 'eu-west-1',
      imageId: COPY,
      name: 'web',
      origin: 'given',
      state: 'available',
      snapshotIds: [],
      tags: new Map([['ami-pipeline:run-id', '7']])
    })
    await tag(step)
    const provenanceCalls = ec2
      .commandCalls(CreateTagsCommand)
      .filter((call) => call.args[0].input.Tags!.some((t) => t.Key === 'ami-pipeline:run-id'))
    expect(provenanceCalls.map((call) => call.args[0].input.Resources)).toEqual([[SOURCE, 'snap-01111111111111111']])
  })

  it('sends no CreateTags for images it made whose tags were applied at creation', async () => {
    ec2.on(CreateTagsCommand).resolves({})
    const step = testStep({ mode: 'tag', 'image-id': SOURCE, tags: 'Release=1' })
    const tags = new Map([
      ['Release', '1'],
      ['ami-pipeline:run-id', '42']
    ])
    step.release.add({
      region: 'us-east-1',
      imageId: SOURCE,
      name: 'web',
      origin: 'built',
      state: 'available',
      snapshotIds: ['snap-01111111111111111'],
      tags
    })
    step.release.add({
      region: 'eu-west-1',
      imageId: COPY,
      name: 'web',
      origin: 'copied',
      state: 'available',
      snapshotIds: [],
      tags: new Map([
        ['Release', '0'],
        ['ami-pipeline:run-id', '42']
      ])
    })
    await tag(step)
    expect(ec2.commandCalls(CreateTagsCommand).map((call) => call.args[0].input.Resources)).toEqual([[COPY]])
  })
})
