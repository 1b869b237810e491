import OpenAI from 'openai';
import { configFromObject } from '../../src/config/load.ts';
import type { ConfigFile } from '../../src/config/schema.ts';
import { DEFAULT_CONFIG } from '../../src/config/default-config.ts';
import { startGateway, type RunningGateway, type StartOptions } from '../../src/gateway.ts';

/** Start a gateway on 127.0.0.1:0 (the embedded default unless `overrides` replace parts). */
export async function startTestGateway(overrides: Partial<ConfigFile> = {}, opts: StartOptions = {}): Promise<RunningGateway> {
  const raw: ConfigFile = {
    ...DEFAULT_CONFIG,
    ...overrides,
    server: { host: '127.0.0.1', port: 0, ...(overrides.server ?? {}) },
    // Each test gateway keeps its history in memory unless the test names a file.
    store: { path: ':memory:', ...(overrides.store ?? {}) },
  };
  return startGateway(configFromObject(raw, { env: {} }), opts);
}

/** The official OpenAI SDK pointed at the gateway, with the SDK's own retries off (we count attempts). */
export function sdkClient(gw: RunningGateway, apiKey = 'dev'): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0, timeout: 15_000 });
}

/**
 * Resolves once `cond()` holds, checking after each turn of the event loop (I/O with the
 * real simulator happens in real time even when the gateway's clock is simulated).
 * Bounded: rejects after `limitMs` of real time.
 */
export async function until(cond: () => boolean, limitMs = 5_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${limitMs} ms: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
