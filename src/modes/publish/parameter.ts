// publish to an SSM parameter: set it to the region's image unless it holds it already, then wait
// until SSM has stored the value — its check of aws:ec2:image runs after PutParameter answers, and a
// value that fails the check is never stored.
import { putImageParameter, readParameter, type ParameterRules, type ParameterState } from '../../aws/parameters.ts'
import { anAttemptWentUnanswered } from '../../aws/retry.ts'
import { lookAgain, type Context } from '../../context.ts'
import { StepError, errorMessage } from '../../errors.ts'
import type { Published, PublishedParameter } from '../../journal.ts'
import type { ReleaseImage } from '../../release.ts'
import { formatDuration } from '../../time.ts'

/** An existing parameter as publish found it, with what an overwrite must respect. */
export type ExistingParameter = ParameterState & { rules?: ParameterRules | undefined }

export async function publishParameter(
  context: Context,
  name: string,
  image: ReleaseImage,
  parameter: ExistingParameter | undefined,
  published: Published
): Promise<void> {
  const { region, imageId } = image
  const record: PublishedParameter = { name, imageId, changed: false, ...(parameter && { before: parameter.value }) }
  published.parameter = record
  if (parameter?.value === imageId) {
    record.version = parameter.version
    context.log.info(`SSM parameter ${name} in ${region} already holds ${imageId} (version ${parameter.version}): left alone.`)
    return
  }
  const was = parameter ? `was ${parameter.value}` : 'new'
  // From here on the parameter changes (or, in a dry run, would).
  record.changed = true
  if (context.plan.dryRun) {
    context.log.info(
      `Dry run: would set SSM parameter ${name} in ${region} to ${imageId} (${was}); SSM has no dry run, so ssm:PutParameter is not checked.`
    )
    return
  }
  const stored = await putAndConfirm(context, name, image, parameter, record)
  delete record.unconfirmed
  if (stored.value !== imageId) {
    throw new StepError(
      `SSM parameter ${name} in ${region} holds ${stored.value} at version ${stored.version}: something else wrote it after this step set ${imageId}.`
    )
  }
  record.version = stored.version
  context.log.info(`SSM parameter ${name} in ${region} now holds ${imageId} (version ${stored.version}; ${was}).`)
}

/**
 * PutParameter, then what SSM stores: its check of an aws:ec2:image value runs after it answers,
 * and a value that fails the check is never stored. Throws when SSM has not shown it in time.
 */
async function putAndConfirm(
  context: Context,
  name: string,
  image: ReleaseImage,
  parameter: ExistingParameter | undefined,
  record: PublishedParameter
): Promise<ParameterState> {
  const { region, imageId } = image
  let version = 0
  let unanswered: unknown
  try {
    version = await putImageParameter(context.aws, region, name, imageId, parameter?.rules?.tier)
  } catch (error) {
    // The put may have been carried out only if an attempt got no answer that refused it (the AWS
    // layer marks such calls). A refusal to every attempt is final — throttling, any other 4xx, a
    // put still being validated included ("the system reports that validation is still in process",
    // SSM User Guide, "Troubleshooting Parameter Store") — and a call never sent did nothing. After
    // an unanswered attempt, a refusal may be SSM answering our own first put, which may land: what
    // SSM stores decides.
    if (!anAttemptWentUnanswered(error)) throw error
    unanswered = error
  }
  // Until SSM shows the value, nobody knows whether it will: a cancel or a timeout says so.
  record.unconfirmed = true
  // How long SSM's check of an aws:ec2:image value may take: the polling configuration says.
  const stored = await lookAgain(
    context,
    'parameter',
    async () => {
      const now = await readParameter(context.aws, region, name)
      // The version PutParameter announced — or, with its answer lost or a refused put before ours
      // leaving its number unused, our value at any version newer than the one before.
      const landed =
        (version > 0 && now !== undefined && now.version >= version) || (now?.value === imageId && now.version > (parameter?.version ?? 0))
      return landed ? now : undefined
    },
    `SSM to store ${imageId} in parameter ${name} in ${region} (its check of an aws:ec2:image value can take a few minutes)`
  )
  if (stored) return stored
  const answered =
    unanswered === undefined ? `PutParameter answered version ${version}` : `PutParameter failed (${errorMessage(unanswered)})`
  throw new StepError(
    `SSM has not shown ${imageId} in parameter ${name} in ${region} after ${formatDuration(context.polling.parameter.reduce((a, b) => a + b, 0))}: ${answered}. SSM checks an aws:ec2:image value ` +
      `after it answers and stores it only if the image is available to this account in ${region}; ${imageId} is available there as this step sees it. ` +
      `SSM may still store it, or its check refused it: it gives its reason only in Parameter Store's EventBridge events. ` +
      `The parameter held ${parameter?.value ?? 'nothing'} before. Re-run once five minutes have passed: a parameter that holds the image is left alone.`
  )
}
