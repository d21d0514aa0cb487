// The workflow run this step belongs to: what provenance records, and what tells a re-run's images
// from anyone else's.

export interface Run {
  repository: string
  commit: string
  runId: string
  runAttempt: string
  workflow: string
  ref: string
}

/** Outside a mode that makes or publishes images, the run is not needed (and Octokit not loaded). */
export const NO_RUN: Run = { repository: '', commit: '', runId: '', runAttempt: '', workflow: '', ref: '' }

/** The workflow run from the runner's context; empty fields outside GitHub Actions. */
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
