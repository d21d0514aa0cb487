// publish: points consumers at the release, in every region — the SSM parameter that Terraform and
// launch templates read (data type aws:ec2:image), and a new launch template version that differs
// from the current default only in its image. What could refuse a change is read first, in every
// region, so a missing template or an unusable parameter fails the step before anything changes.
// Publishing an older release's images is a rollback, done the same way.
import { StepError, errorMessage } from '../errors.ts'
import { describeTemplate, type TemplateInfo } from '../aws/launch-templates.ts'
import { parameterRules, readParameter } from '../aws/parameters.ts'
import { publishParameter, type ExistingParameter } from '../publish/parameter.ts'
import { publishTemplate } from '../publish/template.ts'
import type { Published, ReleaseImage } from '../release.ts'
import type { Step } from '../step.ts'
import { waitForImages } from './wait.ts'

/** What one region's targets hold before anything changes. */
interface RegionTargets {
  image: ReleaseImage
  parameter?: ExistingParameter | undefined
  template?: TemplateInfo | undefined
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
  const { region, imageId } = image
  const targets: RegionTargets = { image }
  const name = rules.ssmParameter
  if (name !== undefined) {
    const existing = await readParameter(step.aws, region, name)
    // SSM User Guide, "Parameter data types": a parameter cannot be changed to or from aws:ec2:image.
    if (existing && (existing.type !== 'String' || existing.dataType !== 'aws:ec2:image')) {
      throw new StepError(
        `ssm-parameter ${name} in ${region} is a ${existing.type} parameter of data type ${existing.dataType}, and SSM cannot turn it into an aws:ec2:image one: ` +
          'delete it (publish then creates it) or choose another name'
      )
    }
    targets.parameter =
      existing && existing.value !== imageId ? { ...existing, rules: await parameterRules(step.aws, region, name) } : existing
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
    targets.template = await describeTemplate(step.aws, region, wanted)
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
async function publishRegion(step: Step, targets: RegionTargets): Promise<void> {
  const { image } = targets
  const published: Published = {}
  step.release.published.set(image.region, published)
  if (step.plan.publish!.ssmParameter !== undefined) await publishParameter(step, image, targets.parameter, published)
  if (targets.template) await publishTemplate(step, image, targets.template, published)
}
