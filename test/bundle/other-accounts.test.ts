// Prune through the bundle, as a workflow runs it, where other accounts use shared images: the
// plan, the job summary and the outputs name the accounts and what of theirs uses each image, and
// nothing they use is retired. The double's usage reports are ready at once here (the bundle runs
// on a real clock).
import { describe, expect, it } from '@jest/globals'
import { launchBuilder, ownImages } from '../support/ec2-env.ts'
import { runAction } from '../support/runner.ts'
import { seedImage, shareImage, type Seeded } from '../support/seed.ts'
import { awsEnv, useWorld } from '../support/world.ts'

const world = useWorld({ usageReportMs: 0 })
const DAY = 86_400_000
const REGION = 'us-east-1'
const B = '111111111111'
const C = '222222222222'

const share = (image: Seeded, account: string): Promise<void> => shareImage(world.front, image, account)

describe('prune of images shared with other accounts, through the bundle', () => {
  it('keeps the image account B runs an instance of and the one account C names in a launch template, saying so', async () => {
    const builder = await launchBuilder(world.front.endpoint)
    const images: Seeded[] = []
    for (let i = 0; i < 4; i++) images.push(await seedImage(world.front, REGION, builder, `web-${i}`, 40 - i * 10, { App: 'web' }))
    await share(images[0]!, B)
    await share(images[1]!, C)
    await share(images[2]!, B)
    const now = world.front.clock.now()
    await world.front.otherAccount(B, REGION).launch(images[0]!.imageId, now - 3 * DAY)
    await world.front.otherAccount(B, REGION).launch(images[0]!.imageId, now - 3 * DAY)
    world.front.otherAccount(C, REGION).templateVersion(images[1]!.imageId, undefined, now - 10 * DAY)

    const result = await runAction(
      { mode: 'prune', 'prune-tags': 'App=web', keep: '1' },
      { env: { ...awsEnv(world), GITHUB_REPOSITORY: 'acme/images', GITHUB_RUN_ID: '9', GITHUB_RUN_ATTEMPT: '1' } }
    )
    expect(result.errors).toEqual([])
    const pruned = (JSON.parse(result.outputs['pruned-image-ids']!) as Record<string, string[]>)[REGION]
    expect(pruned).toEqual([images[2]!.imageId])
    expect(result.summary).toContain(`in use by account ${B}: 2 instances`)
    expect(result.summary).toContain(`in use by account ${C}: 1 launch template`)
    const left = (await ownImages(world.moto.endpoint, REGION)).map((image) => image.ImageId)
    expect(left).toEqual(expect.arrayContaining([images[0]!.imageId, images[1]!.imageId, images[3]!.imageId]))
    expect(world.front.state.usageReports.size).toBe(0)
  })
})
