// publish with the SDK mocked: the cases a local server cannot show — SSM's asynchronous check
// refusing a value, a template that follows the parameter, the version request itself.
import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplatesCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  ModifyLaunchTemplateCommand,
  type DescribeLaunchTemplateVersionsCommandInput
} from '@aws-sdk/client-ec2'
import { DescribeParametersCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { mockClient } from 'aws-sdk-client-mock'
import { mappingsToKeep } from '../../src/aws/launch-templates.ts'
import { publish as publishMode } from '../../src/modes/publish/publish.ts'
import { outputsOf } from '../../src/report.ts'
import { afterAttempts, awsError } from '../support/aws-error.ts'
import { testStep, type Given, type TestStep } from '../support/step.ts'

const publish = (step: TestStep) => publishMode(step, step.plan.publish!)

const ec2 = mockClient(EC2Client)
const ssm = mockClient(SSMClient)
const IMAGE = 'ami-0123456789abcdef0'
const OLD = 'ami-0fedcba9876543210'
const TEMPLATE = 'lt-0123456789abcdef0'

function step(given: Given) {
  const made = testStep({ mode: 'publish', 'image-id': IMAGE, ...given })
  made.release.add({ region: 'us-east-1', imageId: IMAGE, name: 'web-2', origin: 'given', state: 'available', snapshotIds: [] })
  return made
}

/** Template 'web': default version 3 launching `defaultImage`, latest version `latest`. */
function serveTemplate(defaultImage: string, latest = 3, latestImage = defaultImage): void {
  ec2.on(DescribeLaunchTemplatesCommand).resolves({
    LaunchTemplates: [{ LaunchTemplateId: TEMPLATE, LaunchTemplateName: 'web', DefaultVersionNumber: 3, LatestVersionNumber: latest }]
  })
  ec2.on(DescribeLaunchTemplateVersionsCommand).callsFake((input: DescribeLaunchTemplateVersionsCommandInput) => {
    const version = input.Versions?.[0]
    const raw = version === '3' ? defaultImage : latestImage
    const image = input.ResolveAlias && raw.startsWith('resolve:ssm:') ? IMAGE : raw
    return { LaunchTemplateVersions: [{ VersionNumber: Number(version), LaunchTemplateData: { ImageId: image } }] }
  })
  ec2.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: latest + 1 } })
  ec2.on(ModifyLaunchTemplateCommand).resolves({})
}

beforeEach(() => {
  ec2.reset()
  ssm.reset()
  ssm.on(DescribeParametersCommand).resolves({ Parameters: [{ Name: '/images/web', Tier: 'Standard' }] })
})

describe('publish to an SSM parameter', () => {
  it('fails naming the region, what the parameter held and where SSM gives its reason, when SSM never shows the value', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: OLD, Version: 3, Type: 'String', DataType: 'aws:ec2:image' } })
    ssm.on(PutParameterCommand).resolves({ Version: 4 })
    const s = step({ 'ssm-parameter': '/images/web' })
    await expect(publish(s)).rejects.toThrow(
      new RegExp(
        `us-east-1: SSM has not shown ${IMAGE} in parameter /images/web in us-east-1 after 5m30s: PutParameter answered version 4\\. .*` +
          `SSM may still store it, or its check refused it: it gives its reason only in Parameter Store's EventBridge events\\. The parameter held ${OLD} before`
      )
    )
    expect(ssm.commandCalls(PutParameterCommand)[0]!.args[0].input).toEqual({
      Name: '/images/web',
      Value: IMAGE,
      Type: 'String',
      DataType: 'aws:ec2:image',
      Overwrite: true,
      // Its own tier: without one SSM would apply the account's default tier setting.
      Tier: 'Standard'
    })
    // It looked again for five and a half minutes before giving up, and the summary says it is not confirmed.
    expect(s.sleeps.reduce((a, b) => a + b, 0)).toBe(330_000)
    expect(s.journal.published.get('us-east-1')?.parameter).toEqual({
      name: '/images/web',
      imageId: IMAGE,
      before: OLD,
      changed: true,
      unconfirmed: true
    })
  })

  it('fails at once with SSM’s words when its first answer refuses the put, as while another value is being validated', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: OLD, Version: 3, Type: 'String', DataType: 'aws:ec2:image' } })
    ssm
      .on(PutParameterCommand)
      .rejects(
        awsError('ValidationException', 'Parameter /images/web: validation is still in process.', { httpStatusCode: 400, attempts: 1 })
      )
    const s = step({ 'ssm-parameter': '/images/web' })
    await expect(publish(s)).rejects.toThrow(
      /PutParameter in us-east-1 for parameter \/images\/web failed: ValidationException: .*still in process/
    )
    expect(s.sleeps).toEqual([])
    expect(s.journal.published.get('us-east-1')?.parameter).toEqual({ name: '/images/web', imageId: IMAGE, before: OLD, changed: true })
  })

  it('refuses, before any put, a value the parameter’s AllowedPattern does not take', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: OLD, Version: 3, Type: 'String', DataType: 'aws:ec2:image' } })
    ssm
      .on(DescribeParametersCommand)
      .resolves({ Parameters: [{ Name: '/images/web', Tier: 'Standard', AllowedPattern: '^ami-[0-9a-f]{8}$' }] })
    await expect(publish(step({ 'ssm-parameter': '/images/web' }))).rejects.toThrow(
      `Nothing was published: ssm-parameter /images/web in us-east-1 only takes values matching its AllowedPattern ^ami-[0-9a-f]{8}$, and ${IMAGE} does not`
    )
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0)
  })

  it('reports success only once SSM has stored the new version', async () => {
    let reads = 0
    ssm.on(GetParameterCommand).callsFake(() => {
      reads++
      // Before the put, and once after it while SSM is still checking: the old value.
      const stored = reads >= 3
      return { Parameter: { Value: stored ? IMAGE : OLD, Version: stored ? 4 : 3, Type: 'String', DataType: 'aws:ec2:image' } }
    })
    ssm.on(PutParameterCommand).resolves({ Version: 4 })
    const s = step({ 'ssm-parameter': '/images/web' })
    await publish(s)
    expect(s.journal.published.get('us-east-1')?.parameter).toEqual({
      name: '/images/web',
      imageId: IMAGE,
      before: OLD,
      version: 4,
      changed: true
    })
    expect(s.log.text()).toContain(`SSM parameter /images/web in us-east-1 now holds ${IMAGE} (version 4; was ${OLD})`)
  })

  it('keeps an advanced parameter advanced when it overwrites it', async () => {
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [{ Name: '/images/web', Tier: 'Advanced' }] })
    let stored = false
    ssm.on(GetParameterCommand).callsFake(() => ({
      Parameter: { Value: stored ? IMAGE : OLD, Version: stored ? 4 : 3, Type: 'String', DataType: 'aws:ec2:image' }
    }))
    ssm.on(PutParameterCommand).callsFake(() => {
      stored = true
      return { Version: 4 }
    })
    await publish(step({ 'ssm-parameter': '/images/web' }))
    expect(ssm.commandCalls(PutParameterCommand)[0]!.args[0].input.Tier).toBe('Advanced')
  })

  it('leaves a parameter that already holds the image alone: no new parameter version', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: IMAGE, Version: 7, Type: 'String', DataType: 'aws:ec2:image' } })
    const s = step({ 'ssm-parameter': '/images/web' })
    await publish(s)
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0)
    expect(s.journal.published.get('us-east-1')?.parameter).toMatchObject({ version: 7, changed: false })
  })

  it('confirms by the value itself when the PutParameter reply was lost and its retry refused', async () => {
    let stored = false
    ssm.on(GetParameterCommand).callsFake(() => ({
      Parameter: { Value: stored ? IMAGE : OLD, Version: stored ? 4 : 3, Type: 'String', DataType: 'aws:ec2:image' }
    }))
    // The first attempt's answer was lost; the SDK's retry met our own put still being validated.
    const retried = await afterAttempts(
      {
        error: awsError('InternalServerError', 'An error occurred on the server side', { httpStatusCode: 500 }),
        errorType: 'TRANSIENT'
      },
      {
        error: awsError('ValidationException', 'validation is still in process', { httpStatusCode: 400, attempts: 2 }),
        errorType: 'CLIENT_ERROR'
      }
    )
    ssm.on(PutParameterCommand).callsFake(() => {
      stored = true
      throw retried
    })
    const s = step({ 'ssm-parameter': '/images/web' })
    await publish(s)
    expect(s.journal.published.get('us-east-1')?.parameter).toMatchObject({ version: 4, changed: true })
  })

  it('names the IAM permission when the role may not write the parameter', async () => {
    ssm.on(GetParameterCommand).rejects(awsError('ParameterNotFound'))
    ssm
      .on(PutParameterCommand)
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: ssm:PutParameter', { httpStatusCode: 400, attempts: 1 }))
    await expect(publish(step({ 'ssm-parameter': '/images/web' }))).rejects.toThrow(
      /PutParameter in us-east-1 for parameter \/images\/web failed: AccessDeniedException: .* the credentials lack the IAM permission ssm:PutParameter/
    )
  })
})

describe('publish to a launch template', () => {
  it('adds a version from the default with only the image, makes it the default, and sends the same ClientToken on a re-run attempt', async () => {
    serveTemplate(OLD, 5)
    const first = step({ 'launch-template': 'web' })
    await publish(first)
    const sent = ec2.commandCalls(CreateLaunchTemplateVersionCommand)[0]!.args[0].input
    expect(sent).toMatchObject({ LaunchTemplateId: TEMPLATE, SourceVersion: '3', LaunchTemplateData: { ImageId: IMAGE } })
    expect(Object.keys(sent.LaunchTemplateData!)).toEqual(['ImageId'])
    expect(ec2.commandCalls(ModifyLaunchTemplateCommand)[0]!.args[0].input).toEqual({ LaunchTemplateId: TEMPLATE, DefaultVersion: '6' })
    expect(first.journal.published.get('us-east-1')?.launchTemplate).toMatchObject({
      version: 6,
      isDefault: true,
      previousDefault: 3,
      previousImage: OLD
    })

    const again = step({ 'launch-template': 'web' })
    again.run = { ...again.run, runAttempt: '2' }
    await publish(again)
    expect(ec2.commandCalls(CreateLaunchTemplateVersionCommand)[1]!.args[0].input.ClientToken).toBe(sent.ClientToken)
  })

  it('reports the new version, not as the default, when making it the default fails; a failed version request names no version', async () => {
    serveTemplate(OLD, 5)
    ec2.on(ModifyLaunchTemplateCommand).rejects(awsError('UnauthorizedOperation'))
    const s = step({ 'launch-template': 'web' })
    await expect(publish(s)).rejects.toThrow(/ModifyLaunchTemplate in us-east-1 .* ec2:ModifyLaunchTemplate/)
    expect(s.journal.published.get('us-east-1')?.launchTemplate).toMatchObject({ version: 6, isDefault: false, changed: true })
    expect(JSON.parse(outputsOf(s.release, s.journal)['launch-template-versions'])).toEqual({ 'us-east-1': 6 })

    ec2.reset()
    serveTemplate(OLD, 5)
    ec2.on(CreateLaunchTemplateVersionCommand).rejects(awsError('UnauthorizedOperation'))
    const failed = step({ 'launch-template': 'web' })
    await expect(publish(failed)).rejects.toThrow(/CreateLaunchTemplateVersion/)
    expect(JSON.parse(outputsOf(failed.release, failed.journal)['launch-template-versions'])).toEqual({})
  })

  it('never makes a version EC2 reports not valid the default, and names it', async () => {
    serveTemplate(OLD, 5)
    ec2.on(CreateLaunchTemplateVersionCommand).resolves({
      LaunchTemplateVersion: { VersionNumber: 6 },
      Warning: { Errors: [{ Code: 'InvalidInstanceType', Message: 'The instance type t9.huge does not exist' }] }
    })
    const s = step({ 'launch-template': 'web' })
    await expect(publish(s)).rejects.toThrow(
      /EC2 made version 6 but reports it not valid: InvalidInstanceType: The instance type t9.huge does not exist/
    )
    expect(ec2.commandCalls(ModifyLaunchTemplateCommand)).toHaveLength(0)
    expect(s.journal.published.get('us-east-1')?.launchTemplate).toMatchObject({ version: 6, isDefault: false, invalid: true })
    // Not "the version that now launches the image": the output leaves it out.
    expect(JSON.parse(outputsOf(s.release, s.journal)['launch-template-versions'])).toEqual({})
  })

  it('adds no version when the default takes its image from a parameter that now holds the image', async () => {
    serveTemplate('resolve:ssm:/images/web')
    const s = step({ 'launch-template': 'web' })
    await publish(s)
    expect(ec2.commandCalls(CreateLaunchTemplateVersionCommand)).toHaveLength(0)
    expect(s.journal.published.get('us-east-1')?.launchTemplate).toMatchObject({ version: 3, isDefault: true, changed: false })
  })

  it('starts from the default the template has when the version is made, not the one it had before SSM was confirmed', async () => {
    serveTemplate(OLD, 5)
    let looks = 0
    ec2.on(DescribeLaunchTemplatesCommand).callsFake(() => {
      looks++
      // Someone made version 5 the default while the step waited on SSM.
      const defaultVersion = looks === 1 ? 3 : 5
      return {
        LaunchTemplates: [
          { LaunchTemplateId: TEMPLATE, LaunchTemplateName: 'web', DefaultVersionNumber: defaultVersion, LatestVersionNumber: 5 }
        ]
      }
    })
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: IMAGE, Version: 2, Type: 'String', DataType: 'aws:ec2:image' } })
    const s = step({ 'launch-template': 'web', 'ssm-parameter': '/images/web' })
    await publish(s)
    expect(ec2.commandCalls(CreateLaunchTemplateVersionCommand)[0]!.args[0].input.SourceVersion).toBe('5')
    expect(s.journal.published.get('us-east-1')?.launchTemplate).toMatchObject({ previousDefault: 5, version: 6, isDefault: true })
  })

  it('reports a version EC2 made although CreateLaunchTemplateVersion failed, and a default EC2 set although ModifyLaunchTemplate failed', async () => {
    serveTemplate(OLD, 5)
    ec2
      .on(CreateLaunchTemplateVersionCommand)
      .rejects(awsError('InternalError', 'An internal error has occurred', { httpStatusCode: 500, attempts: 12 }))
    ec2.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: TEMPLATE, MinVersion: '5' }).resolves({
      LaunchTemplateVersions: [
        { VersionNumber: 5, LaunchTemplateData: { ImageId: OLD } },
        { VersionNumber: 6, LaunchTemplateData: { ImageId: IMAGE }, VersionDescription: `web-2 (${IMAGE}) by AMI Pipeline` },
        // Someone else's version of the same image, made meanwhile: not this step's.
        { VersionNumber: 7, LaunchTemplateData: { ImageId: IMAGE }, VersionDescription: 'by hand' }
      ]
    })
    const lost = step({ 'launch-template': 'web' })
    await expect(publish(lost)).rejects.toThrow(/EC2 made version 6 of launch template web .* all the same; it was not made the default/)
    expect(lost.journal.published.get('us-east-1')?.launchTemplate).toMatchObject({ version: 6, changed: true, isDefault: false })
    expect(JSON.parse(outputsOf(lost.release, lost.journal)['launch-template-versions'])).toEqual({ 'us-east-1': 6 })

    ec2.reset()
    serveTemplate(OLD, 5)
    let defaultVersion = 3
    ec2.on(DescribeLaunchTemplatesCommand).callsFake(() => ({
      LaunchTemplates: [
        { LaunchTemplateId: TEMPLATE, LaunchTemplateName: 'web', DefaultVersionNumber: defaultVersion, LatestVersionNumber: 6 }
      ]
    }))
    ec2.on(ModifyLaunchTemplateCommand).callsFake(() => {
      defaultVersion = 6
      throw awsError('InternalError', 'An internal error has occurred', { httpStatusCode: 500, attempts: 12 })
    })
    const answerLost = step({ 'launch-template': 'web' })
    await publish(answerLost)
    expect(answerLost.journal.published.get('us-east-1')?.launchTemplate).toMatchObject({ version: 6, isDefault: true })
  })

  it('keeps a data volume’s snapshot when the default takes its image from another parameter, whose image it resolves', async () => {
    const rootSnapshot = 'snap-0aaaaaaaaaaaaaaaa'
    const dataSnapshot = 'snap-0dddddddddddddddd'
    ec2.on(DescribeLaunchTemplatesCommand).resolves({
      LaunchTemplates: [{ LaunchTemplateId: TEMPLATE, LaunchTemplateName: 'web', DefaultVersionNumber: 3, LatestVersionNumber: 3 }]
    })
    ec2.on(DescribeLaunchTemplateVersionsCommand).callsFake((input: DescribeLaunchTemplateVersionsCommandInput) => ({
      LaunchTemplateVersions: [
        {
          VersionNumber: 3,
          LaunchTemplateData: {
            ImageId: input.ResolveAlias ? OLD : 'resolve:ssm:/base/ami',
            BlockDeviceMappings: [
              { DeviceName: '/dev/xvda', Ebs: { SnapshotId: rootSnapshot } },
              { DeviceName: '/dev/sdf', Ebs: { SnapshotId: dataSnapshot } }
            ]
          }
        }
      ]
    }))
    ec2.on(DescribeImagesCommand).resolves({
      Images: [{ ImageId: OLD, State: 'available', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: rootSnapshot } }] }]
    })
    ec2.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: 4 } })
    ec2.on(ModifyLaunchTemplateCommand).resolves({})
    await publish(step({ 'launch-template': 'web' }))
    expect(ec2.commandCalls(CreateLaunchTemplateVersionCommand)[0]!.args[0].input.LaunchTemplateData!.BlockDeviceMappings).toEqual([
      { DeviceName: '/dev/xvda', Ebs: {} },
      { DeviceName: '/dev/sdf', Ebs: { SnapshotId: dataSnapshot } }
    ])
  })

  it('in a dry run, adds no version to a default that reads the very parameter the step publishes', async () => {
    serveTemplate('resolve:ssm:/images/web')
    ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({
      // The parameter still holds the old image: a dry run does not set it.
      LaunchTemplateVersions: [{ VersionNumber: 3, LaunchTemplateData: { ImageId: 'resolve:ssm:/images/web' } }]
    })
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: OLD, Version: 3, Type: 'String', DataType: 'aws:ec2:image' } })
    const s = step({ 'launch-template': 'web', 'ssm-parameter': '/images/web', 'dry-run': 'true' })
    await publish(s)
    expect(ec2.commandCalls(CreateLaunchTemplateVersionCommand)).toHaveLength(0)
    expect(s.journal.published.get('us-east-1')?.launchTemplate).toMatchObject({ version: 3, isDefault: true, changed: false })
  })

  it('with launch-template-default false, adds a version and leaves the default; a latest version with the image is already published', async () => {
    serveTemplate(OLD, 5)
    const s = step({ 'launch-template': 'web', 'launch-template-default': 'false' })
    await publish(s)
    expect(ec2.commandCalls(ModifyLaunchTemplateCommand)).toHaveLength(0)
    expect(s.journal.published.get('us-east-1')?.launchTemplate).toMatchObject({ version: 6, isDefault: false, changed: true })

    ec2.reset()
    serveTemplate(OLD, 6, IMAGE)
    const again = step({ 'launch-template': 'web', 'launch-template-default': 'false' })
    await publish(again)
    expect(ec2.commandCalls(CreateLaunchTemplateVersionCommand)).toHaveLength(0)
    expect(again.journal.published.get('us-east-1')?.launchTemplate).toMatchObject({ version: 6, isDefault: false, changed: false })
  })

  it('in a dry run checks both calls with DryRun and changes nothing', async () => {
    serveTemplate(OLD, 5)
    ec2.on(CreateLaunchTemplateVersionCommand).rejects(awsError('DryRunOperation'))
    ec2.on(ModifyLaunchTemplateCommand).rejects(awsError('DryRunOperation'))
    ssm.on(GetParameterCommand).rejects(awsError('ParameterNotFound'))
    const s = step({ 'launch-template': 'web', 'ssm-parameter': '/images/web', 'dry-run': 'true' })
    await publish(s)
    expect(ec2.commandCalls(CreateLaunchTemplateVersionCommand)[0]!.args[0].input.DryRun).toBe(true)
    expect(ec2.commandCalls(ModifyLaunchTemplateCommand)[0]!.args[0].input.DryRun).toBe(true)
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0)
    expect(s.log.text()).toContain('SSM has no dry run, so ssm:PutParameter is not checked')
  })
})

describe('the block device mappings of a new version', () => {
  const template = {
    ImageId: OLD,
    BlockDeviceMappings: [
      { DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa', VolumeSize: 30, VolumeType: 'gp3' as const } },
      { DeviceName: '/dev/xvdb', Ebs: { SnapshotId: 'snap-0bbbbbbbbbbbbbbbb', DeleteOnTermination: true } }
    ]
  }

  it("are given again when a mapping names a snapshot the old image does not have, without the old image's own snapshots", () => {
    expect(mappingsToKeep(template, new Set(['snap-0aaaaaaaaaaaaaaaa']))).toEqual([
      { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30, VolumeType: 'gp3' } },
      { DeviceName: '/dev/xvdb', Ebs: { SnapshotId: 'snap-0bbbbbbbbbbbbbbbb', DeleteOnTermination: true } }
    ])
  })

  it("are left to SourceVersion (which drops every snapshot) when they name only the old image's snapshots, or the old image is unknown", () => {
    expect(mappingsToKeep(template, new Set(['snap-0aaaaaaaaaaaaaaaa', 'snap-0bbbbbbbbbbbbbbbb']))).toBeUndefined()
    expect(mappingsToKeep(template, undefined)).toBeUndefined()
    expect(
      mappingsToKeep({ ImageId: OLD, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30 } }] }, new Set())
    ).toBeUndefined()
  })
})
