// Everything the double remembers between requests, in one object. reset() replaces it whole, so
// no piece can be forgotten when a test starts afresh, and a request or a check of SSM's that was
// begun before a reset can tell (its state is no longer the double's) and leaves the new one alone.
import { MOTO_DEFAULT_ACCOUNT, type FrontOptions } from './options.ts'
import type { ParameterValidation, PendingPut } from './ssm/validation.ts'
import type { XmlElement } from './xml.ts'

export interface Call {
  /** The EC2 action, or the SSM, STS, KMS or Recycle Bin operation (PutParameter, GetParameter, ListRules, …). */
  action: string
  region: string
  /** The caller's account (Accounts). */
  account: string
  /** Absent for EC2. */
  service?: 'ssm' | 'autoscaling' | 'sts' | 'kms' | 'rbin'
  /** When the call arrived (ms since the epoch). */
  at: number
  /**
   * EC2, Auto Scaling, STS: the query parameters. SSM, KMS, Recycle Bin: the JSON input flattened
   * (Tags.1.Key, Overwrite: 'true', …); for Recycle Bin the path's Identifier too.
   */
  params: Record<string, string>
  /** SSM, KMS, Recycle Bin: the JSON input as sent (Recycle Bin: with the path's Identifier). */
  input?: Record<string, unknown>
  status: number
  errorCode?: string
}

/** What the double knows of an image that moto does not. */
export interface ImageOverlay {
  region: string
  /** The account that owns it, when it was made through the double (CreateImage, CopyImage, RegisterImage). */
  account?: string
  name: string
  createdAt: number
  pendingMs: number
  failure?: { code: string; message: string }
  encrypted?: boolean
  kmsKeyId?: string
  creationDate?: string
  deprecationTime?: string
  protection?: string
  /** Until when DescribeImages does not list it (eventual consistency); 0 or absent: listed. */
  visibleAt?: number
  /** DisableImage was called (and EnableImage not since). */
  disabled?: boolean
  /** The snapshots RegisterImage was given: moto makes new ones instead, EC2 uses these. */
  snapshotIds?: string[]
  /** A copy's source, as EC2 reports it in DescribeImages. */
  sourceImageId?: string
  sourceImageRegion?: string
  /**
   * EC2 API Reference, Image, lastLaunchedTime: "when the AMI was last used to launch an EC2
   * instance. When the AMI is used to launch an instance, there is a 24-hour delay before that usage
   * is reported." So a launch through the double never sets it; tests do, with setLastLaunched.
   */
  lastLaunchedTime?: string
  /** When other accounts launched instances from it (OtherAccounts.launch): reported a day later. */
  launches?: number[]
  /**
   * A copy from another account is registered in moto, which keeps only its name and description:
   * what EC2 copies of the source (its architecture, virtualization type…), as DescribeImages names them.
   */
  inherited?: Record<string, string>
}

/**
 * Another AWS account, as data: moto keeps one backend per account, and what the action needs of
 * another account (its instances and launch templates that use a shared image) is only what a usage
 * report reveals. Tests and the demo fill these through Front.otherAccount.
 */
export interface OtherAccount {
  account: string
  /** The organization and OUs it belongs to (an image shared with either may be launched by it). */
  organizationArn?: string
  organizationalUnitArns: string[]
  instances: { instanceId: string; region: string; imageId: string; launchedAt: number; terminated: boolean }[]
  /** Every version of each of its launch templates, in the order made. */
  templateVersions: { templateId: string; version: number; region: string; imageId: string; createdAt: number }[]
}

/**
 * What the double knows of a snapshot that moto does not report (EC2 API Reference, Snapshot):
 * its full size and storage tier, and, for one made with an image through the double, that image,
 * whose state its own follows.
 */
export interface SnapshotFacts {
  region: string
  /** Front.setSnapshot: FullSnapshotSizeInBytes; null leaves the field out; absent: FrontOptions.snapshotBytes decides. */
  fullSizeBytes?: number | null
  /** StorageTier; absent: standard. */
  storageTier?: 'standard' | 'archive'
  /** The image CreateImage or CopyImage made it for: pending while that image is, in error if it failed. */
  madeFor?: string
  /** A copy's snapshot: the source snapshot, whose full size it has (EC2 copies every block). */
  copyOf?: { snapshotId: string; region: string }
}

/** A tag key and value as Recycle Bin names them (Recycle Bin API Reference, ResourceTag); no value: the empty value. */
export interface RuleTag {
  key: string
  value?: string
}

/**
 * A Recycle Bin retention rule (Recycle Bin API Reference, GetRule), as data: Front.recycleBinRule
 * or CreateRule makes one. Tag-level when it has resource tags, Region-level (which may have
 * exclusion tags) when it has none.
 */
export interface RecycleBinRule {
  /** 11 characters of [0-9a-zA-Z] (GetRule, Identifier). */
  identifier: string
  /** arn:aws:rbin:REGION:ACCOUNT:rule/IDENTIFIER (RuleSummary, RuleArn). */
  arn: string
  account: string
  region: string
  resourceType: 'EC2_IMAGE' | 'EBS_SNAPSHOT' | 'EBS_VOLUME'
  /** RetentionPeriod, in days (the only unit Recycle Bin has). */
  retentionDays: number
  resourceTags: RuleTag[]
  excludeResourceTags: RuleTag[]
  description?: string
  /** Until when its Status is pending (0: available from the start; Infinity: pending until a test changes it). */
  pendingUntil: number
  /** LockState; absent for a rule never locked (RuleSummary, LockState: "null - The retention rule has never been locked"). */
  lockState?: 'locked' | 'pending_unlock' | 'unlocked'
  /** LockConfiguration's unlock delay, in days, for a rule locked at creation. */
  unlockDelayDays?: number
  /** The rule's own tags (CreateRule, Tags), not the resources'. */
  tags: { Key: string; Value: string }[]
  createdAt: number
}

/** An AMI in the Recycle Bin (EC2 API Reference, ImageRecycleBinInfo), and the rule that keeps it. */
export interface BinnedImage {
  imageId: string
  account: string
  region: string
  name?: string
  description?: string
  enteredAt: number
  /** enteredAt plus the longest retention period of the rules that applied: then it is gone for good. */
  exitAt: number
  ruleId: string
  /** Its snapshots when it was deregistered: it can be restored only while each is still there or in the bin. */
  snapshotIds: string[]
}

/** A snapshot in the Recycle Bin (EC2 API Reference, SnapshotRecycleBinInfo), and the rule that keeps it. */
export interface BinnedSnapshot {
  snapshotId: string
  account: string
  region: string
  description?: string
  volumeId?: string
  enteredAt: number
  exitAt: number
  ruleId: string
}

/** Recycle Bin: the retention rules, and what they retain (EC2 User Guide and EBS User Guide, "Recycle Bin"). */
export interface RecycleBinState {
  /** By identifier. */
  rules: Map<string, RecycleBinRule>
  /** Rules ever made: identifiers come from this count, so a run repeats exactly. */
  rulesMade: number
  /** Deregistered images a rule retains, by image id (listed until their exit time). */
  images: Map<string, BinnedImage>
  /** Deleted snapshots a rule retains, by snapshot id. */
  snapshots: Map<string, BinnedSnapshot>
}

/** An AMI usage report (EC2 API Reference, ImageUsageReport), with the entries it found when made. */
export interface UsageReport {
  reportId: string
  scope: string
  imageId: string
  resourceTypes: { type: string; options: Map<string, string[]> }[]
  accountIds: string[]
  createdAt: number
  /** When it leaves pending (FrontOptions.usageReportMs after it was made). */
  readyAt: number
  /** Until when DescribeImageUsageReports does not list it (FrontOptions.usageReportInvisibleMs). */
  visibleAt: number
  /** Why it ends in error, if it does (FrontOptions.usageReportError). */
  error?: string
  entries: { resourceType: string; accountId: string; usageCount: number }[]
  fingerprint: string
  clientToken?: string
}

export interface DoubleState {
  options: FrontOptions
  accounts: Accounts
  /** Every call, in the order it arrived. */
  calls: Call[]
  /** What the double knows of each image that moto does not, by image id. */
  images: Map<string, ImageOverlay>
  /** CopyImage client tokens: `${account}|${region}|${token}` → the copy it made and the request's fingerprint. */
  copyTokens: Map<string, { imageId: string; fingerprint: string }>
  /**
   * The KMS key of each snapshot the double encrypted (moto does not encrypt copies), as EC2 reports
   * it: the key's ARN (EC2 API Reference, Snapshot, KmsKeyId).
   */
  snapshotKeys: Map<string, string>
  /** Each snapshot's full size, storage tier and making, where the double knows them (SnapshotFacts), by snapshot id. */
  snapshots: Map<string, SnapshotFacts>
  /** Recycle Bin's retention rules and what they retain. */
  recycleBin: RecycleBinState
  /** KMS keys, as data (Front.kmsKey, Front.defaultEbsKey), by key ARN. */
  kmsKeys: Map<string, KmsKey>
  /** Customer managed keys ever made: their ids come from this count, so a run repeats exactly. */
  kmsKeysMade: number
  /** IAM roles, as data (Front.role), by role ARN: what AssumeRole may assume. */
  roles: Map<string, Role>
  /**
   * Tags an account put on another account's image shared with it: `${account}|${imageId}` → key →
   * value. EC2 User Guide, "Tag your Amazon EC2 resources": "When you tag public or shared
   * resources, the tags you assign are available only to your AWS account".
   */
  sharedImageTags: Map<string, Map<string, string>>
  /** DeregisterImage calls under way (EC2 judges snapshot use as of the request). */
  deregistering: Set<Deregistration>
  /**
   * Per account and region (`${account}|${region}`), the account's images and their snapshots, as last listed; dropped whenever an
   * image changes through the double (a deregistration only takes its image out), so judging snapshot
   * use stays cheap for a region with thousands of images. `generation` counts the other changes,
   * so a listing taken before one is never kept after it.
   */
  imageIndex: Map<string, Map<string, string[]>>
  generation: Map<string, number>
  /**
   * Listings under way, per scope, with the generation each began in: requests that arrive while one
   * is under way, with no change since it began, share it rather than each listing thousands of
   * images again.
   */
  imageListings: Map<string, { generation: number; images: Promise<Map<string, string[]>> }>
  /** Per scope, images known deregistered: a listing begun before one went is kept without it. */
  deregistered: Map<string, Set<string>>
  /**
   * Launch template versions made by CreateLaunchTemplateVersion with SourceVersion, which moto
   * ignores: `${templateId}#${version}` → the version's launch template data as EC2 would hold it
   * (the source's, resolved when the version was made, with the image given).
   */
  launchTemplateVersions: Map<string, XmlElement>
  /** CreateLaunchTemplateVersion client tokens: `${account}|${region}|${token}` → the first call's answer. */
  templateTokens: Map<string, { fingerprint: string; body: string }>
  parameters: ParameterState
  faults: FaultState
  /** Other accounts, by account id (OtherAccount). */
  otherAccounts: Map<string, OtherAccount>
  /** AMI usage reports, by report id. */
  usageReports: Map<string, UsageReport>
  /** Usage reports ever made: ids are never reused, as EC2's are not. */
  usageReportsMade: number
}

/**
 * Whose calls these are. moto keeps one backend per account: its default account for any access
 * key, and, for credentials it issued through STS AssumeRole, the role's account. The front reads
 * the access key id from each request's Authorization header and builds ARNs, and scopes what EC2
 * and SSM scope per account (client tokens, throttling, an account's images, parameters), by the
 * account it maps to.
 */
export interface Accounts {
  /** The account of an access key not in byAccessKey (FrontOptions.defaultAccount). */
  default: string
  /** Access key id → account, for credentials that act in another account (AssumeRole fills it; a test may too). */
  byAccessKey: Map<string, string>
  /** The credentials AssumeRole issued, by access key id: whose session each is. */
  sessions: Map<string, RoleSession>
}

/**
 * An IAM role (IAM User Guide, "IAM roles"; "Role trust policies"), as data: its trust policy names
 * who may assume it. Front.role makes one.
 */
export interface Role {
  arn: string
  account: string
  /** The role name with its path, if any (`team/ami-pipeline`). */
  name: string
  /**
   * The principals its trust policy allows: account ids (any principal of the account, as
   * `arn:aws:iam::ID:root` means) and principal ARNs (a role's ARN stands for its assumed-role sessions).
   */
  trusts: string[]
  /** MaxSessionDuration (IAM API Reference, CreateRole): 3600 to 43200 seconds, default 3600. */
  maxSessionSeconds: number
}

/** Credentials STS issued by AssumeRole, and whose they are (STS API Reference, AssumeRole, AssumedRoleUser). */
export interface RoleSession {
  accessKeyId: string
  roleArn: string
  /** The role's account, which the credentials act in. */
  account: string
  sessionName: string
  /** arn:aws:sts::ACCOUNT:assumed-role/ROLE-NAME/SESSION-NAME */
  arn: string
  assumedRoleId: string
}

/** A KMS key (KMS API Reference, KeyMetadata), as data. */
export interface KmsKey {
  arn: string
  keyId: string
  account: string
  region: string
  /** AWS for an AWS managed key (aws/ebs), CUSTOMER for a customer managed one. */
  manager: 'AWS' | 'CUSTOMER'
  /** Other accounts its key policy lets use it (an AWS managed key's policy allows none). */
  usableBy: string[]
  description: string
  createdAt: number
}

/** A DeregisterImage under way, and the snapshots its image had when it arrived (once listed). */
export interface Deregistration {
  /** The account and region it is in (Caller.scope): only those of one scope count for each other. */
  scope: string
  imageId: string
  snapshots: Promise<string[]>
}

/** SSM's asynchronous check of aws:ec2:image values (ssm/validation.ts). */
export interface ParameterState {
  /** Every check that has finished, in order. */
  validations: ParameterValidation[]
  /** Puts answered but not yet checked, per `${account}|${region}|${name}`, oldest first. */
  pending: Map<string, PendingPut[]>
  /** Per `${account}|${region}|${name}`: until when a parameter whose value failed its check takes no put. */
  lockouts: Map<string, number>
  /** The checks being applied now, if any (one pass at a time). */
  applying: Promise<void> | undefined
}

/** The fault injector's memory: its random source, lost replies so far, the token buckets. */
export interface FaultState {
  random: () => number
  lostSoFar: Map<string, number>
  buckets: Map<string, { tokens: number; at: number }>
  /** Calls answered as throttled because a bucket was empty. */
  throttled: number
}

export function freshState(options: FrontOptions): DoubleState {
  return {
    options,
    accounts: { default: options.defaultAccount ?? MOTO_DEFAULT_ACCOUNT, byAccessKey: new Map(), sessions: new Map() },
    calls: [],
    images: new Map(),
    copyTokens: new Map(),
    snapshotKeys: new Map(),
    snapshots: new Map(),
    recycleBin: { rules: new Map(), rulesMade: 0, images: new Map(), snapshots: new Map() },
    kmsKeys: new Map(),
    kmsKeysMade: 0,
    roles: new Map(),
    sharedImageTags: new Map(),
    deregistering: new Set(),
    imageIndex: new Map(),
    generation: new Map(),
    imageListings: new Map(),
    deregistered: new Map(),
    launchTemplateVersions: new Map(),
    templateTokens: new Map(),
    parameters: { validations: [], pending: new Map(), lockouts: new Map(), applying: undefined },
    faults: freshFaults(options),
    otherAccounts: new Map(),
    usageReports: new Map(),
    usageReportsMade: 0
  }
}

/** Faults and buckets start again from the options' seed (Front.configure). */
export function freshFaults(options: FrontOptions): FaultState {
  return { random: mulberry32(options.seed ?? 1), lostSoFar: new Map(), buckets: new Map(), throttled: 0 }
}

/** A small seeded PRNG: the same seed gives the same faults. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
