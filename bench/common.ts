// What every part of the benchmark shares: the local EC2 API it runs against, and the conditions it
// imposes there — latency on every call and EC2's own token buckets (the ones the action paces by).
import type { Front } from '../tools/ec2-double/index.ts'

export { EC2_BUCKETS } from '../src/aws/pacing.ts'

/** Added to every call, as a [min, max] range in ms. */
export const LATENCY: [number, number] = [40, 80]

export interface Bench {
  front: Front
  motoEndpoint: string
  builder: string
  env: Record<string, string>
}
