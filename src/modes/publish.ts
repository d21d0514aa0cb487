// publish: points consumers at the release, in every region — the SSM parameter that Terraform and
// launch templates read (data type aws:ec2:image), and a new launch template version that differs
// from the current default only in its image. Everything is read first, in every region, so a
// missing template or an unusable parameter fails the step before anything changes. Publishing an
// older release's images is a rollback, done the same way.
import { createHash } from 'node:crypto'
import { StepError, errorMessage } from '../errors.ts'
import { hasCode } from '../aws/errors.ts'
import { describeImages, eventually } from '../aws/images.ts'
import type { ResponseLaunchTemplateData } from '@aws-sdk/client-ec2'
import {
  createVersion,
  describeTemplate,
  InvalidVersion,
  mappingsToKeep,
  namesSnapshots,
  setDefaultVersion,
  versionData,
  versionImage,
  type TemplateInfo
} from '../aws/launch-templates.ts'
import { parameterTier, putImageParameter, readParameter, type ParameterState } from '../aws/parameters.ts'
import type { Published, ReleaseImage } from '../release.ts'
import { formatDuration, type Step } from '../step.ts'
import { waitForImages } from './wait.ts'

/**
 * How long to look for the value SSM stores: its check of aws:ec2:image "can take up to a few
 * minutes" (SSM User Guide, "Native parameter support for Amazon Machine Image IDs"), so about five
 * and a half minutes, polling every 30 s after the first few seconds.
 */
const CONFIRM_PAUSES_MS = [1000, 2000, 4000, 8000, 15_000, ...Array<number>(10).fill(30_000)]

/** What one region's targets hold before anything changes. */
interface RegionTargets {
  image: ReleaseImage
  parameter?: ParameterState | undefined
  template?:
    | {
        info: TemplateInfo
        defaultImage: string | undefined
        latestImage: string | undefined
        keepMappings: ReturnType<typeof mappingsToKeep>
      }
    | undefined
}

export async function publish(step: Step): Promise<void> {
  const { plan, release, log } = step
  const images = release.all()
  if (images.length === 0) {
    log.info('Dry run: no image was made, so there is nothing to publish.')
    return
  }
  if (!plan.dryRun) await waitForImages(step, images)
  const templates = plan.publish!.launchTemplates
  const untemplated = images.filter((image) => templates.size > 0 && !templates.has(image.region)).map((image) => image.region)
  if (untemplated.length > 0)
    log.info(`launch-template names no template for ${untemplated.join(', ')}: no launch template is changed there.`)

  const looked = await Promise.allSettled(images.map((image) => readTargets(step, image)))
  const problems = looked.flatMap((result) => (result.status === 'rejected' ? [errorMessage(result.reason)] : []))
  if (problems.length > 0) throw new StepError(`Nothing was published: ${problems.join('; ')}`)
  const targets = looked.map((result) => (result as PromiseFulfilledResult<RegionTargets>).value)

  const outcomes = await Promise.allSettled(targets.map((region) => publishRegion(step, region)))
  const failures = outcomes.flatMap((outcome, i) =>
    outcome.status === 'rejected' ? [`${targets[i]!.image.region}: ${errorMessage(outcome.reason)}`] : []
  )
  if (failures.length > 0) {
    throw new StepError(
      `Publishing failed in ${failures.length} of ${targets.length} regions (the summary shows what was published): ${failures.join('; ')}`
    )
  }
}

/** Reads the parameter and the template of one region; refuses what publish could not change safely. */
async function readTargets(step: Step, image: ReleaseImage): Promise<RegionTargets> {
  const rules = step.plan.publish!
  const { region } = image
  const targets: RegionTargets = { image }
  const name = rules.ssmParameter
  if (name !== undefined) {
    targets.parameter = await readParameter(step.aws, region, name)
    const existing = targets.parameter
    // SSM User Guide, "Parameter data types": a parameter cannot be changed to or from aws:ec2:image.
    if (existing && (existing.type !== 'String' || existing.dataType !== 'aws:ec2:image')) {
      throw new StepError(
        `ssm-parameter ${name} in ${region} is a ${existing.type} parameter of data type ${existing.dataType}, and SSM cannot turn it into an aws:ec2:image one: ` +
          'delete it (publish then creates it) or choose another name'
      )
    }
  }
  const wanted = rules.launchTemplates.get(region)
  if (wanted !== undefined) {
    const info = await describeTemplate(step.aws, region, wanted)
    if (!info) throw new StepError(`launch-template: there is no launch template '${wanted}' in ${region} (names and ids are per region)`)
    const [defaultData, latestImage] = await Promise.all([
      versionData(step.aws, region, info.id, info.defaultVersion, false),
      rules.makeDefault || info.latestVersion === info.defaultVersion
        ? undefined
        : versionImage(step.aws, region, info.id, info.latestVersion, true)
    ])
    targets.template = {
      info,
      defaultImage: defaultData?.ImageId,
      latestImage,
      keepMappings: mappingsToKeep(defaultData, namesSnapshots(defaultData) ? await snapshotsOf(step, region, defaultData) : undefined)
    }
  }
  return targets
}

/** The snapshots of the image a version launches now, or undefined if that image cannot be described. */
async function snapshotsOf(step: Step, region: string, data: ResponseLaunchTemplateData | undefined): Promise<Set<string> | undefined> {
  const imageId = data?.ImageId?.startsWith('resolve:ssm:') ? undefined : data?.ImageId
  if (!imageId) return undefined
  const [image] = await describeImages(step.aws, region, [imageId])
  return image ? new Set(image.snapshotIds) : undefined
}

async function publishRegion(step: Step, targets: RegionTargets): Promise<void> {
  const { image } = targets
  const published: Published = {}
  step.release.published.set(image.region, published)
  if (step.plan.publish!.ssmParameter !== undefined) await publishParameter(step, targets, published)
  if (targets.template) await publishTemplate(step, targets, published)
}

/**
 * Sets the parameter unless it holds the image already, then waits until SSM has stored the value:
 * its check of aws:ec2:image runs after PutParameter answers, and a refused value is never stored.
 */
async function publishParameter(step: Step, { image, parameter }: RegionTargets, published: Published): Promise<void> {
  const { region, imageId } = image
  const name = step.plan.publish!.ssmParameter!
  const record: NonNullable<Published['parameter']> = { name, imageId, changed: false, ...(parameter && { before: parameter.value }) }
  published.parameter = record
  if (parameter?.value === imageId) {
    record.version = parameter.version
    step.log.info(`SSM parameter ${name} in ${region} already holds ${imageId} (version ${parameter.version}): left alone.`)
    return
  }
  const was = parameter ? `was ${parameter.value}` : 'new'
  // From here on the parameter changes (or, in a dry run, would).
  record.changed = true
  if (step.plan.dryRun) {
    step.log.info(
      `Dry run: would set SSM parameter ${name} in ${region} to ${imageId} (${was}); SSM has no dry run, so ssm:PutParameter is not checked.`
    )
    return
  }
  const tier = parameter ? await parameterTier(step.aws, region, name) : undefined
  let version = 0
  let refused: unknown
  try {
    version = await putImageParameter(step.aws, region, name, imageId, tier)
  } catch (error) {
    // A reply lost after SSM took the value, retried into "validation still in process", looks
    // like a failure but may land: what SSM stores decides. A refusal on its face does not.
    if (isRefusal(error)) throw error
    refused = error
  }
  const stored = await eventually(
    async () => {
      const now = await readParameter(step.aws, region, name)
      // The version PutParameter announced, or (its answer lost) the value itself.
      // The version PutParameter announced — or, since a refused put before ours may leave its
      // number unused, our value at any version newer than the one before.
      const landed =
        (version > 0 && now !== undefined && now.version >= version) || (now?.value === imageId && now.version > (parameter?.version ?? 0))
      return landed ? now : undefined
    },
    (ms) => step.sleep(ms, step.signal),
    CONFIRM_PAUSES_MS
  )
  if (!stored) {
    const answered = refused === undefined ? `PutParameter answered version ${version}` : `PutParameter failed (${errorMessage(refused)})`
    throw new StepError(
      `SSM has not stored ${imageId} in parameter ${name} in ${region} after ${formatDuration(CONFIRM_PAUSES_MS.reduce((a, b) => a + b, 0))}: ${answered}, ` +
        `but SSM's check of data type aws:ec2:image refused the value (the image must exist in ${region}, be available, and be usable by this account) or is still running. ` +
        `The parameter held ${parameter?.value ?? 'nothing'} before; Parameter Store's EventBridge events give SSM's reason.`
    )
  }
  if (stored.value !== imageId) {
    throw new StepError(
      `SSM parameter ${name} in ${region} holds ${stored.value} at version ${stored.version}: something else wrote it after this step set ${imageId}.`
    )
  }
  record.version = stored.version
  step.log.info(`SSM parameter ${name} in ${region} now holds ${imageId} (version ${stored.version}; ${was}).`)
}

/**
 * A new version from the default with only the image changed, made the default (unless
 * launch-template-default is false). A default that already launches the image — by id, or through a
 * resolve:ssm: parameter that now holds it — needs no new version.
 */
async function publishTemplate(step: Step, targets: RegionTargets, published: Published): Promise<void> {
  const { image } = targets
  const { region, imageId } = image
  const { info, defaultImage, latestImage, keepMappings } = targets.template!
  const makeDefault = step.plan.publish!.makeDefault
  const record: NonNullable<Published['launchTemplate']> = {
    id: info.id,
    name: info.name,
    imageId,
    previousDefault: info.defaultVersion,
    ...(defaultImage !== undefined && { previousImage: defaultImage }),
    // 0 until a version is known to launch the image: the output names only such versions.
    version: 0,
    isDefault: false,
    changed: false
  }
  published.launchTemplate = record
  const where = `launch template ${info.name} (${info.id}) in ${region}`
  // The parameter may have just changed: resolve the default's image as EC2 would launch it now.
  const defaultLaunches = defaultImage?.startsWith('resolve:ssm:')
    ? await versionImage(step.aws, region, info.id, info.defaultVersion, true)
    : defaultImage
  if (defaultLaunches === imageId) {
    Object.assign(record, { version: info.defaultVersion, isDefault: true })
    step.log.info(`Default version ${info.defaultVersion} of ${where} already launches ${imageId}: no new version.`)
    return
  }
  if (!makeDefault && latestImage === imageId) {
    Object.assign(record, { version: info.latestVersion, isDefault: false })
    step.log.info(`Latest version ${info.latestVersion} of ${where} already launches ${imageId}: no new version.`)
    return
  }
  if (defaultImage?.startsWith('resolve:ssm:')) {
    step.log.warning(
      `Default version ${info.defaultVersion} of ${where} takes its image from ${defaultImage}; the new version names ${imageId} itself.`
    )
  }
  let version: number
  try {
    version = await createVersion(
      step.aws,
      region,
      {
        templateId: info.id,
        sourceVersion: info.defaultVersion,
        imageId,
        blockDeviceMappings: keepMappings,
        description: `${image.name} (${imageId}) by AMI Pipeline`.slice(0, 255),
        clientToken: versionToken(step, region, info.id, info.defaultVersion, imageId)
      },
      step.plan.dryRun
    )
  } catch (error) {
    if (!(error instanceof InvalidVersion)) throw error
    Object.assign(record, { version: error.version, changed: true })
    throw new StepError(`${error.message}. It was not made the default of ${where}; fix the template (or delete that version) and re-run.`)
  }
  if (step.plan.dryRun) {
    if (makeDefault) await setDefaultVersion(step.aws, region, info.id, info.defaultVersion, true)
    Object.assign(record, { changed: true, isDefault: makeDefault })
    step.log.info(
      `Dry run: a version of ${where} from version ${info.defaultVersion} with ${imageId}${makeDefault ? ', made the default,' : ''} would be allowed; none was made.`
    )
    return
  }
  // Recorded before it is made the default: if that fails, the summary still names the new version.
  Object.assign(record, { version, changed: true })
  if (makeDefault) {
    await setDefaultVersion(step.aws, region, info.id, version, false)
    record.isDefault = true
  }
  step.log.info(
    `Added version ${version} of ${where}: version ${info.defaultVersion} with ${imageId}${makeDefault ? ', now the default' : ' (the default is still ' + info.defaultVersion + ')'}.`
  )
}

/**
 * SSM said no on its face: any 4xx but throttling that outlasted the retries. A 5xx, a timeout or
 * throttling is ambiguous — the put may have landed — and what SSM stores decides.
 */
function isRefusal(error: unknown): boolean {
  type WithStatus = { $metadata?: { httpStatusCode?: number } }
  const status = ((error as { cause?: WithStatus }).cause ?? (error as WithStatus)).$metadata?.httpStatusCode
  if (hasCode(error, 'ThrottlingException')) return false
  return (status !== undefined && status >= 400 && status < 500) || hasCode(error, 'AccessDeniedException', 'ValidationException')
}

/**
 * One token per run, template, source version and image: a retried call, or a re-run of the same
 * workflow run, gets the version the first call made instead of a second one; another source
 * version or image is another request.
 */
function versionToken(step: Step, region: string, templateId: string, sourceVersion: number, imageId: string): string {
  const { repository, runId } = step.run
  return createHash('sha256')
    .update(`ami-pipeline publish|${repository}|${runId}|${region}|${templateId}|${sourceVersion}|${imageId}`)
    .digest('hex')
    .slice(0, 64)
}
