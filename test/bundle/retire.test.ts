// Staged retirement, if-exists: replace and share-snapshots, through the bundle as a workflow runs
// them, against moto through the front (which adds DisableImage, IncludeDisabled, protection,
// launch template references and snapshot sharing rules).
import { describe, expect, it } from '@jest/globals'
import {
  CreateLaunchTemplateCommand,
  CreateTagsCommand,
  DescribeSnapshotAttributeCommand,
  DisableImageCommand,
  EC2Client,
  EnableImageDeregistrationProtectionCommand,
  ModifyImageAttributeCommand
} from '@aws-sdk/client-ec2'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { launchBuilder, ownImages, ownSnapshots, snapshotIdsOf, tagsOf } from '../support/ec2-env.ts'
import { runAction } from '../support/runner.ts'
import { seedImage, type Seeded } from '../support/seed.ts'
import { useWorld, awsEnv } from '../support/world.ts'

const world = useWorld()
const DAY = 86_400_000
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' }

const env = (runId = '7', attempt = '1'): Record<string, string> => ({
  ...awsEnv(world),
  GITHUB_REPOSITORY: 'acme/images',
  GITHUB_RUN_ID: runId,
  GITHUB_RUN_ATTEMPT: attempt
})

async function withEc2<T>(region: string, use: (client: EC2Client) => Promise<T>, endpoint = world.front.endpoint): Promise<T> {
  const client = new EC2Client({ region, endpoint, credentials })
  try {
    return await use(client)
  } finally {
    client.destroy()
  }
}

/** Five releases, 50 to 10 days old, in us-east-1. */
async function fiveReleases(): Promise<Seeded[]> {
  const builder = await launchBuilder(world.front.endpoint)
  const images: Seeded[] = []
  for (let i = 0; i < 5; i++) images.push(await seedImage(world.front, 'us-east-1', builder, `web-${i}`, 50 - i * 10, { App: 'web' }))
  return images
}

function pruned(step: { outputs: Record<string, string> }): string[] {
  return (JSON.parse(step.outputs['pruned-image-ids']!) as Record<string, string[]>)['us-east-1'] ?? []
}

describe('staged retirement through the bundle', () => {
  it('takes its disabled-at tag off an image EC2 refused to disable, so an image disabled by hand later is never deregistered', async () => {
    const images = await fiveReleases()
    world.front.configure({ faults: [{ actions: ['DisableImage'], denied: true }] })
    const refused = await runAction({ mode: 'prune', 'prune-tags': 'App=web', keep: '4', retire: 'disable' }, { env: env() })
    expect(refused.exitCode).toBe(1)
    expect(refused.errors[0]).toMatch(/ec2:DisableImage.*\(its ami-pipeline:disabled-at tag was removed again\)/)
    const [oldest] = await ownImages(world.moto.endpoint, 'us-east-1').then((all) => all.filter((i) => i.ImageId === images[0]!.imageId))
    expect(tagsOf(oldest!)['ami-pipeline:disabled-at']).toBeUndefined()

    // Weeks later someone disables it by hand (a quarantine): the deregister stage leaves it alone.
    world.front.configure({ faults: [] })
    await withEc2('us-east-1', (client) => client.send(new DisableImageCommand({ ImageId: images[0]!.imageId })))
    const stage = await runAction(
      { mode: 'prune', 'prune-tags': 'App=web', keep: '2', retire: 'deregister', 'only-disabled': 'true' },
      { env: env() }
    )
    expect(stage.errors).toEqual([])
    expect(pruned(stage)).toEqual([])
    expect(stage.summary).toContain('disabled, but not by prune')
  })

  it('never fails the disable stage on a failed image: the plan keeps it for the deregister stage', async () => {
    const images = await fiveReleases()
    world.front.failImage(images[0]!.imageId, 'Snapshot creation failed')
    const result = await runAction({ mode: 'prune', 'prune-tags': 'App=web', keep: '2', retire: 'disable' }, { env: env() })
    expect(result.errors).toEqual([])
    expect(result.exitCode).toBe(0)
    expect(pruned(result).sort()).toEqual([images[1]!.imageId, images[2]!.imageId].sort())
    expect(result.summary).toContain(
      'failed: it launches nothing, so there is nothing to disable; a retire: deregister step without only-disabled removes it'
    )
    expect(world.front.calls.filter((call) => call.action === 'DisableImage' && call.params.ImageId === images[0]!.imageId)).toEqual([])
  })

  it('disables what is past keep (snapshots kept), leaves it alone on the next run, and deregisters it only once it has been disabled longer than older-than', async () => {
    const images = await fiveReleases()
    const snapshotsBefore = (await ownSnapshots(world.moto.endpoint, 'us-east-1')).map((s) => s.SnapshotId).sort()
    const disable = { mode: 'prune', 'prune-tags': 'App=web', keep: '2', retire: 'disable' }

    const first = await runAction(disable, { env: env() })
    expect(first.errors).toEqual([])
    const oldest = images.slice(0, 3).map((image) => image.imageId)
    expect(pruned(first).sort()).toEqual([...oldest].sort())
    expect(first.summary).toContain('### Retired (disabled)')
    expect(
      world.front.calls
        .filter((call) => call.action === 'DisableImage')
        .map((call) => call.params.ImageId)
        .sort()
    ).toEqual([...oldest].sort())
    // Disabled, not gone: the snapshots are all there, and the images carry when they were disabled.
    expect((await ownSnapshots(world.moto.endpoint, 'us-east-1')).map((s) => s.SnapshotId).sort()).toEqual(snapshotsBefore)
    for (const id of oldest) {
      expect(world.front.stateOf(id)?.state).toBe('disabled')
      const image = (await ownImages(world.moto.endpoint, 'us-east-1')).find((candidate) => candidate.ImageId === id)!
      expect(Date.now() - Date.parse(tagsOf(image)['ami-pipeline:disabled-at']!)).toBeLessThan(60_000)
    }

    const again = await runAction(disable, { env: env() })
    expect(again.errors).toEqual([])
    expect(pruned(again)).toEqual([])
    expect(again.summary).toContain('already disabled')
    expect(world.front.calls.filter((call) => call.action === 'DisableImage')).toHaveLength(3)

    // Created 30–50 days ago, but disabled just now: a 30-day grace starts at the disabling.
    const deregister = { mode: 'prune', 'prune-tags': 'App=web', keep: '2', 'older-than': '30d' }
    const early = await runAction(deregister, { env: env() })
    expect(early.errors).toEqual([])
    expect(pruned(early)).toEqual([])
    expect(early.summary).toContain('disabled less than 30d')

    // A month and more later (the tag says so), the deregister stage removes them with their snapshots.
    await withEc2('us-east-1', (client) =>
      client.send(
        new CreateTagsCommand({
          Resources: oldest,
          Tags: [{ Key: 'ami-pipeline:disabled-at', Value: new Date(Date.now() - 31 * DAY).toISOString() }]
        })
      )
    )
    const late = await runAction(deregister, { env: env() })
    expect(late.errors).toEqual([])
    expect(pruned(late).sort()).toEqual([...oldest].sort())
    const left = await ownImages(world.moto.endpoint, 'us-east-1')
    expect(left.map((image) => image.ImageId).sort()).toEqual(
      images
        .slice(3)
        .map((image) => image.imageId)
        .sort()
    )
    const deleted = (JSON.parse(late.outputs['pruned-snapshot-ids']!) as Record<string, string[]>)['us-east-1']!
    expect(deleted).toHaveLength(3)
  })

  it('with only-disabled, the deregister stage removes only what the disable stage disabled, never the shared or lately launched images it kept', async () => {
    const images = await fiveReleases()
    const [shared, launched, due] = [images[0]!.imageId, images[1]!.imageId, images[2]!.imageId]
    await withEc2('us-east-1', (client) =>
      client.send(new ModifyImageAttributeCommand({ ImageId: shared, LaunchPermission: { Add: [{ UserId: '444455556666' }] } }))
    )
    world.front.setLastLaunched(launched, 'us-east-1', new Date(Date.now() - 3 * DAY).toISOString())
    const disable = await runAction(
      { mode: 'prune', 'prune-tags': 'App=web', keep: '2', retire: 'disable', 'unused-for': '7d' },
      { env: env() }
    )
    expect(disable.errors).toEqual([])
    expect(pruned(disable)).toEqual([due])
    await withEc2('us-east-1', (client) =>
      client.send(
        new CreateTagsCommand({
          Resources: [due],
          Tags: [{ Key: 'ami-pipeline:disabled-at', Value: new Date(Date.now() - 31 * DAY).toISOString() }]
        })
      )
    )
    const stage = { mode: 'prune', 'prune-tags': 'App=web', keep: '2', 'older-than': '30d' }
    // Without only-disabled, a plain deregister would take the two images the first stage kept.
    const plain = await runAction({ ...stage, 'dry-run': 'true' }, { env: env() })
    expect(pruned(plain).sort()).toEqual([shared, launched, due].sort())

    const deregister = await runAction({ ...stage, 'only-disabled': 'true' }, { env: env() })
    expect(deregister.errors).toEqual([])
    expect(pruned(deregister)).toEqual([due])
    expect(deregister.summary).toContain(
      `| [${shared}](https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#ImageDetails:imageId=${shared}) | web-0 |`
    )
    expect(deregister.summary).toMatch(
      new RegExp(`\\| \\[${launched}\\]\\([^)]+\\) \\| web-1 \\| .* \\| keep: available, not disabled \\(only-disabled\\) \\|`)
    )
    expect((await ownImages(world.moto.endpoint, 'us-east-1')).map((image) => image.ImageId)).toEqual(
      expect.arrayContaining([shared, launched])
    )
  })

  it('never disables a shared image: EC2 would take its launch permissions away for good', async () => {
    const images = await fiveReleases()
    const shared = images[0]!.imageId
    await withEc2('us-east-1', (client) =>
      client.send(new ModifyImageAttributeCommand({ ImageId: shared, LaunchPermission: { Add: [{ UserId: '444455556666' }] } }))
    )
    const step = await runAction({ mode: 'prune', 'prune-tags': 'App=web', keep: '2', retire: 'disable' }, { env: env() })
    expect(step.errors).toEqual([])
    expect(pruned(step).sort()).toEqual([images[1]!.imageId, images[2]!.imageId].sort())
    expect(world.front.stateOf(shared)?.state).not.toBe('disabled')
    expect(step.log).toMatch(
      new RegExp(
        `::notice::Keeping 1 image that is in use or shared \\(1 in us-east-1\\): ${shared} 'web-0' in us-east-1: shared with 444455556666.*never disabled`
      )
    )
  })

  it('without DescribeImageReferences, keeps the image an aws:ec2:image SSM parameter holds (a rollback target)', async () => {
    world.front.configure({ imageReferences: false })
    const images = await fiveReleases()
    const target = images[0]!.imageId
    const ssm = new SSMClient({ region: 'us-east-1', endpoint: world.front.endpoint, credentials })
    await ssm.send(new PutParameterCommand({ Name: '/images/web/latest', Value: target, Type: 'String', DataType: 'aws:ec2:image' }))
    ssm.destroy()
    await world.front.settled()
    const step = await runAction({ mode: 'prune', 'prune-tags': 'App=web', keep: '2' }, { env: env() })
    expect(step.errors).toEqual([])
    expect(pruned(step).sort()).toEqual([images[1]!.imageId, images[2]!.imageId].sort())
    expect(step.summary).toContain(`in use by SSM parameter /images/web/latest`)
  })

  it('deprecates now with retire: deprecate, and leaves the images launchable', async () => {
    const images = await fiveReleases()
    const step = await runAction({ mode: 'prune', 'prune-tags': 'App=web', keep: '3', retire: 'deprecate' }, { env: env() })
    expect(step.errors).toEqual([])
    expect(pruned(step).sort()).toEqual(
      images
        .slice(0, 2)
        .map((image) => image.imageId)
        .sort()
    )
    for (const image of images.slice(0, 2)) {
      const at = Date.parse(world.front.state.images.get(image.imageId)!.deprecationTime!)
      expect(at - Date.now()).toBeLessThanOrEqual(120_000)
      expect(world.front.stateOf(image.imageId)?.state).toBe('available')
    }
  })
})

describe('if-exists: replace through the bundle', () => {
  it('deregisters the same-named image and its snapshots in the source region and every copy region, then builds and copies', async () => {
    const builder = await launchBuilder(world.front.endpoint)
    const euBuilder = await launchBuilder(world.front.endpoint, 'eu-west-1')
    const old = await seedImage(world.front, 'us-east-1', builder, 'web-1', 3)
    const oldCopy = await seedImage(world.front, 'eu-west-1', euBuilder, 'web-1', 3)
    const oldSnapshots = [
      ...snapshotIdsOf((await ownImages(world.moto.endpoint, 'us-east-1')).find((image) => image.ImageId === old.imageId)!),
      ...snapshotIdsOf((await ownImages(world.moto.endpoint, 'eu-west-1')).find((image) => image.ImageId === oldCopy.imageId)!)
    ]

    const step = await runAction(
      { mode: 'build, copy, wait', 'instance-id': builder, name: 'web-1', regions: 'eu-west-1', 'if-exists': 'replace' },
      { env: env() }
    )
    expect(step.errors).toEqual([])
    const made = JSON.parse(step.outputs['image-ids']!) as Record<string, string>
    expect(made['us-east-1']).not.toBe(old.imageId)
    expect(made['eu-west-1']).not.toBe(oldCopy.imageId)
    for (const region of ['us-east-1', 'eu-west-1']) {
      const left = await ownImages(world.moto.endpoint, region)
      expect(left.filter((image) => image.Name === 'web-1').map((image) => image.ImageId)).toEqual([made[region]])
    }
    const snapshots = [...(await ownSnapshots(world.moto.endpoint, 'us-east-1')), ...(await ownSnapshots(world.moto.endpoint, 'eu-west-1'))]
    for (const id of oldSnapshots) expect(snapshots.map((s) => s.SnapshotId)).not.toContain(id)
    expect(step.summary).toContain('### Replaced (same name, if-exists: replace)')
    expect(step.summary).toContain(old.imageId)
    expect(step.summary).toContain(oldCopy.imageId)

    // A re-run attempt adopts what attempt 1 made: its own images are never "replaced".
    const before = world.front.calls.length
    const rerun = await runAction(
      { mode: 'build, copy, wait', 'instance-id': builder, name: 'web-1', regions: 'eu-west-1', 'if-exists': 'replace' },
      { env: env('7', '2') }
    )
    expect(rerun.errors).toEqual([])
    expect(JSON.parse(rerun.outputs['image-ids']!)).toEqual(made)
    const changed = world.front.calls.slice(before).filter((call) => !/^(Describe|Get)/.test(call.action) && call.params.DryRun !== 'true')
    expect(changed).toEqual([])
    expect(rerun.summary).not.toContain('### Replaced')
  })

  it('refuses, changing nothing, when the image to replace is in use in one region or protected in another, naming them and the users', async () => {
    const builder = await launchBuilder(world.front.endpoint)
    const euBuilder = await launchBuilder(world.front.endpoint, 'eu-west-1')
    const old = await seedImage(world.front, 'us-east-1', builder, 'web-1', 3)
    const oldCopy = await seedImage(world.front, 'eu-west-1', euBuilder, 'web-1', 3)
    await withEc2('us-east-1', (client) => client.send(new EnableImageDeregistrationProtectionCommand({ ImageId: old.imageId })))
    await withEc2('eu-west-1', (client) =>
      client.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web', LaunchTemplateData: { ImageId: oldCopy.imageId } }))
    )
    const before = world.front.calls.length

    const step = await runAction(
      { mode: 'build, copy, wait', 'instance-id': builder, name: 'web-1', regions: 'eu-west-1', 'if-exists': 'replace' },
      { env: env() }
    )
    expect(step.exitCode).toBe(1)
    const message = step.errors.join('\n')
    expect(message).toContain(`${old.imageId} in us-east-1 has deregistration protection on`)
    expect(message).toMatch(new RegExp(`${oldCopy.imageId} in eu-west-1 is in use by launch template lt-\\w+ version 1`))
    expect(message).toContain('Nothing was changed')
    expect(world.front.calls.slice(before).filter((call) => !/^(Describe|Get)/.test(call.action) && call.params.DryRun !== 'true')).toEqual(
      []
    )
  })
})

describe('if-exists: replace in a dry run', () => {
  it('plans what the real run does: the name a replace would free is still taken, and that is no refusal', async () => {
    const builder = await launchBuilder(world.front.endpoint)
    const euBuilder = await launchBuilder(world.front.endpoint, 'eu-west-1')
    const old = await seedImage(world.front, 'us-east-1', builder, 'web-1', 3)
    const oldCopy = await seedImage(world.front, 'eu-west-1', euBuilder, 'web-1', 3)
    const inputs = { mode: 'build, copy, wait', 'instance-id': builder, name: 'web-1', regions: 'eu-west-1', 'if-exists': 'replace' }
    const before = world.front.calls.length
    const dry = await runAction({ ...inputs, 'dry-run': 'true' }, { env: env() })
    expect(dry.errors).toEqual([])
    expect(dry.summary).toContain('### Would be replaced (same name, if-exists: replace)')
    const changed = world.front.calls.slice(before).filter((call) => !/^(Describe|Get)/.test(call.action) && call.params.DryRun !== 'true')
    expect(changed).toEqual([])
    const real = await runAction(inputs, { env: env() })
    expect(real.errors).toEqual([])
    expect(real.summary).toContain(old.imageId)
    expect(real.summary).toContain(oldCopy.imageId)
  })
})

describe('if-exists: replace never leaves a release half replaced', () => {
  const replace = (builder: string) => ({
    mode: 'build, copy, wait',
    'instance-id': builder,
    name: 'web-1',
    regions: 'eu-west-1',
    'if-exists': 'replace'
  })
  const changes = (from: number) =>
    world.front.calls.slice(from).filter((call) => !/^(Describe|Get)/.test(call.action) && call.params.DryRun !== 'true')

  it('checks the removal in every region with DryRun first: a copy region that refuses it leaves the source region’s image in place', async () => {
    const builder = await launchBuilder(world.front.endpoint)
    const euBuilder = await launchBuilder(world.front.endpoint, 'eu-west-1')
    const old = await seedImage(world.front, 'us-east-1', builder, 'web-1', 3)
    const oldCopy = await seedImage(world.front, 'eu-west-1', euBuilder, 'web-1', 3)
    world.front.configure({ faults: [{ actions: ['DeregisterImage'], regions: ['eu-west-1'], denied: true }] })
    const before = world.front.calls.length
    const step = await runAction(replace(builder), { env: env() })
    expect(step.exitCode).toBe(1)
    expect(step.errors.join('\n')).toMatch(/DeregisterImage in eu-west-1 .* UnauthorizedOperation/)
    expect(changes(before)).toEqual([])
    expect(world.front.stateOf(old.imageId)?.state).toBe('available')
    expect(world.front.stateOf(oldCopy.imageId)?.state).toBe('available')
  })

  it('refuses to replace an image still being made, which another run may be building', async () => {
    const builder = await launchBuilder(world.front.endpoint)
    // Another workflow run's build, from its own builder, still pending.
    const building = await seedImage(world.front, 'us-east-1', await launchBuilder(world.front.endpoint), 'web-1', 0, {
      'ami-pipeline:repository': 'acme/images',
      'ami-pipeline:run-id': '99'
    })
    world.front.overlay(building.imageId, 'us-east-1').pendingMs = 60_000
    expect(world.front.stateOf(building.imageId)?.state).toBe('pending')
    const before = world.front.calls.length
    const step = await runAction({ mode: 'build, wait', 'instance-id': builder, name: 'web-1', 'if-exists': 'replace' }, { env: env() })
    expect(step.exitCode).toBe(1)
    expect(step.errors.join('\n')).toContain(`${building.imageId} in us-east-1 is still being made (pending)`)
    expect(changes(before)).toEqual([])
  })

  it('warns, naming the accounts, when the image it replaces is shared', async () => {
    const builder = await launchBuilder(world.front.endpoint)
    const old = await seedImage(world.front, 'us-east-1', builder, 'web-1', 3)
    await withEc2('us-east-1', (client) =>
      client.send(new ModifyImageAttributeCommand({ ImageId: old.imageId, LaunchPermission: { Add: [{ UserId: '444455556666' }] } }))
    )
    const step = await runAction({ mode: 'build, wait', 'instance-id': builder, name: 'web-1', 'if-exists': 'replace' }, { env: env() })
    expect(step.errors).toEqual([])
    expect(step.log).toMatch(
      new RegExp(
        `::warning::${old.imageId} 'web-1' in us-east-1 is shared with 444455556666: once it is replaced they can no longer launch it`
      )
    )
  })
})

describe('share-snapshots through the bundle', () => {
  it('gives the accounts createVolumePermission on every snapshot of every image', async () => {
    const builder = await launchBuilder(world.front.endpoint)
    const step = await runAction(
      {
        mode: 'build, copy, wait, tag',
        'instance-id': builder,
        name: 'web-1',
        regions: 'eu-west-1',
        'share-accounts': '111122223333 444455556666',
        'share-snapshots': 'true'
      },
      { env: env() }
    )
    expect(step.errors).toEqual([])
    const snapshots = JSON.parse(step.outputs['snapshot-ids']!) as Record<string, string[]>
    expect(Object.keys(snapshots).sort()).toEqual(['eu-west-1', 'us-east-1'])
    for (const [region, ids] of Object.entries(snapshots)) {
      expect(ids.length).toBeGreaterThan(0)
      for (const snapshotId of ids) {
        const shared = await withEc2(
          region,
          (client) => client.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' })),
          world.moto.endpoint
        )
        expect((shared.CreateVolumePermissions ?? []).map((permission) => permission.UserId).sort()).toEqual([
          '111122223333',
          '444455556666'
        ])
      }
    }
  })
})
