// Provenance tags record where an image came from. They are also how a re-run recognises the
// image its earlier attempt made: same repository, same workflow run id.

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

export interface Run {
  repository: string
  commit: string
  runId: string
  runAttempt: string
  workflow: string
  ref: string
}

/** The workflow run this step belongs to; empty fields outside GitHub Actions. */
export async function currentRun(): Promise<Run> {
  // Loaded on demand: @actions/github pulls in Octokit, which prune-only steps never need.
  const { context } = await import('@actions/github')
  const repository = process.env.GITHUB_REPOSITORY ? `${context.repo.owner}/${context.repo.repo}` : ''
  return {
    repository,
    commit: context.sha ?? '',
    runId: context.runId ? String(context.runId) : '',
    runAttempt: context.runAttempt ? String(context.runAttempt) : '',
    workflow: context.workflow ?? '',
    ref: context.ref ?? ''
  }
}

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
export function madeByRun(tags: ReadonlyMap<string, string>, run: Run): boolean {
  return run.runId !== '' && tags.get(PROVENANCE.runId) === run.runId && tags.get(PROVENANCE.repository) === run.repository
}

export function mergeTags(...sets: ReadonlyMap<string, string>[]): Map<string, string> {
  return new Map(sets.flatMap((set) => [...set]))
}
