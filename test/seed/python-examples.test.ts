import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { RunningGateway } from '../../src/gateway.ts';
import { sdkClient, startTestGateway, until } from '../helpers/gateway.ts';

/**
 * The seed's Python examples as written (test/python/seed_*.py), run with the official
 * Python SDK against a gateway with the in-process simulator. Each run must exit 0 and print
 * exactly what the example prints; what it did upstream is read from the simulator's call log.
 */

const PYTHON_DIR = fileURLToPath(new URL('../python/', import.meta.url));
const RUN_LIMIT_MS = 15_000;

interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs Python (the test venv's, see test/python/ensure-venv.ts) in test/python with PARROT_URL pointing at the gateway. */
function python(gw: RunningGateway, args: string[]): Promise<PythonRun> {
  return new Promise((resolve) => {
    execFile(
      process.env.PARROT_PYTHON ?? 'python3',
      args,
      {
        cwd: PYTHON_DIR,
        timeout: RUN_LIMIT_MS,
        env: { ...process.env, PARROT_URL: `${gw.url}/v1`, PYTHONDONTWRITEBYTECODE: '1', OPENAI_LOG: '' },
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const models = (g: RunningGateway) => g.simulator!.calls().map((c) => `${c.model} ${c.status}`);

describe('seed_failover.py (Automatic Failover, simple and advanced)', () => {
  it('healthy: both requests are answered by openai/gpt-4-turbo-preview; prints nothing', async () => {
    gw = await startTestGateway();
    expect(await python(gw, ['seed_failover.py'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(models(gw)).toEqual(['gpt-4-turbo-preview 200', 'gpt-4-turbo-preview 200']);
  });

  it('openai down (500): the simple request retries openai X-Max-Retries (3) times, then anthropic answers; the advanced one finds the breaker open and goes to google at once', async () => {
    gw = await startTestGateway();
    gw.simulator!.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error' }] });
    expect(await python(gw, ['seed_failover.py'])).toEqual({ code: 0, stdout: '', stderr: '' });
    // Retries first: 4 calls to openai, then anthropic. The advanced request's first failure is
    // openai's fifth in the window: the breaker opens, so it moves on to google (server_error
    // trigger) at once instead of retrying on an open breaker.
    expect(models(gw)).toEqual([...Array(4).fill('gpt-4-turbo-preview 500'), 'claude-3-opus 200', 'gpt-4-turbo-preview 500', 'gemini-pro 200']);
  });
});

describe('seed_circuit_breaker.py (Circuit Breaker Pattern, fallback "cache")', () => {
  it('closed: prints nothing; open after five failures: prints the fallback notice and X-Retry-After: 30', async () => {
    // A frozen simulated clock, so X-Retry-After is exactly the breaker's 30 s however long
    // Python takes to start.
    gw = await startTestGateway({}, { clock: new SimulatedClock() });
    const sim = gw.simulator!;
    // The first run, breaker closed, also leaves its answer in the cache.
    expect(await python(gw, ['seed_circuit_breaker.py'])).toEqual({ code: 0, stdout: '', stderr: '' });

    // Five failures of the same request, under the same breaker config, open the circuit
    // (each is still answered: the default config fails over to anthropic).
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error' }] });
    const client = sdkClient(gw);
    const circuit_config = {
      error_threshold: 5,
      error_threshold_window: 60,
      timeout: 30,
      half_open_requests: 3,
      success_threshold: 2,
      excluded_errors: ['rate_limit', 'quota_exceeded'],
      monitor_latency: true,
      latency_threshold_ms: 5000,
    };
    // X-Max-Retries: 0 so each failure goes straight on to anthropic (the clock is frozen: no backoff could end).
    const headers = { 'X-Circuit-Breaker': JSON.stringify(circuit_config), 'X-Circuit-Breaker-Fallback': 'cache', 'X-Max-Retries': '0' };
    for (let i = 0; i < 5; i++) {
      await client.chat.completions.create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'Request' }] }, { headers }).catch(() => undefined);
    }

    expect(await python(gw, ['seed_circuit_breaker.py'])).toEqual({
      code: 0,
      stdout: 'Circuit open - using fallback\nRetry after: 30s\n',
      stderr: '',
    });
    // Each failure failed over along the default chain to anthropic; once open, the primary is
    // not called at all and anthropic answers at once (the cache is for when nothing else can).
    expect(models(gw)).toEqual([
      'gpt-4-turbo-preview 200',
      ...Array(5).fill(['gpt-4-turbo-preview 500', 'claude-3-opus 200']).flat(),
      'claude-3-opus 200',
    ]);
  });
});

describe('seed_retry.py (Retry Strategies)', () => {
  it('the exponential example: one healthy call; prints nothing', async () => {
    gw = await startTestGateway();
    expect(await python(gw, ['seed_retry.py'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(models(gw)).toEqual(['gpt-4-turbo-preview 200']);
  });

  it('custom_retry(): a 429 with Retry-After: 1 is waited out (>= 1 s) and retried on the same provider', async () => {
    gw = await startTestGateway();
    const sim = gw.simulator!;
    // Call 1 (the module's exponential request) is healthy (a 1 ms delay is the no-op fault
    // that uses up its slot); call 2 (custom_retry) gets a 429 asking for 1 s; call 3 is healthy.
    sim.setModel('gpt-4-turbo-preview', {
      faults: [
        { type: 'slow_first_token', delay_ms: 1, first_n: 1 },
        { type: 'error', kind: 'rate_limit', retry_after_s: 1, first_n: 2 },
      ],
    });
    const run = await python(gw, ['-c', 'import runpy; r = runpy.run_path("seed_retry.py")["custom_retry"](); print(r.model)']);
    expect(run).toEqual({ code: 0, stdout: 'gpt-4-turbo-preview\n', stderr: '' });
    const calls = sim.calls({ model: 'gpt-4-turbo-preview' });
    expect(calls.map((c) => c.status)).toEqual([200, 429, 200]);
    expect(calls[2].at - calls[1].at).toBeGreaterThanOrEqual(1_000);
    expect(sim.calls({ model: 'claude-3-opus' })).toHaveLength(0);
  });
});

describe('seed_hedging.py (Request Hedging)', () => {
  // On a frozen SimulatedClock: delay_ms passes only when the test says so.
  it('openai answers within delay_ms: it wins alone; prints "Winner: openai" and "Latency saved: 0ms"', async () => {
    gw = await startTestGateway({}, { clock: new SimulatedClock() });
    expect(await python(gw, ['seed_hedging.py'])).toEqual({ code: 0, stdout: 'Winner: openai\nLatency saved: 0ms\n', stderr: '' });
    expect(models(gw)).toEqual(['gpt-4-turbo-preview 200']);
  });

  it('openai hangs: anthropic, sent after 200 ms, wins and openai\'s call is aborted; prints "Winner: anthropic"', async () => {
    const clock = new SimulatedClock();
    gw = await startTestGateway({}, { clock });
    const sim = gw.simulator!;
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'hang' }] });
    const run = python(gw, ['seed_hedging.py']);
    await until(() => sim.calls().length === 1, RUN_LIMIT_MS);
    clock.increment(200);
    expect(await run).toEqual({ code: 0, stdout: 'Winner: anthropic\nLatency saved: 0ms\n', stderr: '' });
    expect(gw.simulator!.calls().map((c) => [c.model, c.status, c.aborted ?? false])).toEqual([
      ['gpt-4-turbo-preview', null, true],
      ['claude-3-opus', 200, false],
    ]);
  });
});
