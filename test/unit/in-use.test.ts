// In-use checks with an SDK-level mock: what is asked of EC2 (batches, resource types, states),
// how answers read in the user's words, and when the check falls back or fails.
import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  DescribeImageReferencesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  type LaunchTemplateVersion,
  DescribeSpotFleetRequestsCommand,
  DescribeSpotInstanceRequestsCommand
} from '@aws-sdk/client-ec2'
import { DescribeParametersCommand, GetParametersCommand } from '@aws-sdk/client-ssm'
import { DescribeLaunchConfigurationsCommand } from '@aws-sdk/client-auto-scaling'
import { inUseMocks } from '../support/in-use-mocks.ts'
import { Aws } from '../../src/aws/client.ts'
import { describeReference, findUsage } from '../../src/aws/in-use.ts'
import { IN_FLIGHT } from '../../src/pool.ts'
import { awsError } from '../support/aws-error.ts'

// Nothing in use unless a test says so (launch configurations, Spot, SSM parameters).
const { ec2: ec2Mock, ssm: ssmMock, autoScaling: autoScalingMock, reset: resetMocks } = inUseMocks()

const REGION = 'us-east-1'
const ids = (count: number) => Array.from({ length: count }, (_, i) => `ami-${(i + 1).toString(16).padStart(17, '0')}`)

function templateVersion(id: string, version: number, imageId: string, isDefault = false): LaunchTemplateVersion {
  return { LaunchTemplateId: id, VersionNumber: version, DefaultVersion: isDefault, LaunchTemplateData: { ImageId: imageId } }
}

const check = (imageIds: string[]) => findUsage(new Aws({ maxAttempts: 1 }), REGION, imageIds)

beforeEach(() => {
  resetMocks()
  ec2Mock.on(DescribeImageReferencesCommand).resolves({ ImageReferences: [] })
  ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [] })
  ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [] })
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] })
})

describe('in-use checks with DescribeImageReferences', () => {
  it('asks about at most 10 images a call, for live instances, every launch template version, SSM parameters and Image Builder recipes', async () => {
    await check(ids(25))
    const calls = ec2Mock.commandCalls(DescribeImageReferencesCommand).map((call) => call.args[0].input)
    expect(calls.map((input) => input.ImageIds?.length)).toEqual([10, 10, 5])
    expect(calls[0]!.ResourceTypes).toEqual([
      {
        ResourceType: 'ec2:Instance',
        ResourceTypeOptions: [{ OptionName: 'state-name', OptionValues: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] }]
      },
      { ResourceType: 'ec2:LaunchTemplate', ResourceTypeOptions: [{ OptionName: 'version-depth', OptionValues: ['10000'] }] },
      { ResourceType: 'ssm:Parameter' },
      { ResourceType: 'imagebuilder:ImageRecipe' },
      { ResourceType: 'imagebuilder:ContainerRecipe' }
    ])
    expect(calls[0]!.IncludeAllResourceTypes).toBeUndefined()
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0)
  })

  it('sends no further batch once one is refused, and falls back', async () => {
    // The first batch alone, then a pool's worth together; the second of those is refused.
    let seen = 0
    ec2Mock.on(DescribeImageReferencesCommand).callsFake(() => {
      seen++
      if (seen === 3) throw awsError('UnauthorizedOperation')
      return new Promise((resolve) => setImmediate(() => resolve({ ImageReferences: [] })))
    })
    const batches = 2 * IN_FLIGHT + 1
    const usage = await check(ids(10 * batches))
    expect(usage.method).toMatch(/^DescribeInstances/)
    expect(ec2Mock.commandCalls(DescribeImageReferencesCommand).length).toBeLessThanOrEqual(1 + IN_FLIGHT)
  })

  it('lists every launch template version as well, resolving resolve:ssm: images that references may not', async () => {
    const [image] = ids(1) as [string]
    ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [{ LaunchTemplateId: 'lt-0web' }] })
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).callsFake((input: { ResolveAlias?: boolean }) => ({
      LaunchTemplateVersions: [templateVersion('lt-0web', 3, input.ResolveAlias ? image : 'resolve:ssm:/golden/web:3')]
    }))
    const usage = await check([image])
    expect(usage.users.get(image)).toEqual(['launch template lt-0web version 3'])
    expect(usage.method).toMatch(/^DescribeImageReferences .* and every version of every launch template/)
  })

  it('follows every page of references', async () => {
    const [first, second] = ids(2) as [string, string]
    ec2Mock
      .on(DescribeImageReferencesCommand)
      .resolvesOnce({
        ImageReferences: [{ ImageId: first, ResourceType: 'ec2:Instance', Arn: 'arn:aws:ec2:us-east-1:111122223333:instance/i-0aaa' }],
        NextToken: 'more'
      })
      .resolvesOnce({
        ImageReferences: [
          { ImageId: second, ResourceType: 'ssm:Parameter', Arn: 'arn:aws:ssm:us-east-1:111122223333:parameter/golden/web' }
        ]
      })
    const usage = await check([first, second])
    expect(ec2Mock.commandCalls(DescribeImageReferencesCommand)[1]!.args[0].input.NextToken).toBe('more')
    expect(Object.fromEntries(usage.users)).toEqual({ [first]: ['instance i-0aaa'], [second]: ['SSM parameter /golden/web'] })
    expect(usage.method).toMatch(/^DescribeImageReferences/)
  })

  it('keeps an image that any version of a launch template names', async () => {
    const [image] = ids(1) as [string]
    ec2Mock.on(DescribeImageReferencesCommand).resolves({
      ImageReferences: [
        { ImageId: image, ResourceType: 'ec2:LaunchTemplate', Arn: 'arn:aws:ec2:us-east-1:111122223333:launch-template/lt-0old' }
      ]
    })
    expect((await check([image])).users.get(image)).toEqual(['launch template lt-0old'])
  })

  it('names the version when the listing of launch template versions finds it too', async () => {
    const [image] = ids(1) as [string]
    ec2Mock.on(DescribeImageReferencesCommand).resolves({
      ImageReferences: [
        { ImageId: image, ResourceType: 'ec2:LaunchTemplate', Arn: 'arn:aws:ec2:us-east-1:111122223333:launch-template/lt-0web' }
      ]
    })
    ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [{ LaunchTemplateId: 'lt-0web' }] })
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [templateVersion('lt-0web', 4, image)] })
    expect((await check([image])).users.get(image)).toEqual(['launch template lt-0web version 4'])
  })

  it('makes no call when there is no image to check', async () => {
    await check([])
    expect(ec2Mock.calls()).toHaveLength(0)
  })
})

describe('in-use checks of launch configurations and Spot', () => {
  it('counts a launch configuration, a fleet that can still launch and a live Spot request; not a cancelled fleet', async () => {
    const [byConfig, byFleet, bySpot, byCancelled] = ids(4) as [string, string, string, string]
    autoScalingMock.on(DescribeLaunchConfigurationsCommand).resolves({
      LaunchConfigurations: [
        {
          LaunchConfigurationName: 'web',
          ImageId: byConfig,
          InstanceType: 't3.micro',
          CreatedTime: new Date(),
          LaunchConfigurationARN: undefined
        }
      ] as never
    })
    ec2Mock.on(DescribeSpotFleetRequestsCommand).resolves({
      SpotFleetRequestConfigs: [
        {
          SpotFleetRequestId: 'sfr-1',
          SpotFleetRequestState: 'modifying',
          SpotFleetRequestConfig: { IamFleetRole: 'r', TargetCapacity: 1, LaunchSpecifications: [{ ImageId: byFleet }] }
        },
        {
          SpotFleetRequestId: 'sfr-2',
          SpotFleetRequestState: 'cancelled',
          SpotFleetRequestConfig: { IamFleetRole: 'r', TargetCapacity: 1, LaunchSpecifications: [{ ImageId: byCancelled }] }
        }
      ]
    })
    ec2Mock.on(DescribeSpotInstanceRequestsCommand).resolves({
      SpotInstanceRequests: [
        { SpotInstanceRequestId: 'sir-1', Type: 'persistent', State: 'open', LaunchSpecification: { ImageId: bySpot } }
      ]
    })
    const usage = await check([byConfig, byFleet, bySpot, byCancelled])
    expect(Object.fromEntries(usage.users)).toEqual({
      [byConfig]: ['launch configuration web'],
      [byFleet]: ['Spot Fleet request sfr-1 (modifying)'],
      [bySpot]: ['Spot request sir-1 (persistent, open)']
    })
    expect(ec2Mock.commandCalls(DescribeSpotInstanceRequestsCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'state', Values: ['open', 'active'] }
    ])
    expect(usage.unchecked).toBeUndefined()
  })

  it('follows every page of each listing', async () => {
    const [a, b, c, d, e, f] = ids(6) as [string, string, string, string, string, string]
    const config = (name: string, imageId: string) => ({
      LaunchConfigurationName: name,
      ImageId: imageId,
      InstanceType: 't3.micro',
      CreatedTime: new Date()
    })
    autoScalingMock
      .on(DescribeLaunchConfigurationsCommand)
      .resolvesOnce({ LaunchConfigurations: [config('one', a)], NextToken: 'lc-2' } as never)
      .resolves({ LaunchConfigurations: [config('two', b)] } as never)
    const fleet = (id: string, imageId: string) => ({
      SpotFleetRequestId: id,
      SpotFleetRequestState: 'active' as const,
      SpotFleetRequestConfig: { IamFleetRole: 'r', TargetCapacity: 1, LaunchSpecifications: [{ ImageId: imageId }] }
    })
    ec2Mock
      .on(DescribeSpotFleetRequestsCommand)
      .resolvesOnce({ SpotFleetRequestConfigs: [fleet('sfr-1', c)], NextToken: 'sf-2' })
      .resolves({ SpotFleetRequestConfigs: [fleet('sfr-2', d)] })
    const request = (id: string, imageId: string) => ({
      SpotInstanceRequestId: id,
      Type: 'persistent' as const,
      State: 'open' as const,
      LaunchSpecification: { ImageId: imageId }
    })
    ec2Mock
      .on(DescribeSpotInstanceRequestsCommand)
      .resolvesOnce({ SpotInstanceRequests: [request('sir-1', e)], NextToken: 'sr-2' })
      .resolves({ SpotInstanceRequests: [request('sir-2', f)] })
    const usage = await check([a, b, c, d, e, f])
    expect([a, b, c, d, e, f].every((id) => usage.users.has(id))).toBe(true)
    expect(autoScalingMock.commandCalls(DescribeLaunchConfigurationsCommand).map((call) => call.args[0].input.NextToken)).toEqual([
      undefined,
      'lc-2'
    ])
    expect(ec2Mock.commandCalls(DescribeSpotFleetRequestsCommand).map((call) => call.args[0].input.NextToken)).toEqual([undefined, 'sf-2'])
    expect(ec2Mock.commandCalls(DescribeSpotInstanceRequestsCommand).map((call) => call.args[0].input.NextToken)).toEqual([
      undefined,
      'sr-2'
    ])
  })

  it('fails closed when Spot requests cannot be listed, naming the permission', async () => {
    ec2Mock.on(DescribeSpotInstanceRequestsCommand).rejects(awsError('UnauthorizedOperation'))
    const usage = await check(ids(1))
    expect(usage.unchecked?.reason).toBe('not checked against Spot requests: allow ec2:DescribeSpotInstanceRequests')
    expect(usage.unchecked?.warning).toMatch(/^Spot requests could not be listed in us-east-1 .*Allow ec2:DescribeSpotInstanceRequests\.$/)
  })
})

describe('in-use checks without DescribeImageReferences', () => {
  it.each([
    ['credentials without the permission', awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.')],
    ['an endpoint that does not know the action', awsError('InvalidAction', 'The action DescribeImageReferences is not valid')],
    // What the SDK makes of moto's answer to an action it lacks: HTTP 500 with an HTML page.
    ['moto', awsError('Error', '@aws-sdk XML parse error: mismatched tags <html> and </title>.\n  Deserialization error: …')]
  ])('falls back to instances and every launch template version for %s, and says why', async (_, error) => {
    const [image] = ids(1) as [string]
    ec2Mock.on(DescribeImageReferencesCommand).rejects(error)
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: 'i-0123456789abcdef0', ImageId: image, State: { Name: 'stopped' } }] }]
    })
    const usage = await check([image])
    expect(usage.users.get(image)).toEqual(['instance i-0123456789abcdef0 (stopped)'])
    expect(usage.method).toMatch(
      /^DescribeInstances and SSM parameters of data type aws:ec2:image \(DescribeParameters, GetParameters\), because DescribeImageReferences failed: .*Image Builder recipes that name an image are not checked\) and every version of every launch template/s
    )
    expect(ec2Mock.commandCalls(DescribeImageReferencesCommand)).toHaveLength(1)
  })

  it('without DescribeImageReferences, keeps an image that an aws:ec2:image SSM parameter holds, and says so when SSM cannot be read', async () => {
    const [image, other] = ids(2) as [string, string]
    ec2Mock.on(DescribeImageReferencesCommand).rejects(awsError('UnauthorizedOperation'))
    ssmMock.on(DescribeParametersCommand).resolves({
      Parameters: [
        { Name: '/images/web/latest', DataType: 'aws:ec2:image' },
        { Name: '/notes/web', DataType: 'text' }
      ]
    })
    ssmMock.on(GetParametersCommand).resolves({ Parameters: [{ Name: '/images/web/latest', Value: image, DataType: 'aws:ec2:image' }] })
    const usage = await check([image, other])
    expect(usage.users.get(image)).toEqual(['SSM parameter /images/web/latest'])
    expect(usage.users.has(other)).toBe(false)
    expect(ssmMock.commandCalls(GetParametersCommand)[0]!.args[0].input.Names).toEqual(['/images/web/latest'])

    ssmMock.on(DescribeParametersCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform: ssm:DescribeParameters'))
    const denied = await check([image])
    expect(denied.users.has(image)).toBe(false)
    expect(denied.unchecked?.warning).toMatch(
      /SSM parameters could not be checked in us-east-1 \(.*ssm:DescribeParameters.*\), so no image an SSM parameter might name is retired there/
    )
    expect(denied.method).toMatch(/DescribeInstances and not SSM parameters \(DescribeParameters in us-east-1 .*ssm:DescribeParameters/)
  })

  it('keeps an image that an old version of a launch template pins, neither default nor latest, listing every page of every template', async () => {
    const [image] = ids(1) as [string]
    ec2Mock.on(DescribeImageReferencesCommand).rejects(awsError('UnauthorizedOperation'))
    ec2Mock
      .on(DescribeLaunchTemplatesCommand)
      .resolvesOnce({ LaunchTemplates: [{ LaunchTemplateId: 'lt-0web' }], NextToken: 'next' })
      .resolvesOnce({ LaunchTemplates: [{ LaunchTemplateId: 'lt-0api' }] })
    ec2Mock
      .on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-0web' })
      .resolvesOnce({ LaunchTemplateVersions: [templateVersion('lt-0web', 57, 'ami-0ffffffffffffffff', true)], NextToken: 'older' })
      .resolvesOnce({
        LaunchTemplateVersions: [templateVersion('lt-0web', 3, image), templateVersion('lt-0web', 1, 'ami-0eeeeeeeeeeeeeeee')]
      })
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-0api' }).resolves({ LaunchTemplateVersions: [] })
    const usage = await check([image])
    expect(usage.users.get(image)).toEqual(['launch template lt-0web version 3'])
    const asked = ec2Mock.commandCalls(DescribeLaunchTemplateVersionsCommand).map((call) => call.args[0].input)
    expect(asked).toHaveLength(3)
    for (const input of asked) {
      expect(input).toMatchObject({ ResolveAlias: true, MaxResults: 200 })
      expect(input.Versions).toBeUndefined()
    }
    expect(ec2Mock.commandCalls(DescribeLaunchTemplatesCommand)[1]!.args[0].input.NextToken).toBe('next')
  })

  it('keeps an image that a launch template takes from an SSM parameter, as EC2 resolves it', async () => {
    const [image] = ids(1) as [string]
    ec2Mock.on(DescribeImageReferencesCommand).rejects(awsError('UnauthorizedOperation'))
    ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [{ LaunchTemplateId: 'lt-0web' }] })
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).callsFake((input: { ResolveAlias?: boolean }) => ({
      LaunchTemplateVersions: [templateVersion('lt-0web', 2, input.ResolveAlias ? image : 'resolve:ssm:/golden/web', true)]
    }))
    expect((await check([image])).users.get(image)).toEqual(['launch template lt-0web version 2 (default)'])
  })

  it('asks about up to 200 images a call, in every state but terminated', async () => {
    ec2Mock.on(DescribeImageReferencesCommand).rejects(awsError('UnauthorizedOperation'))
    await check(ids(450))
    const calls = ec2Mock.commandCalls(DescribeInstancesCommand).map((call) => call.args[0].input.Filters)
    expect(calls.map((filters) => filters?.[0]?.Values?.length)).toEqual([200, 200, 50])
    expect(calls[0]?.[1]).toEqual({ Name: 'instance-state-name', Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] })
  })

  it('fails rather than falls back when DescribeImageReferences fails for another reason', async () => {
    ec2Mock.on(DescribeImageReferencesCommand).rejects(awsError('InvalidParameterValue', 'too many image ids'))
    await expect(check(ids(1))).rejects.toThrow(/DescribeImageReferences in us-east-1 for images ami-\w+ failed: InvalidParameterValue/)
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0)
  })
})

describe('references in the user words', () => {
  it.each([
    ['ec2:Instance', 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc', 'instance i-0abc'],
    ['ec2:LaunchTemplate', 'arn:aws:ec2:eu-west-1:111122223333:launch-template/lt-0abc', 'launch template lt-0abc'],
    ['ssm:Parameter', 'arn:aws:ssm:eu-west-1:111122223333:parameter/golden/web', 'SSM parameter /golden/web'],
    [
      'imagebuilder:ImageRecipe',
      'arn:aws:imagebuilder:eu-west-1:111122223333:image-recipe/web/1.0.0',
      'Image Builder image recipe web/1.0.0'
    ],
    [
      'imagebuilder:ContainerRecipe',
      'arn:aws:imagebuilder:eu-west-1:111122223333:container-recipe/api/2.1.0',
      'Image Builder container recipe api/2.1.0'
    ],
    ['something:New', 'arn:aws:something:eu-west-1:111122223333:thing/x', 'something:New arn:aws:something:eu-west-1:111122223333:thing/x']
  ])('names a %s reference', (type, arn, expected) => {
    expect(describeReference({ ResourceType: type as 'ec2:Instance', Arn: arn })).toBe(expected)
  })
})
