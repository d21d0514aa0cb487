// The fault injector: what happens to a call before (and after) the double carries it out — added
// latency, EC2-like token buckets, refused permissions, throttling and 5xx at a seeded rate, and
// replies lost after the work was done. The random source is seeded, so every run is reproducible.
import type { Clock } from './clock.ts'
import type { FaultRule } from './options.ts'
import type { Protocol, Reply } from './protocol.ts'
import type { Call, DoubleState } from './state.ts'

/** Answers the call as the faults that match it decide, carrying it out with `dispatch` unless they refuse it. */
export async function withFaults(
  { state, clock }: { state: DoubleState; clock: Clock },
  call: Call,
  protocol: Protocol,
  dispatch: () => Promise<Reply>
): Promise<Reply> {
  const rules = (state.options.faults ?? []).filter(
    (rule) => (!rule.actions || rule.actions.includes(call.action)) && (!rule.regions || rule.regions.includes(call.region))
  )
  for (const rule of rules) {
    const latency = rule.latencyMs
    const ms = Array.isArray(latency) ? latency[0] + state.faults.random() * (latency[1] - latency[0]) : (latency ?? 0)
    if (ms > 0) await clock.sleep(ms)
  }
  if (!takeToken(state, call, clock.now())) {
    state.faults.throttled++
    return protocol.throttled()
  }
  if (rules.some((rule) => rule.denied) && !undeniable(call)) return protocol.denied(call.action)
  for (const rule of rules) {
    if (rule.throttleRate && state.faults.random() < rule.throttleRate) return protocol.throttled()
    if (rule.errorRate && state.faults.random() < rule.errorRate) return protocol.internalError()
  }
  const lost = loseReply(state, call, rules)
  const reply = await dispatch()
  // A lost reply: the server did the work; the client never hears of it and will retry.
  if (lost && reply.status < 400) return protocol.internalError()
  return reply
}

/**
 * STS API Reference, GetCallerIdentity: "No permissions are required to perform this operation. If
 * an administrator attaches a policy to your identity that explicitly denies access to the
 * sts:GetCallerIdentity action, you can still perform this operation."
 */
function undeniable(call: Call): boolean {
  return call.service === 'sts' && call.action === 'GetCallerIdentity'
}

function loseReply(state: DoubleState, call: Call, rules: FaultRule[]): boolean {
  const { faults } = state
  for (const rule of rules) {
    const key = `${rule.actions?.join(',')}|${call.action}|${call.region}`
    const lostSoFar = faults.lostSoFar.get(key) ?? 0
    if (rule.lostReplyFirst && lostSoFar < rule.lostReplyFirst) {
      faults.lostSoFar.set(key, lostSoFar + 1)
      return true
    }
    if (rule.lostReplyRate && faults.random() < rule.lostReplyRate) return true
  }
  return false
}

/** EC2 API Reference, "Request throttling": a token bucket per account and region for each kind of call. */
function takeToken(state: DoubleState, call: Call, now: number): boolean {
  const shapes = state.options.buckets
  if (!shapes) return true
  const kind = /^(Describe|Get|List)/.test(call.action) ? 'describe' : 'change'
  const shape = shapes[kind]
  // SSM has its own quotas (Systems Manager endpoints and quotas), so its buckets are its own; so do
  // STS and KMS (AWS General Reference, their endpoints and quotas).
  const key = `${call.service ? `${call.service}|` : ''}${call.account}|${call.region}|${kind}`
  const bucket = state.faults.buckets.get(key) ?? { tokens: shape.capacity, at: now }
  bucket.tokens = Math.min(shape.capacity, bucket.tokens + ((now - bucket.at) / 1000) * shape.refillPerSecond)
  bucket.at = now
  state.faults.buckets.set(key, bucket)
  if (bucket.tokens < 1) return false
  bucket.tokens -= 1
  return true
}
