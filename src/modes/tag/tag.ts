// tag: the step's tags on every image and all of its snapshots, in every region, one CreateTags
// per region for the lot; then what share.ts shares and sets. Images are waited for first: their
// snapshot list is final only once they are available.
import { tagResources } from '../../aws/new-images.ts'
import type { Context } from '../../context.ts'
import { waitForImages } from '../../images/waiter.ts'
import type { TagPlan } from '../../inputs/index.ts'
import type { ReleaseImage } from '../../release.ts'
import { DRY_RUN_TAG, PROVENANCE, provenanceTags, type Tags } from '../../tags.ts'
import { share } from './share.ts'

export async function tag(context: Context, tagPlan: TagPlan): Promise<void> {
  const { plan, release, log } = context
  const images = release.all()
  if (images.length === 0) return
  if (plan.dryRun) {
    await checkTagging(context, images)
    if (tagPlan.share) await share(context, tagPlan.share, images)
    return
  }

  await waitForImages(context, images)
  await Promise.all(
    [...Map.groupBy(images, (image) => image.region)].map(async ([region, regionImages]) => {
      const untagged = regionImages.filter((image) => !taggedAtCreation(image, plan.tags))
      const resources = untagged.flatMap((image) => [image.imageId, ...image.snapshotIds])
      await tagResources(context.aws, region, resources, plan.tags)
      if (plan.provenanceTags) {
        for (const image of regionImages) await addMissingProvenance(context, image)
      }
      if (plan.tags.size === 0) return
      const atCreation = regionImages.length - untagged.length
      const done =
        atCreation === 0
          ? ''
          : atCreation === regionImages.length
            ? ' (tagged when they were made)'
            : ` (${atCreation} of the ${regionImages.length} images were tagged when made)`
      const keys = [...plan.tags.keys()]
      log.info(
        `${keys.length === 1 ? 'Tag' : 'Tags'} ${keys.join(', ')} ${keys.length === 1 ? 'is' : 'are'} on ${regionImages.map((image) => image.imageId).join(', ')} and their snapshots in ${region}${done}.`
      )
    })
  )
  if (tagPlan.share) await share(context, tagPlan.share, images)
}

/**
 * This action tags an image and its snapshots at creation with the same tags, so an image it made
 * whose tags already include every tag asked for needs no CreateTags: saves a call per region in
 * `build, copy, tag`.
 */
function taggedAtCreation(image: ReleaseImage, tags: Tags): boolean {
  if (image.origin !== 'built' && image.origin !== 'copied') return false
  const existing = image.tags
  return existing !== undefined && [...tags].every(([key, value]) => existing.get(key) === value)
}

/**
 * Provenance records where an image came from, so an image that already has it (every image this
 * action made) keeps it; a given image without it gains this run's.
 */
async function addMissingProvenance(context: Context, image: ReleaseImage): Promise<void> {
  const existing = image.tags ?? new Map<string, string>()
  if (existing.has(PROVENANCE.runId) || existing.has(PROVENANCE.repository)) return
  const source = context.release.source
  const isCopy = source !== undefined && image.region !== source.region
  const tags = provenanceTags(context.run, isCopy ? { imageId: source.imageId, region: source.region } : undefined)
  await tagResources(context.aws, image.region, [image.imageId, ...image.snapshotIds], tags)
}

/** A dry run checks CreateTags once per region, on the images (the AWS layer sends it with DryRun). */
async function checkTagging(context: Context, images: readonly ReleaseImage[]): Promise<void> {
  const tags = context.plan.tags.size ? context.plan.tags : new Map([[DRY_RUN_TAG, 'true']])
  for (const [region, regionImages] of Map.groupBy(images, (image) => image.region)) {
    await tagResources(
      context.aws,
      region,
      regionImages.map((image) => image.imageId),
      tags
    )
  }
  context.log.info(
    `Dry run: CreateTags on ${images.map((image) => `${image.imageId} in ${image.region}`).join(', ')} would be allowed; nothing was tagged.`
  )
}
