// What the step knows about its images: one per region, where it came from, and its last seen
// state. Every mode reads and updates this; the outputs and the summary are drawn from it.
import type { ImageInfo, ImageState } from './aws/images.ts'

/**
 * built / copied: made by this workflow run (this attempt or, on a re-run, an earlier one);
 * reused: someone else's image adopted by name (if-exists: reuse); given: an input.
 */
export type Origin = 'built' | 'copied' | 'reused' | 'given'

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
  /** What tag's distribution settings applied. */
  distribution?: {
    sharedWith: string[]
    /** The accounts given createVolumePermission (share-snapshots), and on which snapshots so far. */
    snapshotsSharedWith?: string[]
    sharedSnapshotIds?: string[]
    deprecateAt?: string
    protected: boolean
  }
}

export interface Retired {
  imageIds: string[]
  snapshotIds: string[]
}

/** One line of a prune plan: an image that matched the selectors, and what prune does with it. */
export interface PruneDecision {
  region: string
  imageId: string
  name: string
  creationDate: string
  /** The group-by tag's value ('' without group-by). */
  group: string
  action: 'retire' | 'keep'
  /** Why: 'newest 3 of group web', 'younger than 30d', 'in use by instance i-…', 'deregistration protection', 'made in this step'. */
  reason: string
}

/** What publish did in one region: the parameter and the launch template, before and after. */
export interface Published {
  parameter?: {
    name: string
    imageId: string
    /** The value before, if the parameter existed. */
    before?: string
    /** The version that holds the image (unset in a dry run, or if SSM has not stored it). */
    version?: number
    changed: boolean
    /** SSM had not shown the value when the step stopped waiting: it may still store it. */
    unconfirmed?: boolean
  }
  launchTemplate?: {
    id: string
    name: string
    imageId: string
    previousDefault: number
    /** The previous default's image, as written (an id, or resolve:ssm:…). */
    previousImage?: string
    /** The version that launches the image now (0: none is known to). */
    version: number
    isDefault: boolean
    changed: boolean
    /** EC2 made the version but reports it not valid: it is never made the default, nor output. */
    invalid?: boolean
    /** What the step could not find out (EC2 had not answered when it stopped). */
    unconfirmed?: string
  }
}

export class Release {
  readonly sourceRegion: string
  private readonly images = new Map<string, ReleaseImage>()
  /** Per region: images and snapshots this step removed (prune, or a failed image cleaned up). */
  readonly pruned = new Map<string, Retired>()
  readonly removedFailed = new Map<string, Retired>()
  /**
   * Per region, what a cancelled job left to look at: images whose DeregisterImage was cut off (EC2
   * may or may not have done it) and snapshots of removed images not yet settled — a snapshot no
   * image names any more, which no later prune can find by its selectors.
   */
  readonly unsettled = new Map<string, Retired>()
  /** Per region, what publish pointed at the image. */
  readonly published = new Map<string, Published>()
  /** Per region, same-named images removed first by if-exists: replace. */
  readonly replaced = new Map<string, Retired>()
  /** The prune plan, every matching image with its decision; empty when prune did not run. */
  prunePlan: PruneDecision[] = []

  constructor(sourceRegion: string) {
    this.sourceRegion = sourceRegion
  }

  add(image: ReleaseImage): void {
    this.images.set(image.region, image)
  }

  get source(): ReleaseImage | undefined {
    return this.images.get(this.sourceRegion)
  }

  get(region: string): ReleaseImage | undefined {
    return this.images.get(region)
  }

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

  recordRemoved(into: Map<string, Retired>, region: string, imageId: string, snapshotIds: readonly string[]): void {
    const entry = into.get(region) ?? { imageIds: [], snapshotIds: [] }
    if (!entry.imageIds.includes(imageId)) entry.imageIds.push(imageId)
    for (const snapshotId of snapshotIds) if (!entry.snapshotIds.includes(snapshotId)) entry.snapshotIds.push(snapshotId)
    into.set(region, entry)
  }
}
