// copy: CopyImage of the source to every destination region at once, once the source is available
// (EC2 refuses to copy a pending image). Each request carries a ClientToken derived from the run,
// the source and the destination, so a retried request or a re-run returns the same copy.
import { createHash } from 'node:crypto'
import { CopyImageCommand } from '@aws-sdk/client-ec2'
import { StepError, errorMessage } from '../errors.ts'
import { hasCode } from '../ec2/errors.ts'
import { copyImage, copyImageInput, findOwnImageByName, type ImageCopy } from '../ec2/images.ts'
import { mergeTags, PROVENANCE, provenanceTags, type Run } from '../provenance.ts'
import type { ReleaseImage } from '../release.ts'
import type { Step } from '../step.ts'
import { waitForImages } from './wait.ts'

export async function copy(step: Step): Promise<void> {
  const { plan, release, log } = step
  const destinations = plan.copy!.regions.filter((region) => region !== plan.region)
  if (destinations.length < plan.copy!.regions.length) {
    log.notice(`regions lists the source region ${plan.region}: the source image is already there, so it is not copied to it.`)
  }
  const source = release.source
  if (!source) {
    log.info('Dry run: no source image was made, so there is nothing to check a copy against.')
    return
  }
  if (destinations.length === 0) return
  if (plan.dryRun) return checkCopies(step, source, destinations)

  await waitForImages(step, [source])
  const results = await Promise.allSettled(destinations.map((region) => copyTo(step, source, region)))
  const failures = results.flatMap((result, index) =>
    result.status === 'rejected' ? [`${destinations[index]}: ${errorMessage(result.reason)}`] : []
  )
  if (failures.length > 0) {
    const made = release.all().filter((image) => image.origin === 'copied')
    throw new StepError(
      `Copying ${source.imageId} failed for ${failures.length} of ${destinations.length} regions — ${failures.join('; ')}` +
        (made.length ? `. Copies made: ${made.map((image) => `${image.imageId} in ${image.region}`).join(', ')}` : '')
    )
  }
}

async function copyTo(step: Step, source: ReleaseImage, region: string): Promise<void> {
  const request = copyRequest(step, source, region)
  let imageId: string
  try {
    imageId = await copyImage(step.ec2, region, request)
  } catch (error) {
    // Same name in the destination: our own copy (its token has expired, or an earlier attempt
    // ran without one) is adopted; anyone else's image is a conflict the user must resolve.
    if (!hasCode(error, 'InvalidAMIName.Duplicate')) throw error
    const existing = await findOwnImageByName(step.ec2, region, request.name)
    if (!existing || existing.tags.get(PROVENANCE.sourceImage) !== source.imageId) {
      throw new StepError(
        `An image named '${request.name}' already exists in ${region}${existing ? `: ${existing.imageId}, not a copy of ${source.imageId}` : ''}. AMI names are unique per region; deregister it or build under another name.`
      )
    }
    imageId = existing.imageId
  }
  step.release.add({
    region,
    imageId,
    name: request.name,
    description: request.description,
    origin: 'copied',
    state: 'pending',
    snapshotIds: [],
    encrypted: request.encrypted
  })
  const encryption = request.kmsKeyId
    ? `, encrypted with ${request.kmsKeyId}`
    : request.encrypted
      ? ', encrypted with the default EBS key'
      : ''
  step.log.info(`Copying ${source.imageId} from ${source.region} to ${region} as ${imageId}${encryption}.`)
}

function copyRequest(step: Step, source: ReleaseImage, region: string): ImageCopy {
  const { plan } = step
  const encryption = plan.copy!.encryption.get(region) ?? { encrypted: false }
  const provenance = plan.provenanceTags
    ? provenanceTags(step.run, { imageId: source.imageId, region: source.region })
    : new Map<string, string>()
  return {
    sourceRegion: source.region,
    sourceImageId: source.imageId,
    name: source.name,
    description: source.description ?? '',
    clientToken: copyToken(step.run, source.imageId, region),
    encrypted: encryption.encrypted,
    kmsKeyId: encryption.kmsKeyId,
    completionMinutes: plan.copy!.completionMinutes,
    tags: mergeTags(plan.tags, provenance)
  }
}

/**
 * Deterministic per (repository, run, source image, destination): every attempt of a workflow run
 * sends the same token, so EC2 answers with the copy the first attempt made. 64 characters is
 * EC2's limit for a ClientToken.
 */
export function copyToken(run: Run, sourceImageId: string, region: string): string {
  return createHash('sha256').update([run.repository, run.runId, sourceImageId, region].join('\n')).digest('hex').slice(0, 64)
}

async function checkCopies(step: Step, source: ReleaseImage, destinations: readonly string[]): Promise<void> {
  await Promise.all(
    destinations.map((region) =>
      step.ec2.check(region, 'CopyImage', `image ${source.imageId} from ${source.region}`, (client) =>
        client.send(new CopyImageCommand({ ...copyImageInput(copyRequest(step, source, region)), DryRun: true }))
      )
    )
  )
  step.log.info(`Dry run: CopyImage of ${source.imageId} to ${destinations.join(', ')} would be allowed; nothing was copied.`)
}
