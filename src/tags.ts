// Every tag key the action writes (ami-pipeline:*), and the helpers for tag sets. Provenance tags
// record where an image came from; they are also how a re-run recognises the image its earlier
// attempt made: same repository, same workflow run id.
import type { Run } from './run.ts'

/** A set of tags, key → value. */
export type Tags = ReadonlyMap<string, string>

export const PROVENANCE = {
  repository: 'ami-pipeline:repository',
  commit: 'ami-pipeline:commit',
  runId: 'ami-pipeline:run-id',
  runAttempt: 'ami-pipeline:run-attempt',
  workflow: 'ami-pipeline:workflow',
  ref: 'ami-pipeline:ref',
  sourceImage: 'ami-pipeline:source-image',
  sourceRegion: 'ami-pipeline:source-region'
} as const

/**
 * Written by prune when it disables an image: EC2 reports no time of disabling, and a later
 * `retire: deregister` step measures `older-than` from it, so an image disabled today gets its
 * full grace period whatever its age.
 */
export const DISABLED_AT = 'ami-pipeline:disabled-at'

/**
 * On a source image and on each of its snapshots, the target accounts that copy gave launch
 * permission (on the image) or createVolumePermission (on a snapshot) so that they could copy it,
 * until it takes them back: another attempt or run knows those grants for the step's own and takes
 * them back too. Values are account ids separated by spaces; tag values hold 256 characters, so a
 * long list goes on in `…-2`, `…-3`.
 */
export const GRANTED_TO = 'ami-pipeline:granted-to'

/** The tag a dry run's CreateTags check carries when the step has no tags of its own to check with. */
export const DRY_RUN_TAG = 'ami-pipeline:dry-run'

/** Tags for an image of this run; a copy also names its source. Empty values are left out. */
export function provenanceTags(run: Run, source?: { imageId: string; region: string }): Map<string, string> {
  const entries: [string, string][] = [
    [PROVENANCE.repository, run.repository],
    [PROVENANCE.commit, run.commit],
    [PROVENANCE.runId, run.runId],
    [PROVENANCE.runAttempt, run.runAttempt],
    [PROVENANCE.workflow, run.workflow],
    [PROVENANCE.ref, run.ref],
    [PROVENANCE.sourceImage, source?.imageId ?? ''],
    [PROVENANCE.sourceRegion, source?.region ?? '']
  ]
  // EC2 caps tag values at 256 characters; a long ref or workflow name must not fail the build.
  return new Map(entries.filter(([, value]) => value !== '').map(([key, value]) => [key, value.slice(0, 256)]))
}

/** True when the image's provenance says this same workflow run (any attempt) made it. */
export function madeByRun(tags: Tags, run: Run): boolean {
  return run.runId !== '' && tags.get(PROVENANCE.runId) === run.runId && tags.get(PROVENANCE.repository) === run.repository
}

export function mergeTags(...sets: Tags[]): Map<string, string> {
  return new Map(sets.flatMap((set) => [...set]))
}
