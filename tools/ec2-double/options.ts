// What a test, the demo or the benchmark can set on the double: its clock, how long images stay
// pending and unlisted, how long SSM's check of an aws:ec2:image value takes, snapshots' full sizes,
// and the faults to inject.
import type { Clock } from './clock.ts'

export interface FaultRule {
  /** Actions the rule applies to (all when absent). */
  actions?: string[]
  regions?: string[]
  /** Share of calls answered 503 RequestLimitExceeded, not forwarded. */
  throttleRate?: number
  /** Share of calls answered 500 InternalError, not forwarded. */
  errorRate?: number
  /** Added delay, fixed or a [min, max] range. */
  latencyMs?: number | [number, number]
  /** The first N matching calls per region are carried out, but the client is told 500. */
  lostReplyFirst?: number
  lostReplyRate?: number
  /**
   * Matching calls are refused as IAM refuses a call the credentials may not make, DryRun or not
   * (EC2 API Reference, DryRun: "If you have the required permissions, the error response is
   * DryRunOperation. Otherwise, it is UnauthorizedOperation"; SSM and KMS: AccessDeniedException;
   * STS: AccessDenied, but never GetCallerIdentity, which needs no permission).
   */
  denied?: boolean
}

export interface Bucket {
  capacity: number
  refillPerSecond: number
}

/** What decides how long an image stays pending. */
export interface NewImage {
  imageId: string
  region: string
  name: string
  action: string
}

export interface FrontOptions {
  /** Opt-in regions the account has enabled (DescribeRegions reports the others not-opted-in). */
  optedInRegions?: string[]
  /**
   * What the front reads time from (clock.ts; default realClock). Chosen when the front starts:
   * reset() and configure() keep it.
   */
  clock?: Clock
  seed?: number
  /** How long new images stay pending; a function decides per image. */
  pendingMs?: number | ((image: NewImage) => number)
  faults?: FaultRule[]
  /** EC2-like token buckets per account and region: calls beyond them are throttled. */
  buckets?: { describe: Bucket; change: Bucket } | undefined
  /** false answers DescribeImageReferences with UnauthorizedOperation, as for credentials without it. */
  imageReferences?: boolean
  /** EC2 may return fewer items than MaxResults: pages hold at most this many, so paging is exercised. */
  pageSize?: number
  /**
   * How long a new image stays out of DescribeImages after CreateImage / CopyImage / RegisterImage
   * (EC2 developer guide, "Eventual consistency": a resource just created may not be visible yet).
   * Default 1000 ms, so that code relying on seeing a new image at once is caught.
   */
  invisibleMs?: number
  /**
   * How long SSM takes to validate a PutParameter of data type aws:ec2:image (SSM API Reference,
   * PutParameter, DataType: "The aws:ec2:image value is validated asynchronously, and the
   * PutParameter call returns before the validation is complete"). Until then the parameter keeps
   * its old state. Default 1000 ms.
   */
  ssmValidationMs?: number
  /**
   * After an aws:ec2:image value fails its check, how long from that put until the parameter takes
   * another (SSM User Guide, "Troubleshooting Parameter Store": "you can try again after five minutes
   * have passed from the original attempt"). Default five minutes.
   */
  ssmRetryAfterMs?: number
  /**
   * The account of a caller whose access key the front has no account for (DoubleState.accounts):
   * the one moto acts in for credentials it did not issue. moto's own default unless moto was
   * started with another (MOTO_ACCOUNT_ID).
   */
  defaultAccount?: string
  /**
   * How long an AMI usage report stays pending before it is available (EC2 documents no figure:
   * "The report is being created"). Default 2 s: a first look always finds it pending, and a step on
   * a real clock (the bundle tests, the demo) waits one poll.
   */
  usageReportMs?: number
  /**
   * How many usage reports an account may have pending at once in a region: EC2 User Guide, "View
   * your AMI usage", Report quotas, "In-progress (pending) AMI usage reports per AWS account: 2,000".
   */
  usageReportsPending?: number
  /**
   * How long a new usage report stays out of DescribeImageUsageReports (EC2 documents nothing of
   * their consistency; its developer guide's "Eventual consistency" holds for resources in general).
   * Default 0.
   */
  usageReportInvisibleMs?: number
  /** A report about this image ends in `error` with the reason returned (ImageUsageReport, stateReason). */
  usageReportError?: (imageId: string) => string | undefined
  /**
   * The full size (EC2 API Reference, Snapshot, FullSnapshotSizeInBytes: "the size of all the blocks
   * that were written to the source volume at the time the snapshot was created") of a snapshot the
   * double was not told of (Front.setSnapshot); undefined leaves the field out, as an endpoint that
   * does not report it would. Default: defaultSnapshotBytes, 40 % of the volume.
   */
  snapshotBytes?: (snapshot: { snapshotId: string; region: string; volumeSize: number }) => number | undefined
  /**
   * How long the first retention rule an account creates in a region with CreateRule stays
   * pending (EBS User Guide, "Considerations for Recycle Bin": "When you create your first retention
   * rule, it can take up to 30 minutes for the rule to become active"). Default 30 minutes, the most
   * it can take; later rules are available at once ("almost immediately").
   */
  recycleBinActivationMs?: number
}

/** Default of FrontOptions.invisibleMs. */
export const INVISIBLE_MS = 1000
/** Default of FrontOptions.ssmValidationMs. */
export const SSM_VALIDATION_MS = 1000
/** Default of FrontOptions.defaultAccount: moto's default account. */
export const MOTO_DEFAULT_ACCOUNT = '123456789012'
/** Default of FrontOptions.usageReportMs. */
export const USAGE_REPORT_MS = 2000
/** Default of FrontOptions.usageReportsPending. */
export const USAGE_REPORTS_PENDING = 2000
/** Default of FrontOptions.ssmRetryAfterMs. */
export const SSM_RETRY_AFTER_MS = 300_000
/** Default of FrontOptions.recycleBinActivationMs. */
export const RECYCLE_BIN_ACTIVATION_MS = 1_800_000

const MIB = 1024 * 1024

/**
 * Default of FrontOptions.snapshotBytes: 40 % of the volume, in whole MiB. Deterministic, and below
 * the volume size, as the blocks ever written to a volume are for a freshly built image's disk.
 */
export function defaultSnapshotBytes(snapshot: { volumeSize: number }): number {
  return Math.round(snapshot.volumeSize * 1024 * 0.4) * MIB
}
