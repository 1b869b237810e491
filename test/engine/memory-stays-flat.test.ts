import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { parsePolicy } from '../../src/policy/parse-headers.ts';
import type { AttemptResult } from '../../src/providers/transport.ts';
import type { TranslateContext } from '../../src/providers/types.ts';
import { buildEngine, MODEL, seededRng, testConfig } from './harness.ts';

/**
 * 100,000 sequential requests through the real Engine (request actors, decider, breakers,
 * retry budgets, model actors) with an instant fake transport must leave the heap flat: no
 * per-request state may outlive its request.
 *
 * Needs `global.gc`: vitest.config.ts starts its workers with --expose-gc, so
 * `npx vitest run test/engine` runs it.
 */

const gc = (globalThis as { gc?: () => void }).gc;

const TOTAL = 100_000;
const WARM = 10_000;
const MAX_GROWTH_BYTES = 5 * 1024 * 1024;

const OK: AttemptResult = Object.freeze({
  type: 'completion',
  completion: { id: 'chatcmpl-fake', object: 'chat.completion', created: 0, model: MODEL, choices: [] },
}) as AttemptResult;

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

describe('engine memory', () => {
  it.runIf(gc !== undefined)(
    `${TOTAL.toLocaleString('en')} sequential requests leave heapUsed flat (growth from ${WARM.toLocaleString('en')} to ${TOTAL.toLocaleString('en')} < 5 MB)`,
    async () => {
      const clock = new SimulatedClock();
      const config = testConfig();
      let calls = 0;
      // Every 10th call to p0 fails, so failover, breaker trips, skips and half-open trials all happen.
      const transport = {
        call: (_a: unknown, _r: unknown, ctx: TranslateContext, _s: unknown, _c: unknown, sent: { sentAt: number }): Promise<AttemptResult> => {
          sent.sentAt = clock.now(); // the upstream has it at once
          return ctx.target.name === 'p0' && ++calls % 10 === 0 ? Promise.reject(new UpstreamError({ kind: 'server_error', message: 'scripted' })) : Promise.resolve(OK);
        },
      };
      const { runtime, chat, hub } = buildEngine(config, transport as never, clock, config.resilience.retryBudget, { rng: seededRng(1) });
      const policy = parsePolicy({ 'x-failover-providers': 'p0,p1', 'x-max-retries': '0' }, { providers: runtime.routes.providerNames, models: runtime.routes.modelNames, defaults: config.resilience.policy });
      const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'hi' }] };
      const outcomes = { ok: 0, failed: 0, skipped: 0 };

      const runMany = async (from: number, to: number): Promise<void> => {
        for (let i = from; i < to; i++) {
          const out = (await chat.serveChat(request, policy, { requestId: `r${i}` })).flow;
          if (out.ok) outcomes.ok++;
          else outcomes.failed++;
          if (out.attempts[0]?.skipped) outcomes.skipped++;
          clock.increment(1);
        }
      };

      try {
        await runMany(0, WARM);
        const base = heapAfterGc();
        await runMany(WARM, TOTAL);
        const grown = heapAfterGc() - base;
        expect(outcomes.ok).toBe(TOTAL);
        expect(outcomes.skipped).toBeGreaterThan(0);
        // Pending timers: the breakers' own at most; none left by finished requests.
        expect((clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size).toBeLessThanOrEqual(4);
        expect(grown).toBeLessThan(MAX_GROWTH_BYTES);
      } finally {
        runtime.stop();
        hub.complete();
      }
    },
    120_000,
  );
});
