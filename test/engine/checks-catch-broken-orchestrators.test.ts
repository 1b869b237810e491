import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/flow.ts';
import { checkBreakerGate, checkCallBound, checkDeadline, checkNonRetryable, checkNoRevisit, checkRetryDelays } from './checks.ts';
import { Harness, type HarnessOptions, type Outcome } from './harness.ts';

/**
 * The property checks are only worth something if they fail on a wrong orchestrator: each
 * test here runs the real Engine with a deliberately broken `decide`, or doctors one record
 * of a real run where the machine itself cannot go wrong, and expects the check to say so.
 */

const err = (kind: Extract<Outcome, { type: 'error' }>['kind']): Outcome => ({ type: 'error', kind, delayMs: 0 });

async function run(script: Outcome[], headers: Record<string, string>, decide?: () => Decision, extra: Partial<HarnessOptions> = {}): Promise<Harness> {
  const h = new Harness({
    attemptTimeoutMs: 5_000,
    requestTimeoutMs: 30_000,
    retryBudget: { maxTokens: 10, ratio: 0.2 },
    script,
    seed: 7,
    ...(decide ? { decide } : {}),
    ...extra,
  });
  h.start(headers);
  await h.advance(31_000);
  h.stop();
  return h;
}

describe('the orchestration checks catch a broken orchestrator', () => {
  it('call bound: a decider that always retries', async () => {
    const h = await run([err('server_error'), err('server_error'), err('server_error'), err('server_error')], {}, () => ({ action: 'retry', delayMs: 0 }));
    expect(h.calls.map((c) => c.stepIndex)).toEqual([0, 0, 0, 0, 0]);
    expect(() => checkCallBound(h)).toThrow('5 calls on step 0, more than 1 + 2');
  });

  it('retry delays: a decider that waits one ms past max_delay_ms', async () => {
    const h = await run([err('server_error')], { 'x-retry-config': '{"max_delay_ms": 2000}' }, () => ({ action: 'retry', delayMs: 2_001 }));
    expect(() => checkRetryDelays(h)).toThrow('waited 2001 ms before retrying step 0 after server_error; allowed [0, 2000]');
  });

  it('retry delays: a rule attempts delay not kept exactly', async () => {
    const rules = '{"strategy":"custom","rules":[{"error_type":"server_error","attempts":[300,600]}]}';
    const h = await run([err('server_error')], { 'x-retry-config': rules }, () => ({ action: 'retry', delayMs: 250 }));
    expect(() => checkRetryDelays(h)).toThrow('retry 1 of step 0 after server_error waited 250 ms, rule says 300');
  });

  it('non-retryable: a decider that fails a bad_request over', async () => {
    const h = await run([err('bad_request')], { 'x-failover-providers': 'p0,p1' }, () => ({ action: 'next' }));
    expect(h.calls.map((c) => c.provider)).toEqual(['p0', 'p1']);
    expect(() => checkNonRetryable(h)).toThrow('attempt 1 failed with bad_request and the request went on');
  });

  it('non-retryable: a decider that retries context_length_exceeded on the same step', async () => {
    const h = await run([err('context_length_exceeded')], {}, () => ({ action: 'retry', delayMs: 10 }));
    expect(() => checkNonRetryable(h)).toThrow('attempt 1 failed with context_length_exceeded on step 0, then attempt 2 went to step 0');
  });

  it('non-retryable: a decider that fails a content_filter refusal over to an any_error fallback', async () => {
    const chain = '{"primary":{"provider":"p0","model":"m"},"fallbacks":[{"trigger":"any_error","provider":"p1","model":"m"}]}';
    const h = await run([err('content_filter')], { 'x-failover-config': chain }, () => ({ action: 'next', stepIndex: 1 }));
    expect(h.calls.map((c) => c.provider)).toEqual(['p0', 'p1']);
    expect(() => checkNonRetryable(h)).toThrow('attempt 1 was refused by the content filter, then attempt 2 went to step 1, whose trigger ["any_error"] does not name content_filter');
  });

  it('breaker gate, deadline and revisits: doctored records of a real run', async () => {
    const h = await run([err('server_error'), { type: 'ok', delayMs: 0 }], { 'x-failover-providers': 'p0,p1', 'x-request-timeout-ms': '1000', 'x-max-retries': '0' });
    for (const check of [checkBreakerGate, checkDeadline, checkNoRevisit]) check(h);
    expect(h.calls.map((c) => [c.stepIndex, c.breaker])).toEqual([[0, 'closed'], [1, 'closed']]);

    h.calls[1].breaker = 'open';
    expect(() => checkBreakerGate(h)).toThrow('call on step 1 (p1) at 0 while its breaker was open');
    h.calls[1].breaker = 'half_open';
    expect(() => checkBreakerGate(h)).toThrow('in half_open without a trial slot');

    h.calls[1].at = 1_001;
    expect(() => checkDeadline(h)).toThrow('call on step 1 started at 1001, after the deadline 1000');
    h.requests[0].doneAt = 1_001;
    expect(() => checkDeadline(h)).toThrow('finished at 1001, after its deadline 1000');

    const attempts = h.requests[0].out!.attempts;
    [attempts[0].step, attempts[1].step, h.calls[0].stepIndex, h.calls[1].stepIndex] = [1, 0, 1, 0];
    expect(() => checkNoRevisit(h)).toThrow('went back from step 1 to 0 (steps 1 -> 0)');
  });
});
