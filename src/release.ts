// This release's images: one per region, where it came from, and its last seen state. Modes add
// and update them from what EC2 reports; the outputs and the summary are drawn from them.
import type { ImageInfo, ImageState } from './aws/images.ts'

/**
 * built / copied: made by this workflow run (this attempt or, on a re-run, an earlier one);
 * reused: someone else's image adopted by name (if-exists: reuse); given: an input.
 */
export type Origin = 'built' | 'copied' | 'reused' | 'given'

/** What tag shared and set on an image: launch permissions, snapshots, deprecation, protection. */
export interface Sharing {
  sharedWith: string[]
  /** The accounts given createVolumePermission (share-snapshots), and on which snapshots so far. */
  snapshotsSharedWith?: string[]
  sharedSnapshotIds?: string[]
  deprecateAt?: string
  protected: boolean
}

export interface ReleaseImage {
  region: string
  imageId: string
  name: string
  description?: string
  origin: Origin
  state: ImageState | 'unknown'
  stateReason?: string
  snapshotIds: string[]
  encrypted?: boolean
  /** Tags as last described, to avoid rewriting provenance an image already carries. */
  tags?: Map<string, string>
  /** What tag shared and set, recorded call by call. */
  sharing?: Sharing
  /** AWS Marketplace product codes, if any (ImageInfo.productCodes). */
  productCodes?: string[]
  /** What its snapshots store in full (FullSnapshotSizeInBytes), and how many gave no size. */
  stored?: { bytes: number; unknown: number }
}

export class Release {
  readonly sourceRegion: string
  private readonly images = new Map<string, ReleaseImage>()

  constructor(sourceRegion: string) {
    this.sourceRegion = sourceRegion
  }

  add(image: ReleaseImage): void {
    this.images.set(image.region, image)
  }

  /** Adds an image as EC2 described it. */
  adopt(region: string, info: ImageInfo, origin: Origin): void {
    this.add({
      region,
      imageId: info.imageId,
      name: info.name,
      description: info.description,
      origin,
      state: info.state,
      snapshotIds: info.snapshotIds,
      tags: info.tags,
      encrypted: info.encrypted,
      ...(info.productCodes && { productCodes: info.productCodes })
    })
  }

  get source(): ReleaseImage | undefined {
    return this.images.get(this.sourceRegion)
  }

  get(region: string): ReleaseImage | undefined {
    return this.images.get(region)
  }

  /** Images in the order they joined the release. */
  all(): ReleaseImage[] {
    return [...this.images.values()]
  }

  /** Regions in the order the user will read them: source first, then alphabetical. */
  regions(): string[] {
    return [...this.images.keys()].sort((a, b) => (a === this.sourceRegion ? -1 : b === this.sourceRegion ? 1 : a.localeCompare(b)))
  }

  /** Ids of every image this step made or was given, per region: prune never retires these. */
  imageIds(): Set<string> {
    return new Set(this.all().map((image) => image.imageId))
  }

  /** Records what a describe showed, keeping what it does not say (a lagging describe may omit snapshots). */
  observe(region: string, info: ImageInfo): void {
    const image = this.images.get(region)
    if (!image || image.imageId !== info.imageId) return
    image.state = info.state
    image.name = info.name || image.name
    image.description = info.description
    if (info.stateReason !== undefined) image.stateReason = info.stateReason
    if (info.snapshotIds.length > 0) image.snapshotIds = info.snapshotIds
    image.encrypted = info.encrypted
    image.tags = info.tags
  }

  remove(region: string): ReleaseImage | undefined {
    const image = this.images.get(region)
    this.images.delete(region)
    return image
  }
}
