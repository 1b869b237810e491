import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/gateway.ts';
import { degradedHarness, fail, untilCalls, type DegradedHarness } from './harness.ts';

/**
 * The seed's "Degraded Mode Operations" Python example as written (test/python/seed_degraded.py),
 * run with the official Python SDK against the gateway on a simulated clock, with each trigger
 * provoked by simulator faults first.
 */

const PYTHON_DIR = fileURLToPath(new URL('../python/', import.meta.url));

function python(x: DegradedHarness, priority?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.env.PARROT_PYTHON ?? 'python3',
      ['seed_degraded.py'],
      {
        cwd: PYTHON_DIR,
        timeout: 15_000,
        env: { ...process.env, PARROT_URL: `${x.gw.url}/v1`, PYTHONDONTWRITEBYTECODE: '1', OPENAI_LOG: '', ...(priority ? { PARROT_PRIORITY: priority } : {}) },
      },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
    );
  });
}

let h: DegradedHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const post = (x: DegradedHarness) =>
  fetch(`${x.gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-failover-enabled': 'false' },
    body: JSON.stringify({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'hi' }] }),
  });

async function highLatency(x: DegradedHarness): Promise<void> {
  x.sim.setModel('gpt-4-turbo-preview', { latency: { type: 'fixed', ms: 150 } });
  for (let i = 1; i <= 3; i++) {
    const res = post(x);
    await untilCalls(x, i);
    x.clock.increment(3_000);
    await res;
  }
  x.sim.setModel('gpt-4-turbo-preview', {});
  x.evaluate();
  expect(x.state().reasons).toEqual(['high_latency']);
}

describe('seed_degraded.py (Degraded Mode Operations)', () => {
  it('normal mode: prints nothing; gpt-4-turbo-preview answered', async () => {
    h = await degradedHarness();
    expect(await python(h)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(h.calls().map((c) => `${c.model} ${c.status}`)).toEqual(['gpt-4-turbo-preview 200']);
  });

  it('high_latency, X-User-Priority high (as written): the priority user skips degradation and prints nothing', async () => {
    h = await degradedHarness();
    await highLatency(h);
    expect(await python(h)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(h.calls().at(-1)!.model).toBe('gpt-4-turbo-preview');
  });

  it('high_latency, a normal user: prints the reason and gpt-3.5-turbo\'s quality', async () => {
    h = await degradedHarness();
    await highLatency(h);
    expect(await python(h, 'normal')).toEqual({ code: 0, stdout: 'Degraded mode: high_latency\nQuality impact: 6/10\n', stderr: '' });
    expect(h.calls().at(-1)!.model).toBe('gpt-3.5-turbo');
  });

  it('rate_limiting, X-User-Priority high (as written): queued first, released within a second, prints the reason and quality 10', async () => {
    h = await degradedHarness();
    h.sim.setModel('gpt-4-turbo-preview', fail('rate_limit'));
    for (let i = 0; i < 4; i++) await post(h);
    h.sim.setModel('gpt-4-turbo-preview', {});
    h.evaluate();
    const run = python(h);
    await until(() => h!.gw.degraded.queued === 1, 10_000);
    h.clock.increment(1_000);
    expect(await run).toEqual({ code: 0, stdout: 'Degraded mode: rate_limiting\nQuality impact: 10/10\n', stderr: '' });
  });
});
