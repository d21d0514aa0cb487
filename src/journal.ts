// What the step did besides making its images: what it retired, removed after failing, replaced,
// left unsettled by a cancel, published, and the prune plan. Each is recorded once, when the work
// that produced it returns; the outputs, the manifest and the summary are drawn from it.
import type { Release } from './release.ts'

/** Images and snapshots of one region. */
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
  /** For an image to retire: what retiring it frees. */
  frees?: Frees
}

/** What retiring one image frees: its snapshots that go, their full size and price, and when. */
export interface Frees {
  /** The snapshots that go with it (none that another image keeps using). */
  snapshotIds: string[]
  /** Their FullSnapshotSizeInBytes, summed over those whose size EC2 gave. */
  bytes: number
  /** Those whose size EC2 did not give. */
  unknown: string[]
  usdPerMonth: number
  /** A Recycle Bin rule keeps the image recoverable until then. */
  recoverable?: { until: string; rule: string }
  /** A Recycle Bin rule keeps its snapshots (billed) until then: the savings start then. */
  billed?: { until: string; rule: string }
  /** Why it frees nothing (retire: disable keeps the snapshots). */
  none?: string
  /** Its snapshots that stay because other images use them. */
  kept?: { snapshotId: string; usedBy: string[] }[]
  /** Each snapshot's size and price, for those whose size EC2 gave. */
  sizes: { snapshotId: string; bytes: number; usd: number; archived: boolean }[]
  /** Snapshots deleted with it that an earlier image of the plan shares, and counts. */
  countedWith?: string[]
  /** Some of its snapshots are archived: deleting one within 90 days of archiving is billed for the rest. */
  archived?: boolean
  /** The region's Recycle Bin rules could not be read. */
  rulesUnknown?: boolean
}

/** What publish did in one region: the parameter and the launch template, before and after. */
export interface Published {
  parameter?: PublishedParameter
  launchTemplate?: PublishedTemplate
}

export interface PublishedParameter {
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

export interface PublishedTemplate {
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

/** A target account as the report sees it: its images and what the step did there. */
export interface AccountRecord {
  id: string
  roleArn: string
  release: Release
  journal: Journal
}

/**
 * What copy granted a target account so that it could copy the source image (launch permission,
 * and createVolumePermission on its snapshots), and whether it was taken back.
 */
export interface Grant {
  region: string
  imageId: string
  account: string
  /** The step gave launch permission (the account did not have it already). */
  launchPermission: boolean
  /** The snapshots the step gave createVolumePermission on. */
  snapshotIds: string[]
  /** taken back; kept (share-accounts names the account); left (the copies were not done: see reason). */
  outcome: 'granted' | 'taken back' | 'kept' | 'left'
  reason?: string
}

/** The kinds of removal the journal keeps apart, per region. */
export type RemovalKind = 'retired' | 'removedFailed' | 'replaced' | 'unsettled'

export class Journal {
  /** Retired by prune (deregistered, disabled or deprecated), or that would be in a dry run. */
  readonly retired = new Map<string, Retired>()
  /** Images that ended failed (this run's), removed with their snapshots: nobody could launch them. */
  readonly removedFailed = new Map<string, Retired>()
  /** Same-named images removed first by if-exists: replace. */
  readonly replaced = new Map<string, Retired>()
  /**
   * What a cancelled job left to look at: images whose removal was cut off (EC2 may or may not have
   * done it) and snapshots of removed images not yet settled — a snapshot no image names any more,
   * which no later prune can find by its selectors.
   */
  readonly unsettled = new Map<string, Retired>()
  /** Per region, what publish pointed at the image; entries are filled in call by call. */
  readonly published = new Map<string, Published>()
  /** The prune plan, every matching image with its decision; empty when prune did not run. */
  prunePlan: PruneDecision[] = []
  /** The target accounts the step acts in (target-accounts), once their roles are assumed. */
  accounts: AccountRecord[] = []
  /** What copy granted target accounts on the source image, and what became of each grant. */
  grants: Grant[] = []

  /** Adds images and snapshots of a region to one kind of removal, each once, in the order given. */
  record(kind: RemovalKind, region: string, removed: Retired): void {
    if (removed.imageIds.length === 0 && removed.snapshotIds.length === 0) return
    const into = this[kind]
    const entry = into.get(region) ?? { imageIds: [], snapshotIds: [] }
    for (const imageId of removed.imageIds) if (!entry.imageIds.includes(imageId)) entry.imageIds.push(imageId)
    for (const snapshotId of removed.snapshotIds) if (!entry.snapshotIds.includes(snapshotId)) entry.snapshotIds.push(snapshotId)
    into.set(region, entry)
  }

  /** What publish did in a region; made on first use so that what is recorded survives a failure. */
  publishedIn(region: string): Published {
    let published = this.published.get(region)
    if (!published) {
      published = {}
      this.published.set(region, published)
    }
    return published
  }
}
