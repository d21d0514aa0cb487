// Snapshots of retired images: which still exist, which another image uses, and deleting them.
// One describe serves up to 200 snapshots.
import { DeleteSnapshotCommand, DescribeImagesCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2'
import type { Aws } from './client.ts'
import { hasCode } from './errors.ts'
import { FILTER_VALUES } from '../limits.ts'
import { toImageInfo } from './images.ts'

/** Of these snapshots, the ones that still exist (one call per 200). */
export async function existingSnapshots(aws: Aws, region: string, snapshotIds: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>()
  for (let at = 0; at < snapshotIds.length; at += FILTER_VALUES) {
    const batch = snapshotIds.slice(at, at + FILTER_VALUES)
    const pages = aws.pages(region, 'DescribeSnapshots', batch.join(', '), (client, NextToken) =>
      client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'snapshot-id', Values: batch }], NextToken }))
    )
    for await (const page of pages) for (const snapshot of page.Snapshots ?? []) if (snapshot.SnapshotId) found.add(snapshot.SnapshotId)
  }
  return found
}

/**
 * Of these snapshots, the ones some image of this account still uses, with the images that use
 * them, apart from `exceptImages` (images being retired). Disabled images count: they still need
 * their snapshots to be enabled again. Recently deregistered images, which EC2 lists for a while,
 * do not.
 */
export async function snapshotUsers(
  aws: Aws,
  region: string,
  snapshotIds: readonly string[],
  exceptImages: ReadonlySet<string> = new Set()
): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>()
  const wanted = new Set(snapshotIds)
  for (let at = 0; at < snapshotIds.length; at += FILTER_VALUES) {
    const batch = snapshotIds.slice(at, at + FILTER_VALUES)
    const pages = aws.pages(region, 'DescribeImages', `images using ${batch.join(', ')}`, (client, NextToken) =>
      client.send(
        new DescribeImagesCommand({
          Owners: ['self'],
          Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: batch }],
          IncludeDeprecated: true,
          IncludeDisabled: true,
          NextToken
        })
      )
    )
    for await (const page of pages) {
      for (const image of page.Images ?? []) {
        const info = toImageInfo(image)
        if (exceptImages.has(info.imageId) || info.state === 'deregistered') continue
        for (const id of info.snapshotIds) if (wanted.has(id)) users.set(id, [...(users.get(id) ?? []), info.imageId])
      }
    }
  }
  return users
}

/** What copying into other accounts needs to know of a snapshot: its key, if encrypted, and its tags. */
export interface SnapshotFacts {
  /** The KMS key's ARN (DescribeSnapshots, KmsKeyId), when encrypted. */
  kmsKeyId?: string
  tags: Map<string, string>
  /**
   * FullSnapshotSizeInBytes (EC2 API Reference, Snapshot): the full written size, not the
   * incremental one; absent where EC2 does not give it (an endpoint without the field, or a
   * snapshot not yet completed).
   */
  fullSizeBytes?: number
  /** standard or archive (StorageTier). */
  storageTier: string
  state: string
}

/** These snapshots of this account, by id (one call per 200). */
export async function describeSnapshots(aws: Aws, region: string, snapshotIds: readonly string[]): Promise<Map<string, SnapshotFacts>> {
  const facts = new Map<string, SnapshotFacts>()
  for (let at = 0; at < snapshotIds.length; at += FILTER_VALUES) {
    const batch = snapshotIds.slice(at, at + FILTER_VALUES)
    const pages = aws.pages(region, 'DescribeSnapshots', batch.join(', '), (client, NextToken) =>
      client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'snapshot-id', Values: batch }], NextToken }))
    )
    for await (const page of pages)
      for (const snapshot of page.Snapshots ?? []) {
        if (!snapshot.SnapshotId) continue
        const tags = new Map((snapshot.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']))
        const completed = snapshot.State === 'completed'
        facts.set(snapshot.SnapshotId, {
          ...(snapshot.Encrypted && snapshot.KmsKeyId && { kmsKeyId: snapshot.KmsKeyId }),
          tags,
          ...(completed && typeof snapshot.FullSnapshotSizeInBytes === 'number' && { fullSizeBytes: snapshot.FullSnapshotSizeInBytes }),
          storageTier: snapshot.StorageTier ?? 'standard',
          state: snapshot.State ?? ''
        })
      }
  }
  return facts
}

export async function deleteSnapshot(aws: Aws, region: string, snapshotId: string): Promise<void> {
  try {
    await aws.change(region, 'DeleteSnapshot', `snapshot ${snapshotId}`, (client, DryRun) =>
      client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId, DryRun }))
    )
  } catch (error) {
    // Gone already: a lost reply, or EC2 finished DeleteAssociatedSnapshots meanwhile.
    if (!hasCode(error, 'InvalidSnapshot.NotFound')) throw error
  }
}
