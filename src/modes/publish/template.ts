// publish to a launch template: a new version that is the current default with only the image
// changed (SourceVersion), made the default unless launch-template-default is false. After the
// step has waited on SSM, the template is read again right before the version is made, so a default
// changed meanwhile is the one the new version starts from.
import { createHash } from 'node:crypto'
import { describeImages } from '../../aws/images.ts'
import {
  createVersion,
  describeTemplate,
  findVersion,
  InvalidVersion,
  mappingsToKeep,
  namesSnapshots,
  setDefaultVersion,
  versionData,
  versionImage,
  type TemplateInfo
} from '../../aws/launch-templates.ts'
import { anAttemptWentUnanswered } from '../../aws/retry.ts'
import { lookAgain, type Context } from '../../context.ts'
import { StepError, errorMessage } from '../../errors.ts'
import type { PublishPlan } from '../../inputs/index.ts'
import type { Published, PublishedTemplate as TemplateRecord } from '../../journal.ts'
import type { ReleaseImage } from '../../release.ts'
import { formatDuration } from '../../time.ts'

export async function publishTemplate(
  context: Context,
  rules: PublishPlan,
  image: ReleaseImage,
  found: TemplateInfo,
  published: Published
): Promise<void> {
  const { region, imageId } = image
  // Read again only when the step has waited on SSM since: a template read moments ago is current.
  const waited = rules.ssmParameter !== undefined && !context.plan.dryRun
  const info = (waited ? await describeTemplate(context.aws, region, found.id) : undefined) ?? found
  const defaultData = await versionData(context.aws, region, info.id, info.defaultVersion, false)
  const defaultImage = defaultData?.ImageId
  const record: TemplateRecord = {
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

  const defaultLaunches = await launchedImage(context, rules, image, info, defaultImage)
  if (await alreadyLaunches(context, rules, image, info, defaultLaunches, record)) return
  if (defaultImage?.startsWith('resolve:ssm:')) {
    context.log.warning(
      `Default version ${info.defaultVersion} of ${where(info, region)} takes its image from ${defaultImage}; the new version names ${imageId} itself.`
    )
  }
  const oldSnapshots = namesSnapshots(defaultData) ? await snapshotsOf(context, region, defaultLaunches) : undefined
  const description = `${image.name} (${imageId}) by AMI Pipeline`.slice(0, 255)
  let version: number
  try {
    // In a dry run the AWS layer only checks it, and answers 0.
    version = await createVersion(context.aws, region, {
      templateId: info.id,
      sourceVersion: info.defaultVersion,
      imageId,
      blockDeviceMappings: mappingsToKeep(defaultData, oldSnapshots),
      description,
      clientToken: versionToken(context, region, info.id, info.defaultVersion, imageId)
    })
  } catch (error) {
    throw await versionFailure(context, region, info, { record, description }, error)
  }
  await settleVersion(context, rules, region, info, record, version)
}

function where(info: TemplateInfo, region: string): string {
  return `launch template ${info.name} (${info.id}) in ${region}`
}

/** The default (or, when it stays the default, the latest) version launches the image already: no new version. */
async function alreadyLaunches(
  context: Context,
  rules: PublishPlan,
  image: ReleaseImage,
  info: TemplateInfo,
  defaultLaunches: string | undefined,
  record: TemplateRecord
): Promise<boolean> {
  const { region, imageId } = image
  if (defaultLaunches === imageId) {
    Object.assign(record, { version: info.defaultVersion, isDefault: true })
    context.log.info(`Default version ${info.defaultVersion} of ${where(info, region)} already launches ${imageId}: no new version.`)
    return true
  }
  if (rules.makeDefault || info.latestVersion === info.defaultVersion) return false
  if ((await versionImage(context.aws, region, info.id, info.latestVersion, true)) !== imageId) return false
  record.version = info.latestVersion
  context.log.info(`Latest version ${info.latestVersion} of ${where(info, region)} already launches ${imageId}: no new version.`)
  return true
}

/** The version made (or, in a dry run, checked): recorded, then made the default unless told otherwise. */
async function settleVersion(
  context: Context,
  rules: PublishPlan,
  region: string,
  info: TemplateInfo,
  record: TemplateRecord,
  version: number
): Promise<void> {
  const { makeDefault } = rules
  const imageId = record.imageId
  if (context.plan.dryRun) {
    if (makeDefault) await setDefaultVersion(context.aws, region, info.id, info.defaultVersion)
    Object.assign(record, { changed: true, isDefault: makeDefault })
    context.log.info(
      `Dry run: a version of ${where(info, region)} from version ${info.defaultVersion} with ${imageId}${makeDefault ? ', made the default,' : ''} would be allowed; none was made.`
    )
    return
  }
  // Recorded before it is made the default: if that fails, the summary still names the new version.
  Object.assign(record, { version, changed: true })
  if (makeDefault) await makeDefaultVersion(context, region, info, record)
  context.log.info(
    `Added version ${version} of ${where(info, region)}: version ${info.defaultVersion} with ${imageId}${makeDefault ? ', now the default' : ` (the default is still ${info.defaultVersion})`}.`
  )
}

/**
 * The image the default version launches now: its image id, or what its resolve:ssm: parameter
 * holds (ResolveAlias). A dry run has not set ssm-parameter, so a default that reads exactly that
 * parameter (no version or label pinned) counts as launching the image the parameter would hold.
 */
async function launchedImage(
  context: Context,
  rules: PublishPlan,
  image: ReleaseImage,
  info: TemplateInfo,
  written: string | undefined
): Promise<string | undefined> {
  if (!written?.startsWith('resolve:ssm:')) return written
  const { ssmParameter } = rules
  if (context.plan.dryRun && ssmParameter !== undefined && written === `resolve:ssm:${ssmParameter}`) return image.imageId
  return versionImage(context.aws, image.region, info.id, info.defaultVersion, true)
}

/** The snapshots of the image a version launches, or undefined if that image cannot be described. */
async function snapshotsOf(context: Context, region: string, imageId: string | undefined): Promise<Set<string> | undefined> {
  if (!imageId || imageId.startsWith('resolve:ssm:')) return undefined
  const [image] = await describeImages(context.aws, region, [imageId])
  return image ? new Set(image.snapshotIds) : undefined
}

/**
 * What a failed CreateLaunchTemplateVersion leaves to report. A version EC2 reports not valid is
 * never made the default. Any other failure may have come after EC2 made the version (a lost
 * answer, the retries running out; EC2 API Reference, "Ensuring idempotency"): the template's newer
 * versions are looked at, so that a version this step made is reported, not lost.
 */
async function versionFailure(
  context: Context,
  region: string,
  info: TemplateInfo,
  { record, description }: { record: TemplateRecord; description: string },
  error: unknown
): Promise<unknown> {
  const place = where(info, region)
  if (error instanceof InvalidVersion) {
    Object.assign(record, { version: error.version, changed: true, invalid: true })
    // A re-run sends the same request (the same ClientToken) and gets the same version back: the
    // way out is a valid default to start from, which is another request.
    return new StepError(
      `${error.message}. It was not made the default of ${place}. Make a valid version the default (or fix what the default, ` +
        `version ${info.defaultVersion}, holds: the new version copies it) and re-run.`
    )
  }
  if (context.plan.dryRun) return error
  if (context.signal.aborted) {
    record.unconfirmed = 'the job was cancelled before EC2 answered CreateLaunchTemplateVersion: it may have made a version'
    return error
  }
  try {
    // A version just made may not be listed at once (EC2 is eventually consistent): looked for a few seconds.
    const made = await lookAgain(context, 'templateVersion', () =>
      findVersion(context.aws, region, info.id, info.latestVersion, { imageId: record.imageId, description })
    )
    if (made === undefined) {
      // Not listed yet is not "not made": after an attempt that got no refusing answer, EC2 may still
      // list it later. Reported as unknown rather than taken for nothing.
      if (anAttemptWentUnanswered(error))
        record.unconfirmed = `CreateLaunchTemplateVersion got no answer and EC2 listed no new version within ${formatDuration(context.polling.templateVersion.reduce((a, b) => a + b, 0))}: it may have made one`
      return error
    }
    Object.assign(record, { version: made, changed: true })
    return new StepError(
      `${errorMessage(error)}. EC2 made version ${made} of ${place} all the same; it was not made the default. ` +
        'A re-run of this workflow run sends the same request, gets that version back and makes it the default.'
    )
  } catch (lookup) {
    record.unconfirmed = `CreateLaunchTemplateVersion failed and the versions could not be listed (${errorMessage(lookup)}): EC2 may have made a version`
    return error
  }
}

/** ModifyLaunchTemplate; a failure whose answer may have been lost is checked against the template. */
async function makeDefaultVersion(context: Context, region: string, info: TemplateInfo, record: TemplateRecord): Promise<void> {
  try {
    await setDefaultVersion(context.aws, region, info.id, record.version)
  } catch (error) {
    if (context.signal.aborted) {
      record.unconfirmed = `the job was cancelled before EC2 answered ModifyLaunchTemplate: version ${record.version} may be the default`
      throw error
    }
    const now = await describeTemplate(context.aws, region, info.id).catch(() => undefined)
    if (now?.defaultVersion !== record.version) throw error
  }
  record.isDefault = true
}

/**
 * One token per run, template, source version and image: a retried call, or a re-run of the same
 * workflow run, gets the version the first call made instead of a second one; another source
 * version or image is another request.
 */
function versionToken(context: Context, region: string, templateId: string, sourceVersion: number, imageId: string): string {
  const { repository, runId } = context.run
  return createHash('sha256')
    .update(`ami-pipeline publish|${repository}|${runId}|${region}|${templateId}|${sourceVersion}|${imageId}`)
    .digest('hex')
    .slice(0, 64)
}
