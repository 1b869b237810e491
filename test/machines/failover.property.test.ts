import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDeadline, checkDecisions, checkNoLeaks, checkRecords, checkReports, scenario, simulate, unrecordedContinuation, type FlowRun } from './failover.checks.ts';

/**
 * Properties of the real failover machine (the runtime's clock provisions on a
 * SimulatedClock) over random flows: random chains, deadlines, attempt and idle limits,
 * queue timeouts, breaker fallbacks; each attempt's fate (reaching its upstream late or
 * never, succeeding, streaming, failing with any kind, skipped, hanging) and the policy's
 * decisions scripted. Each property also counts how often its situation occurred, so it
 * cannot pass on a generator that never reaches it. failover-checks-catch-broken-machines
 * shows each check failing on a broken machine.
 *
 * FAILOVER_PROPERTY_RUNS raises the number of runs (default 200: the file takes a few seconds).
 */
const runs = { numRuns: Number(process.env.FAILOVER_PROPERTY_RUNS ?? 200) };

async function check(fn: (r: FlowRun) => void, count: (r: FlowRun) => void): Promise<void> {
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const r = await simulate(s);
      fn(r);
      count(r);
    }),
    runs,
  );
}

describe('failover machine (properties)', () => {
  it('holds the deadline: no attempt starts at or after it, and an uncommitted flow is over by then', async () => {
    let cut = 0;
    let committed = 0;
    await check(checkDeadline, (r) => {
      if (r.commitAt === null && r.doneAt === r.s.deadlineMs) cut++;
      if (r.commitAt !== null) committed++;
    });
    expect(cut).toBeGreaterThan(0);
    expect(committed).toBeGreaterThan(0);
  });

  it('makes no attempt the decisions do not allow', async () => {
    let retries = 0;
    let jumps = 0;
    let refusedJumps = 0;
    await check(checkDecisions, (r) => {
      for (const { decision: d, stepIndex } of r.decided) {
        if (d.action === 'retry') retries++;
        if (d.action === 'next' && d.stepIndex !== undefined) {
          if (d.stepIndex <= stepIndex || d.stepIndex >= r.s.steps.length) refusedJumps++;
          else jumps++;
        }
      }
    });
    expect(retries).toBeGreaterThan(0);
    expect(jumps).toBeGreaterThan(0);
    expect(refusedJumps).toBeGreaterThan(0);
  });

  it('leaves no attempt running when final: each one settled or was aborted, once', async () => {
    let aborted = 0;
    await check(checkNoLeaks, (r) => {
      aborted += r.h.aborted.length;
    });
    expect(aborted).toBeGreaterThan(0);
  });

  it("records the attempts started, in order, each as it went", async () => {
    let timedOut = 0;
    let waitLimited = 0;
    let continued = 0;
    let gaps = 0;
    await check(checkRecords, (r) => {
      const out = r.h.output();
      timedOut += out.attempts.filter((a) => a.kind === 'timeout').length;
      waitLimited += out.attempts.filter((a) => a.skipped === 'wait_limit').length;
      continued += r.h.started.filter((i) => i.prefill !== undefined).length;
      if (unrecordedContinuation(r) !== undefined) gaps++;
    });
    expect(timedOut).toBeGreaterThan(0);
    expect(waitLimited).toBeGreaterThan(0);
    expect(continued).toBeGreaterThan(0);
    // Continuations their own timer ended are recorded too: none is left out.
    expect(gaps).toBe(0);
  });

  it('never reports an attempt that did not reach its upstream as a counted outcome', async () => {
    let skipped = 0;
    let streamFailures = 0;
    await check(checkReports, (r) => {
      skipped += r.h.reports.filter((x) => x.skipped !== undefined).length;
      streamFailures += r.h.reports.length - new Set(r.h.reports.map((x) => x.attempt)).size;
    });
    expect(skipped).toBeGreaterThan(0);
    expect(streamFailures).toBeGreaterThan(0);
  });
});
