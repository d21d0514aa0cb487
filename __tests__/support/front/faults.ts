// The faults real EC2 produces — throttling, 5xx, slow and lost replies — drawn from seeded
// random sources so that a failing run can be replayed exactly.

export interface FaultRule {
  /** Actions the rule applies to; all when absent. */
  actions?: string[]
  /** Regions the rule applies to; all when absent. */
  regions?: string[]
  /** Share of calls answered 503 RequestLimitExceeded, as EC2 does past its rate limits; not forwarded. */
  throttleRate?: number
  /** Share of calls answered 500 InternalError; not forwarded. */
  errorRate?: number
  /** Delay before the call is handled: fixed, or drawn from [min, max]. */
  latencyMs?: number | [number, number]
  /**
   * The first N matching calls per action and region are carried out, but the reply is lost: the
   * client sees 500 InternalError, as when a connection drops after EC2 acted.
   */
  lostReplyFirst?: number
  /** Share of calls whose reply is lost (carried out, client sees 500). */
  lostReplyRate?: number
}

export interface Rejection {
  status: number
  code: string
  message: string
}

export interface FaultDecision {
  delayMs: number
  /** Answer with this instead of handling the call. */
  rejection?: Rejection
  /** Handle the call, then answer 500 whatever the outcome. */
  loseReply: boolean
}

export const THROTTLED: Rejection = { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.' }
export const INTERNAL_ERROR: Rejection = {
  status: 500,
  code: 'InternalError',
  message: 'An internal error has occurred. Retry your request, but if the problem persists, contact us with details by posting a message on the AWS forums.'
}

/**
 * One random stream per action and region, each seeded from the seed and its name: the Nth
 * CreateImage in us-west-2 meets the same fault however calls in other regions interleave.
 */
export class FaultInjector {
  private readonly rules: FaultRule[]
  private readonly seed: number
  private readonly streams = new Map<string, () => number>()
  private readonly lost = new Map<string, number>()

  constructor(rules: FaultRule[], seed: number) {
    this.rules = rules
    this.seed = seed
  }

  decide(action: string, region: string): FaultDecision {
    const random = this.stream(`${region}|${action}`)
    const decision: FaultDecision = { delayMs: 0, loseReply: false }
    // Token-bucket throttling per region (EC2's real rate limiting) slots in here, ahead of the rules.
    const drawn = this.rules.flatMap((rule, index) => {
      if ((rule.actions && !rule.actions.includes(action)) || (rule.regions && !rule.regions.includes(region))) return []
      // Every draw is made whatever the outcome, so one rule's result never shifts another's stream.
      const latency = rule.latencyMs ?? 0
      decision.delayMs += Array.isArray(latency) ? latency[0] + random() * (latency[1] - latency[0]) : latency
      const throttled = rule.throttleRate !== undefined && random() < rule.throttleRate
      const failed = rule.errorRate !== undefined && random() < rule.errorRate
      const lost = rule.lostReplyRate !== undefined && random() < rule.lostReplyRate
      return [{ rule, key: `${index}|${region}|${action}`, throttled, failed, lost }]
    })
    const rejected = drawn.find((draw) => draw.throttled || draw.failed)
    if (rejected) return { ...decision, rejection: rejected.throttled ? THROTTLED : INTERNAL_ERROR }
    // Only calls that reach the server can lose their reply, so only they use up a rule's first N.
    for (const draw of drawn) {
      const lostSoFar = this.lost.get(draw.key) ?? 0
      if (lostSoFar < (draw.rule.lostReplyFirst ?? 0)) {
        this.lost.set(draw.key, lostSoFar + 1)
        decision.loseReply = true
      } else if (draw.lost) decision.loseReply = true
    }
    return decision
  }

  private stream(name: string): () => number {
    let stream = this.streams.get(name)
    if (!stream) {
      stream = mulberry32(this.seed ^ hash(name))
      this.streams.set(name, stream)
    }
    return stream
  }
}

/** A small seeded PRNG: the same seed gives the same sequence. */
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

/** FNV-1a, to give each stream its own seed. */
function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}
