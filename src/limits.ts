// What EC2 documents as its limits and identifier shapes, stated once: the inputs check against
// them and the AWS layer batches by them.

/** EC2 API Reference, Filter: a filter takes at most 200 values. */
export const FILTER_VALUES = 200

/** EC2 User Guide, "Tag your Amazon EC2 resources": at most 50 tags on a resource. */
export const MAX_TAGS = 50

/** EC2 API Reference, CreateLaunchTemplate: a launch template id is lt- and 17 hexadecimal digits. */
export const TEMPLATE_ID = /^lt-[0-9a-f]{17}$/

/**
 * EC2 API Reference, Image, lastLaunchedTime: "there is a 24-hour delay before that usage is
 * reported". A launch EC2 does not show yet may be up to this much newer than the one it shows.
 */
export const LAUNCH_REPORT_DELAY_MS = 86_400_000

/** EC2 API Reference, EnableImageDeprecation, DeprecateAt: at most ten years ahead. */
export const TEN_YEARS_MS = 10 * 365 * 86_400_000

/**
 * How far apart the runner's clock and EC2's may be: SigV4 refuses a request signed more than five
 * minutes off (IAM User Guide, "Signing AWS API requests"). A resource the step's own call made is
 * never older, by EC2's clock, than the call by more than this.
 */
export const CLOCK_SKEW_MS = 5 * 60_000
