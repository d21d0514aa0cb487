// Distribution as a new user would set it up: one step builds, copies, tags and waits, sharing,
// deprecating and protecting every image in every region; the manifest and summary show it.
import { describe, expect, it } from '@jest/globals'
import { DescribeImageAttributeCommand, DescribeImagesCommand } from '@aws-sdk/client-ec2'
import { inspector } from '../support/ec2-env.ts'
import { runAction } from '../support/runner.ts'
import { launchBuilder, useWorld, awsEnv } from '../support/world.ts'

const world = useWorld({ pendingMs: 500 })
const ORG = 'arn:aws:organizations::111122223333:organization/o-abcdefghij'

describe('sharing, deprecation and protection', () => {
  it('leaves every image in every region shared, deprecated and protected, and says so', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    const started = Date.now()
    const result = await runAction(
      {
        mode: 'build, copy, tag, wait',
        'instance-id': builder,
        name: 'web-3.0.0',
        regions: 'us-west-2 eu-west-1',
        'kms-key-ids': 'eu-west-1=alias/shared-images',
        'share-accounts': '444455556666',
        'share-organizations': ORG,
        'deprecate-after': '180d',
        'deregistration-protection': 'true'
      },
      {
        env: awsEnv(world)
      }
    )
    expect(result.errors).toEqual([])
    const imageIds = JSON.parse(result.outputs['image-ids']!) as Record<string, string>
    expect(Object.keys(imageIds)).toHaveLength(3)

    for (const [region, imageId] of Object.entries(imageIds)) {
      const direct = inspector(world.moto.endpoint, region)
      const permissions = await direct.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }))
      direct.destroy()
      expect(permissions.LaunchPermissions).toEqual(expect.arrayContaining([{ UserId: '444455556666' }, { OrganizationArn: ORG }]))
      const viaFront = inspector(world.front.endpoint, region)
      const [image] = (await viaFront.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images!
      viaFront.destroy()
      expect(image!.DeregistrationProtection).toBe('enabled-without-cooldown')
      const deprecation = Date.parse(image!.DeprecationTime!)
      expect(deprecation).toBeGreaterThanOrEqual(started + 180 * 86_400_000)
      expect(deprecation).toBeLessThan(Date.now() + 180 * 86_400_000 + 120_000)
    }

    // The encrypted copy's users need the key too: the step says so where the user will see it.
    expect(result.log).toMatch(
      new RegExp(`::notice::${imageIds['eu-west-1']} in eu-west-1 is encrypted: the accounts it is shared with also need the KMS key`)
    )
    expect(result.summary).toContain('| Shared with | Deprecation | Protected |')
    expect(result.summary).toMatch(
      new RegExp(`${imageIds['us-west-2']}.*\\| 444455556666, ${ORG} \\| \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\| yes \\|`)
    )

    const manifest = JSON.parse(result.manifest!)
    expect(manifest).toMatchObject({ version: 1, modes: ['build', 'copy', 'tag', 'wait'], succeeded: true, sourceRegion: 'us-east-1' })
    expect(manifest.regions['eu-west-1'].image).toMatchObject({
      imageId: imageIds['eu-west-1'],
      origin: 'copied',
      state: 'available',
      encrypted: true,
      distribution: { sharedWith: ['444455556666', ORG], protected: true }
    })
  })

  it('applies them to images given by image-ids in a later tag step', async () => {
    const builder = await launchBuilder(world.moto.endpoint)
    const env = awsEnv(world)
    const built = await runAction({ mode: 'build, copy, wait', 'instance-id': builder, name: 'web-3.0.1', regions: 'eu-west-1' }, { env })
    const tagged = await runAction({ mode: 'tag', 'image-ids': built.outputs['image-ids']!, 'deregistration-protection': 'true' }, { env })
    expect(tagged.errors).toEqual([])
    for (const [region, imageId] of Object.entries(JSON.parse(built.outputs['image-ids']!) as Record<string, string>)) {
      const viaFront = inspector(world.front.endpoint, region)
      const [image] = (await viaFront.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images!
      viaFront.destroy()
      expect(image!.DeregistrationProtection).toBe('enabled-without-cooldown')
    }
  })
})
