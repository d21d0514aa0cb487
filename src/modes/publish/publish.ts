// publish: points consumers at the release, in every region — the SSM parameter that Terraform and
// launch templates read (data type aws:ec2:image), and a new launch template version that differs
// from the current default only in its image. What could refuse a change is read first, in every
// region, so a missing template or an unusable parameter fails the context before anything changes.
// Publishing an older release's images is a rollback, done the same way.
import { describeTemplate, type TemplateInfo } from '../../aws/launch-templates.ts'
import { parameterRules, readParameter } from '../../aws/parameters.ts'
import type { Context } from '../../context.ts'
import { StepError, errorMessage } from '../../errors.ts'
import { waitForImages } from '../../images/waiter.ts'
import type { PublishPlan } from '../../inputs/index.ts'
import type { ReleaseImage } from '../../release.ts'
import { publishParameter, type ExistingParameter } from './parameter.ts'
import { publishTemplate } from './template.ts'

/** What one region's targets hold before anything changes. */
interface RegionTargets {
  image: ReleaseImage
  parameter?: ExistingParameter | undefined
  template?: TemplateInfo | undefined
}

export async function publish(context: Context, rules: PublishPlan): Promise<void> {
  const { plan, release, log } = context
  const images = release.all()
  if (images.length === 0) {
    log.info('Dry run: no image was made, so there is nothing to publish.')
    return
  }
  if (!plan.dryRun) await waitForImages(context, images)
  const templates = rules.launchTemplates
  const untemplated = images.filter((image) => templates.size > 0 && !templates.has(image.region)).map((image) => image.region)
  if (untemplated.length > 0)
    log.info(`launch-template names no template for ${untemplated.join(', ')}: no launch template is changed there.`)

  const looked = await Promise.allSettled(images.map((image) => readTargets(context, rules, image)))
  const problems = looked.flatMap((result) => (result.status === 'rejected' ? [errorMessage(result.reason)] : []))
  if (problems.length > 0) throw new StepError(`Nothing was published: ${problems.join('; ')}`)
  const targets = looked.map((result) => (result as PromiseFulfilledResult<RegionTargets>).value)

  const outcomes = await Promise.allSettled(targets.map((region) => publishRegion(context, rules, region)))
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
async function readTargets(context: Context, rules: PublishPlan, image: ReleaseImage): Promise<RegionTargets> {
  const { region, imageId } = image
  const targets: RegionTargets = { image }
  const name = rules.ssmParameter
  if (name !== undefined) {
    const existing = await readParameter(context.aws, region, name)
    // SSM User Guide, "Parameter data types": a parameter cannot be changed to or from aws:ec2:image.
    if (existing && (existing.type !== 'String' || existing.dataType !== 'aws:ec2:image')) {
      throw new StepError(
        `ssm-parameter ${name} in ${region} is a ${existing.type} parameter of data type ${existing.dataType}, and SSM cannot turn it into an aws:ec2:image one: ` +
          'delete it (publish then creates it) or choose another name'
      )
    }
    targets.parameter =
      existing && existing.value !== imageId ? { ...existing, rules: await parameterRules(context.aws, region, name) } : existing
    const pattern = targets.parameter?.rules?.allowedPattern
    if (pattern !== undefined && !allows(pattern, imageId)) {
      throw new StepError(
        `ssm-parameter ${name} in ${region} only takes values matching its AllowedPattern ${pattern}, and ${imageId} does not: ` +
          'SSM would refuse it (ParameterPatternMismatchException); change the pattern or choose another name'
      )
    }
  }
  const wanted = rules.launchTemplates.get(region)
  if (wanted !== undefined) {
    targets.template = await describeTemplate(context.aws, region, wanted)
    if (!targets.template)
      throw new StepError(`launch-template: there is no launch template '${wanted}' in ${region} (names and ids are per region)`)
  }
  return targets
}

/**
 * Whether a value passes an AllowedPattern, as far as JavaScript can tell. SSM's patterns are not
 * JavaScript's: read in unicode mode, where an escape JavaScript does not know (Java's \A, \Z) is an
 * error rather than a letter, a pattern JavaScript cannot read is left to SSM, which judges it anyway.
 */
function allows(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(value)
  } catch {
    return true
  }
}

/** The parameter first: a default version that reads it through resolve:ssm: then launches the image. */
async function publishRegion(context: Context, rules: PublishPlan, targets: RegionTargets): Promise<void> {
  const { image } = targets
  const published = context.journal.publishedIn(image.region)
  if (rules.ssmParameter !== undefined) await publishParameter(context, rules.ssmParameter, image, targets.parameter, published)
  if (targets.template) await publishTemplate(context, rules, image, targets.template, published)
}
