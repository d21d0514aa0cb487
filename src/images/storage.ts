// What a new release stores, at most: the full written size of each new image's snapshots (EBS
// stores a snapshot incrementally where an earlier one of its lineage exists, so the bill may be
// less), read once its images are available, one DescribeSnapshots per region. For the summary only:
// a refusal is a line in the log.
import { AwsError } from '../aws/errors.ts'
import { describeSnapshots } from '../aws/snapshots.ts'
import type { Context } from '../context.ts'

export async function measureStorage(context: Context): Promise<void> {
  const made = context.release
    .all()
    .filter(
      (image) => (image.origin === 'built' || image.origin === 'copied') && image.state === 'available' && image.snapshotIds.length > 0
    )
  await Promise.all(
    [...Map.groupBy(made, (image) => image.region)].map(async ([region, images]) => {
      try {
        const facts = await describeSnapshots(
          context.aws,
          region,
          images.flatMap((image) => image.snapshotIds)
        )
        for (const image of images) {
          const sizes = image.snapshotIds.map((id) => facts.get(id)?.fullSizeBytes)
          image.stored = {
            bytes: sizes.reduce<number>((sum, size) => sum + (size ?? 0), 0),
            unknown: sizes.filter((size) => size === undefined).length
          }
        }
      } catch (error) {
        if (!(error instanceof AwsError)) throw error
        context.log.info(`What the new images store in ${region} could not be read (${error.message}); the summary leaves it out.`)
      }
    })
  )
}
