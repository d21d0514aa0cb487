// tag: the step's tags on every image and all of its snapshots, in every region, one CreateTags
// per region for the lot. Images are waited for first: their snapshot list is final only once
// they are available.
import { CreateTagsCommand } from '@aws-sdk/client-ec2'
import { tagResources, toTagList } from '../aws/images.ts'
import { PROVENANCE, provenanceTags } from '../provenance.ts'
import type { ReleaseImage } from '../release.ts'
import type { Step } from '../step.ts'
import { distribute } from '../distribution.ts'
import { waitForImages } from './wait.ts'

export async function tag(step: Step): Promise<void> {
  const { plan, release, log } = step
  const images = release.all()
  if (images.length === 0) return
  if (plan.dryRun) {
    await checkTagging(step, images)
    return distribute(step, images)
  }

  await waitForImages(step, images)
  await Promise.all(
    [...Map.groupBy(images, (image) => image.region)].map(async ([region, regionImages]) => {
      const untagged = regionImages.filter((image) => !taggedAtCreation(image, plan.tags))
      const resources = untagged.flatMap((image) => [image.imageId, ...image.snapshotIds])
      await tagResources(step.aws, region, resources, plan.tags)
      if (plan.provenanceTags) {
        for (const image of regionImages) await addMissingProvenance(step, image)
      }
      if (plan.tags.size === 0) return
      const done = untagged.length < regionImages.length ? ` (${regionImages.length - untagged.length} already had them from creation)` : ''
      log.info(
        `Tags ${[...plan.tags.keys()].join(', ')} are on ${regionImages.map((image) => image.imageId).join(', ')} and their snapshots in ${region}${done}.`
      )
    })
  )
  await distribute(step, images)
}

/**
 * This action tags an image and its snapshots at creation with the same tags, so an image it made
 * whose tags already include every tag asked for needs no CreateTags: saves a call per region in
 * `build, copy, tag`.
 */
function taggedAtCreation(image: ReleaseImage, tags: ReadonlyMap<string, string>): boolean {
  if (image.origin !== 'built' && image.origin !== 'copied') return false
  const existing = image.tags
  return existing !== undefined && [...tags].every(([key, value]) => existing.get(key) === value)
}

/**
 * Provenance records where an image came from, so an image that already has it (every image this
 * action made) keeps it; a given image without it gains this run's.
 */
async function addMissingProvenance(step: Step, image: ReleaseImage): Promise<void> {
  const existing = image.tags ?? new Map<string, string>()
  if (existing.has(PROVENANCE.runId) || existing.has(PROVENANCE.repository)) return
  const source = step.release.source
  const isCopy = source !== undefined && image.region !== source.region
  const tags = provenanceTags(step.run, isCopy ? { imageId: source.imageId, region: source.region } : undefined)
  await tagResources(step.aws, image.region, [image.imageId, ...image.snapshotIds], tags)
}

async function checkTagging(step: Step, images: readonly ReleaseImage[]): Promise<void> {
  for (const [region, regionImages] of Map.groupBy(images, (image) => image.region)) {
    const resources = regionImages.map((image) => image.imageId)
    await step.aws.check(region, 'CreateTags', resources.join(', '), (client) =>
      client.send(
        new CreateTagsCommand({
          Resources: resources,
          Tags: toTagList(step.plan.tags.size ? step.plan.tags : new Map([['ami-pipeline:dry-run', 'true']])),
          DryRun: true
        })
      )
    )
  }
  step.log.info(
    `Dry run: CreateTags on ${images.map((image) => `${image.imageId} in ${image.region}`).join(', ')} would be allowed; nothing was tagged.`
  )
}
