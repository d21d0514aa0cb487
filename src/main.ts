// Wires the action together: inputs → plan, the pipeline of modes, then outputs and the summary,
// which are written whatever happened. The one place that reports failure to the runner.
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as core from '@actions/core'
import { Aws } from './aws/client.ts'
import { AwsError } from './aws/errors.ts'
import type { Log } from './context.ts'
import { errorMessage, InputError, InputErrors, StepError } from './errors.ts'
import { readPlan, type InputName, type Mode, type Plan } from './inputs/index.ts'
import { Journal } from './journal.ts'
import { runPipeline } from './pipeline.ts'
import { Release } from './release.ts'
import { manifestOf, outputsOf, summaryOf } from './report.ts'
import { currentRun, NO_RUN } from './run.ts'
import { POLLING, realClock } from './time.ts'

const log: Log = {
  info: (message) => core.info(message),
  notice: (message) => core.notice(message),
  warning: (message) => core.warning(message),
  debug: (message) => core.debug(message),
  group: (title, work) => core.group(title, work)
}

export async function run(): Promise<void> {
  // configure-aws-credentials masks these too; a step given plain env vars must not leak them
  // either, not even with step debug logging on.
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
    const secret = process.env[name]
    // Real secret keys are 40 characters; masking a short test value would blank that text everywhere.
    if (secret && secret.length >= 16) core.setSecret(secret)
  }
  const cancel = onCancel()
  const journal = new Journal()
  let aws: Aws | undefined
  let plan: Plan | undefined
  let release: Release | undefined
  let failure: string | undefined
  try {
    const read = readPlan((name: InputName) => core.getInput(name))
    plan = read
    release = new Release(read.region)
    aws = new Aws({
      debug: (message) => core.debug(message),
      log: (message) => core.info(message),
      signal: cancel.signal,
      dryRun: read.dryRun
    })
    const needsRun = ['build', 'copy', 'tag', 'publish'].some((mode) => read.modes.has(mode as Mode))
    const run = needsRun ? await currentRun() : NO_RUN
    const context = { plan: read, aws, release, journal, log, run, signal: cancel.signal, clock: realClock, polling: POLLING }
    await runPipeline(context, read)
  } catch (error) {
    failure = cancel.signal.aborted ? errorMessage(cancel.signal.reason) : errorMessage(error)
    // A stack helps only with the unexpected; the action's own errors already say what happened.
    if (
      !(error instanceof StepError || error instanceof InputError || error instanceof InputErrors || error instanceof AwsError) &&
      error instanceof Error &&
      error.stack
    )
      core.debug(error.stack)
  } finally {
    aws?.destroy()
  }
  try {
    // Refused input made nothing, but the summary still says why and the outputs are still set.
    await report(release ?? new Release(process.env.AWS_REGION ?? ''), journal, plan, failure)
  } catch (error) {
    failure ??= `Could not write the outputs or the job summary: ${errorMessage(error)}`
  }
  cancel.dispose()
  if (failure !== undefined) core.setFailed(failure)
}

async function report(release: Release, journal: Journal, plan: Plan | undefined, failure: string | undefined): Promise<void> {
  for (const [name, value] of Object.entries(outputsOf(release, journal))) core.setOutput(name, value)
  const manifest = join(
    process.env.RUNNER_TEMP || tmpdir(),
    `ami-pipeline-manifest-${process.env.GITHUB_RUN_ID ?? 'local'}-${process.env.GITHUB_ACTION ?? process.pid}.json`
  )
  await writeFile(manifest, `${JSON.stringify(manifestOf(release, journal, plan, failure), null, 2)}\n`)
  core.setOutput('manifest', manifest)
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(summaryOf(release, journal, plan, failure), true).write()
}

/** The runner cancels a job with SIGINT, then SIGTERM: stop waiting, report, exit non-zero. */
function onCancel(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  const handler = (signal: NodeJS.Signals): void => {
    controller.abort(new StepError(`The job was cancelled (${signal}); the outputs and the summary show what exists so far.`))
  }
  process.once('SIGINT', handler)
  process.once('SIGTERM', handler)
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    }
  }
}
