import type { AttemptRecord } from '../../src/core/flow.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import type { RetryPolicy, RetryRule } from '../../src/policy/types.ts';
import type { CallRecord, Harness, RequestRecord } from './harness.ts';

import { MIN_CUT_TO_COUNT_MS } from '../../src/serve/flow-runtime.ts';

/**
 * The orchestration invariants, as checks over one finished Harness run. Each throws an
 * Error naming the request, the call and the numbers when the invariant is broken.
 */

/** One attempt of a request: the machine's record, and the upstream call behind it (none when skipped). */
export interface Attempt {
  record: AttemptRecord;
  call: CallRecord | undefined;
}

function fail(rec: RequestRecord, what: string): never {
  throw new Error(`request ${rec.index} (steps ${rec.steps.map((s) => s.provider).join(',')}; headers ${JSON.stringify(rec.headers)}): ${what}`);
}

export function callsOf(h: Harness, rec: RequestRecord): CallRecord[] {
  return h.calls.filter((c) => c.request === rec.index);
}

/**
 * The request's attempts paired with its calls: every non-skipped attempt made exactly one
 * call, in order (a call still in flight when the deadline struck has no record).
 */
export function attemptsOf(h: Harness, rec: RequestRecord): Attempt[] {
  if (rec.out === null) fail(rec, 'never finished');
  const calls = callsOf(h, rec);
  let next = 0;
  const out = rec.out.attempts.map((record): Attempt => {
    if (record.skipped) return { record, call: undefined };
    const call = calls[next++];
    if (call === undefined || call.stepIndex !== record.step) fail(rec, `attempt ${record.attempt} on step ${record.step} has no matching call`);
    return { record, call };
  });
  if (calls.length - next > 1) fail(rec, `${calls.length - next} calls have no attempt record`);
  return out;
}

/** The retries a policy allows on one step: max_retries, or the longest rule attempts list. */
export function retryBound(retry: RetryPolicy): number {
  let bound = retry.maxRetries;
  for (const r of retry.rules) if (r.attempts !== undefined && r.attempts.length > bound) bound = r.attempts.length;
  return bound;
}

function ruleFor(retry: RetryPolicy, kind: ErrorKind): RetryRule | undefined {
  if (retry.rules.length === 0) return undefined;
  return retry.rules.find((r) => r.errorType === kind) ?? (kind === 'bad_request' ? undefined : retry.rules.find((r) => r.errorType === 'any_error'));
}

/** The longest wait the policy allows before retrying a `kind` failure. */
export function maxRetryDelay(retry: RetryPolicy, kind: ErrorKind): number {
  const rule = ruleFor(retry, kind);
  if (rule === undefined) return retry.maxDelayMs;
  if (rule.maxWaitMs !== undefined) return rule.maxWaitMs;
  if (rule.attempts !== undefined) return Math.max(...rule.attempts);
  if (typeof rule.waitMs === 'number') return rule.waitMs;
  return retry.maxDelayMs;
}

// ---- the invariants -----------------------------------------------------------------------

/** Never an upstream call on a target whose (the request's) breaker is open; half-open only with a trial slot. */
export function checkBreakerGate(h: Harness): void {
  for (const c of h.calls) {
    const rec = h.requests[c.request];
    if (c.breaker === 'open') fail(rec, `call on step ${c.stepIndex} (${c.provider}) at ${c.at} while its breaker was open`);
    if (c.breaker === 'half_open' && !c.holdsTrial) fail(rec, `call on step ${c.stepIndex} (${c.provider}) at ${c.at} in half_open without a trial slot`);
  }
}

/** Calls per step <= 1 + bound; calls per request <= steps * (1 + bound). */
export function checkCallBound(h: Harness): void {
  for (const rec of h.requests) {
    const bound = retryBound(rec.policy.retry);
    const calls = callsOf(h, rec);
    const perStep = new Map<number, number>();
    for (const c of calls) perStep.set(c.stepIndex, (perStep.get(c.stepIndex) ?? 0) + 1);
    for (const [step, n] of perStep) if (n > 1 + bound) fail(rec, `${n} calls on step ${step}, more than 1 + ${bound}`);
    if (calls.length > rec.steps.length * (1 + bound)) fail(rec, `${calls.length} calls in all, more than ${rec.steps.length} * (1 + ${bound})`);
  }
}

/**
 * Every wait between a failed attempt and the retry of its step is within [0, the policy's
 * bound for the failure's kind]; a rule's `attempts` delays are kept exactly.
 */
export function checkRetryDelays(h: Harness): number {
  let retries = 0;
  for (const rec of h.requests) {
    const attempts = attemptsOf(h, rec);
    const calls = callsOf(h, rec);
    for (let i = 1; i < calls.length; i++) {
      const prev = calls[i - 1];
      const cur = calls[i];
      if (cur.stepIndex !== prev.stepIndex) continue;
      retries++;
      const a = attempts.find((x) => x.call === prev);
      if (a === undefined || a.record.ok) fail(rec, `call at ${cur.at} retried step ${cur.stepIndex} after an attempt that did not fail`);
      const kind = a.record.kind!;
      const ended = prev.at + a.record.latencyMs;
      const waited = cur.at - ended;
      const max = maxRetryDelay(rec.policy.retry, kind);
      if (waited < 0 || waited > max) fail(rec, `waited ${waited} ms before retrying step ${cur.stepIndex} after ${kind}; allowed [0, ${max}]`);
      const rule = ruleFor(rec.policy.retry, kind);
      if (rule?.attempts !== undefined) {
        const n = calls.slice(0, i).filter((c) => c.stepIndex === cur.stepIndex).length - 1;
        if (waited !== rule.attempts[n]) fail(rec, `retry ${n + 1} of step ${cur.stepIndex} after ${kind} waited ${waited} ms, rule says ${rule.attempts[n]}`);
      }
    }
  }
  return retries;
}

/** The request is final within its deadline, and no call starts after it. */
export function checkDeadline(h: Harness): void {
  for (const rec of h.requests) {
    const deadline = rec.startedAt + rec.policy.requestTimeoutMs;
    if (rec.doneAt === null) fail(rec, `still running at ${h.clock.now()}, deadline was ${deadline}`);
    if (rec.doneAt > deadline) fail(rec, `finished at ${rec.doneAt}, after its deadline ${deadline}`);
    for (const c of callsOf(h, rec)) {
      if (c.at > deadline) fail(rec, `call on step ${c.stepIndex} started at ${c.at}, after the deadline ${deadline}`);
    }
  }
}

const NOT_ON_SAME_STEP: ReadonlySet<ErrorKind> = new Set(['context_length_exceeded', 'content_filter']);

/**
 * bad_request ends the request with that error (no retry, no failover);
 * context_length_exceeded and content_filter are never retried on the same step; a
 * content_filter refusal moves on only to a step whose trigger (or, for a step without one,
 * the config's resilience.failover.triggers) names content_filter: `any_error` does not.
 */
export function checkNonRetryable(h: Harness): void {
  for (const rec of h.requests) {
    const attempts = attemptsOf(h, rec);
    attempts.forEach((a, i) => {
      if (a.call === undefined || a.record.ok) return;
      const next = attempts[i + 1];
      if (a.record.kind === 'bad_request') {
        const calls = callsOf(h, rec);
        if (next !== undefined || calls.indexOf(a.call) !== calls.length - 1) fail(rec, `attempt ${a.record.attempt} failed with bad_request and the request went on`);
        if (rec.out!.ok || rec.out!.error.kind !== 'bad_request') fail(rec, `bad_request at attempt ${a.record.attempt} but the request ended with ${rec.out!.ok ? 'success' : rec.out!.error.kind}`);
      }
      if (NOT_ON_SAME_STEP.has(a.record.kind!) && next !== undefined && next.record.step <= a.record.step) {
        fail(rec, `attempt ${a.record.attempt} failed with ${a.record.kind} on step ${a.record.step}, then attempt ${next.record.attempt} went to step ${next.record.step}`);
      }
      const nextTrigger = next === undefined ? undefined : (rec.steps[next.record.step].trigger ?? rec.policy.failover.triggers);
      if (a.record.kind === 'content_filter' && next !== undefined && !nextTrigger!.includes('content_filter')) {
        fail(rec, `attempt ${a.record.attempt} was refused by the content filter, then attempt ${next.record.attempt} went to step ${next.record.step}, whose trigger ${JSON.stringify(nextTrigger)} does not name content_filter`);
      }
    });
  }
}

/** Steps are visited in order: a request never goes back to an earlier step. */
export function checkNoRevisit(h: Harness): void {
  for (const rec of h.requests) {
    const steps = attemptsOf(h, rec).map((a) => a.record.step);
    for (let i = 1; i < steps.length; i++) if (steps[i] < steps[i - 1]) fail(rec, `went back from step ${steps[i - 1]} to ${steps[i]} (steps ${steps.join(' -> ')})`);
    const called = callsOf(h, rec).map((c) => c.stepIndex);
    for (let i = 1; i < called.length; i++) if (called[i] < called[i - 1]) fail(rec, `called step ${called[i]} after step ${called[i - 1]}`);
  }
}

/**
 * Every upstream call's outcome reaches its target's health: the model actor (and with it
 * the breakers, fed by the same `report`) counts exactly the calls made to the target,
 * including a call cut short by the request's deadline (a timeout to the target).
 */
export function checkEveryCallReported(h: Harness): void {
  // A call its request's own deadline cut in under MIN_CUT_TO_COUNT_MS is deliberately not
  // held against the target (src/engine/engine.ts): a client's X-Request-Timeout-Ms: 1 must
  // not open a shared breaker. Every other call must be heard.
  const exempt = new Set<unknown>();
  for (const rec of h.requests) {
    for (const a of attemptsOf(h, rec)) if (a.record.cut && a.record.latencyMs < MIN_CUT_TO_COUNT_MS) exempt.add(a.call);
  }
  const made = new Map<string, number>();
  for (const c of h.calls) if (!exempt.has(c)) made.set(c.provider, (made.get(c.provider) ?? 0) + 1);
  for (const [provider, n] of made) {
    const heard = h.modelRequests(provider);
    if (heard !== n) {
      // Calls with no attempt record: still in flight when their request ended.
      const unrecorded = h.requests.flatMap((rec) => {
        const recorded = new Set(attemptsOf(h, rec).map((a) => a.call));
        return callsOf(h, rec).filter((c) => c.provider === provider && !recorded.has(c)).map((c) => `request ${rec.index} (deadline ${rec.policy.requestTimeoutMs} ms): call at ${c.at}, ${c.end} at ${c.endedAt}, request ${rec.out?.ok ? 'succeeded' : `failed: ${rec.out?.error.message}`}`);
      });
      throw new Error(`${provider}: ${n} upstream calls but its model actor heard ${heard} outcomes; calls without an attempt record: ${unrecorded.join('; ') || 'none'}`);
    }
  }
}

/** A finished request holds no half-open trial slot (else the breaker waits out its lease for nothing). */
export function checkTrialsReleased(h: Harness): void {
  for (const rec of h.requests) {
    if (rec.trialsAtDone.length > 0) fail(rec, `finished at ${rec.doneAt} still holding half-open trial slots ${rec.trialsAtDone.join(', ')}`);
  }
}
