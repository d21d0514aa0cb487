// placeholder replaced by the prune implementation
import type { Step } from '../step.ts'
export async function prune(step: Step): Promise<void> {
  throw new Error(`prune is not implemented yet (${step.plan.region})`)
}
