// The inputs the action reads, the modes they serve and their action.yml defaults, and the typed
// plan every mode receives.
import type { Tags } from '../tags.ts'

export const MODES = ['build', 'copy', 'wait', 'tag', 'publish', 'prune'] as const
export type Mode = (typeof MODES)[number]

/** Each input, the modes it serves (`all` for every mode) and its action.yml default. */
export const INPUTS = {
  mode: { modes: 'all', default: '' },
  region: { modes: 'all', default: '' },
  'instance-id': { modes: ['build'], default: '' },
  name: { modes: ['build'], default: '' },
  description: { modes: ['build'], default: '' },
  'no-reboot': { modes: ['build'], default: 'false' },
  'if-exists': { modes: ['build'], default: 'fail' },
  'image-id': { modes: ['wait', 'tag', 'copy', 'publish'], default: '' },
  'image-ids': { modes: ['wait', 'tag', 'copy', 'publish'], default: '' },
  tags: { modes: ['build', 'tag', 'copy'], default: '' },
  'provenance-tags': { modes: ['build', 'tag', 'copy'], default: 'true' },
  regions: { modes: ['copy', 'prune'], default: '' },
  // No action.yml default: an explicit false, which contradicts a KMS key, must be visible.
  encrypted: { modes: ['copy'], default: '' },
  'kms-key-id': { modes: ['copy'], default: '' },
  'kms-key-ids': { modes: ['copy'], default: '' },
  'copy-completion-duration': { modes: ['copy'], default: '' },
  'share-accounts': { modes: ['tag'], default: '' },
  'share-organizations': { modes: ['tag'], default: '' },
  'share-organizational-units': { modes: ['tag'], default: '' },
  'deprecate-after': { modes: ['tag'], default: '' },
  'deregistration-protection': { modes: ['tag'], default: 'false' },
  'share-snapshots': { modes: ['tag'], default: 'false' },
  'ssm-parameter': { modes: ['publish'], default: '' },
  'launch-template': { modes: ['publish'], default: '' },
  'launch-template-default': { modes: ['publish'], default: 'true' },
  'target-accounts': { modes: ['copy', 'wait', 'tag', 'publish', 'prune'], default: '' },
  'target-role': { modes: ['copy', 'wait', 'tag', 'publish', 'prune'], default: 'ami-pipeline' },
  'account-image-ids': { modes: ['wait', 'tag', 'publish'], default: '' },
  'wait-timeout': { modes: ['wait', 'copy', 'tag', 'publish', 'prune'], default: '60m' },
  'prune-name': { modes: ['prune'], default: '' },
  'prune-tags': { modes: ['prune'], default: '' },
  'prune-regions': { modes: ['prune'], default: '' },
  keep: { modes: ['prune'], default: '3' },
  'older-than': { modes: ['prune'], default: '0s' },
  'group-by': { modes: ['prune'], default: '' },
  'delete-snapshots': { modes: ['prune'], default: 'true' },
  'max-deletions': { modes: ['prune'], default: '100' },
  retire: { modes: ['prune'], default: 'deregister' },
  'unused-for': { modes: ['prune'], default: '' },
  'only-disabled': { modes: ['prune'], default: 'false' },
  'snapshot-price': { modes: ['prune'], default: '0.05' },
  'dry-run': { modes: 'all', default: 'false' }
} as const satisfies Record<string, { modes: 'all' | readonly Mode[]; default: string }>

export type InputName = keyof typeof INPUTS

export interface BuildPlan {
  instanceId: string
  name: string
  description: string
  noReboot: boolean
  ifExists: 'fail' | 'reuse' | 'replace'
}

export interface Encryption {
  encrypted: boolean
  kmsKeyId?: string
}

export interface CopyPlan {
  regions: string[]
  /** The step's own account's copies, per destination region. */
  encryption: ReadonlyMap<string, Encryption>
  /** Keys of target accounts' copies (kms-key-ids by key ARN): account → region → key ARN. */
  accountKeys: ReadonlyMap<string, ReadonlyMap<string, string>>
  /** encrypted: true, or kms-key-id: a target account's copy without a key of its own uses its default key. */
  encryptAccountCopies: boolean
  /**
   * This account's copy into the source region, made only of another account's image shared with
   * this one: kms-key-id where it can serve that region, else encrypted as asked.
   */
  sourceEncryption: Encryption
  /** Time-based copy: EC2 finishes the snapshot copy within this many minutes (billed per TiB). */
  completionMinutes?: number
}

/** What tag shares and sets on every image, once each is available. */
export interface SharePlan {
  shareAccounts: string[]
  shareOrganizations: string[]
  shareOrganizationalUnits: string[]
  deprecateAfterMs?: number
  deregistrationProtection: boolean
  /** Also give shareAccounts createVolumePermission on every snapshot of the images. */
  shareSnapshots: boolean
}

/** Where publish points consumers, per region of the release. */
export interface PublishPlan {
  ssmParameter?: string
  /** Region → launch template name or id; a region not listed gets no launch template version. */
  launchTemplates: ReadonlyMap<string, string>
  makeDefault: boolean
}

/** How prune retires an image: DeregisterImage, DisableImage, or deprecation from now. */
export type Retirement = 'deregister' | 'disable' | 'deprecate'

export interface PrunePlan {
  regions: string[]
  name?: string
  tags: Tags
  keep: number
  olderThanMs: number
  groupBy?: string
  deleteSnapshots: boolean
  maxDeletions: number
  retire: Retirement
  /** Only images that launched no instance for this long (LastLaunchedTime, else creation). */
  unusedForMs?: number
  /** Only disabled images: the second stage of a staged retirement. */
  onlyDisabled: boolean
  /** USD per GiB-month of standard-tier snapshot storage, per prune region (snapshot-price). */
  snapshotPrice: ReadonlyMap<string, number>
}

/** tag's settings beyond the tags themselves: sharing, deprecation and protection, if any. */
export interface TagPlan {
  share?: SharePlan
}

/** Other accounts that get images of their own (target-accounts), and how the step acts in them. */
export interface TargetsPlan {
  accounts: string[]
  /** The role name, or path/name, assumed in each account. */
  role: string
  /** An earlier release's images per account (account-image-ids): account → region → image id. */
  givenImages: ReadonlyMap<string, ReadonlyMap<string, string>>
}

/** What every mode may read: the source region, dry run, the step's tags and how long to wait. */
export interface StepPlan {
  region: string
  dryRun: boolean
  tags: Tags
  provenanceTags: boolean
  waitTimeoutMs: number
}

/** The whole step: which modes run, and one typed plan for each mode that runs (and only those). */
export interface Plan extends StepPlan {
  modes: ReadonlySet<Mode>
  /** Images the step was given, region → image id (the source region's is `image-id`). */
  givenImages: ReadonlyMap<string, string>
  /** Present when target-accounts names accounts. */
  targets?: TargetsPlan
  build?: BuildPlan
  copy?: CopyPlan
  tag?: TagPlan
  publish?: PublishPlan
  prune?: PrunePlan
}
