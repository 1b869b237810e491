import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigFile } from '../../src/config/schema.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import { sdkClient, startTestGateway } from '../helpers/gateway.ts';

/**
 * Which failures move a request along its chain, end to end: the official SDK -> the gateway
 * (default config: openai, anthropic, google on the in-process simulator, default chain across
 * all three) -> the simulator with faults. Counts are upstream calls per model from the
 * simulator's own call log.
 *
 * - `"fallbacks": []` is accepted and means no failover.
 * - A content_filter refusal is not failed over by `any_error`, by an X-Failover-Providers
 *   chain or by the default chain; only where a trigger (the request's, or the config's
 *   resilience.failover.triggers) names content_filter.
 */

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function setup(resilience?: ConfigFile['resilience']) {
  gw = await startTestGateway(resilience === undefined ? {} : { resilience });
  return { sim: gw.simulator!, client: sdkClient(gw) };
}

const MODELS = ['gpt-4-turbo-preview', 'gpt-3.5-turbo', 'claude-3-opus', 'gemini-pro'] as const;

/** Upstream calls per model, every model listed (0 when never called). */
function callsPerModel(sim: RunningGateway['simulator'] & object): Record<string, number> {
  return Object.fromEntries(MODELS.map((m) => [m, sim.calls({ model: m }).length]));
}

const ask = (client: OpenAI, headers: Record<string, string> = {}) =>
  client.chat.completions
    .create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'Critical request' }] }, { headers })
    .withResponse();

/** The HTTP error a call ends with, as the client sees it. */
async function rejected(p: Promise<unknown>): Promise<{ status: number; error: unknown; attempts: string | null }> {
  const r = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(r instanceof OpenAI.APIError) || r.status === undefined) throw new Error(`expected an HTTP error response, got ${String(r)}`);
  return { status: r.status, error: r.error, attempts: r.headers?.get('x-attempts') ?? null };
}

const failoverConfig = (fallbacks: unknown[]) =>
  JSON.stringify({ primary: { provider: 'openai', model: 'gpt-4-turbo-preview' }, fallbacks });

const CONTENT_FILTER = { faults: [{ type: 'error' as const, kind: 'content_filter' as const }] };
const CONTENT_FILTER_ERROR = {
  message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
  type: 'invalid_request_error',
  param: 'prompt',
  code: 'content_filter',
};

describe('"fallbacks": [] means no failover', () => {
  it('is accepted: a healthy primary answers (200), nothing else is called', async () => {
    const { sim, client } = await setup();
    const { data, response } = await ask(client, { 'X-Failover-Config': failoverConfig([]) });
    expect(data.choices[0].message.content).toMatch(/^Simulated reply from gpt-4-turbo-preview/);
    expect([response.status, response.headers.get('x-provider'), response.headers.get('x-attempts'), response.headers.get('x-failover-used')]).toEqual([200, 'openai', '1', 'false']);
    expect(callsPerModel(sim)).toEqual({ 'gpt-4-turbo-preview': 1, 'gpt-3.5-turbo': 0, 'claude-3-opus': 0, 'gemini-pro': 0 });
  });

  it('a failing primary is not failed over, not even along the default chain: one call, the primary\'s error', async () => {
    const { sim, client } = await setup();
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error' }] });
    const err = await rejected(ask(client, { 'X-Failover-Config': failoverConfig([]), 'X-Max-Retries': '0' }));
    expect([err.status, (err.error as { code: string }).code, err.attempts]).toEqual([502, 'upstream_server_error', '1']);
    expect(callsPerModel(sim)).toEqual({ 'gpt-4-turbo-preview': 1, 'gpt-3.5-turbo': 0, 'claude-3-opus': 0, 'gemini-pro': 0 });
  });
});

describe('a content_filter refusal is not failed over unless a trigger names it', () => {
  it('X-Failover-Config with an any_error fallback: one upstream call, the client gets the content_filter error', async () => {
    const { sim, client } = await setup();
    sim.setModel('gpt-4-turbo-preview', CONTENT_FILTER);
    const err = await rejected(ask(client, { 'X-Failover-Config': failoverConfig([{ trigger: 'any_error', provider: 'anthropic', model: 'claude-3-opus' }]) }));
    expect(err).toEqual({ status: 400, error: CONTENT_FILTER_ERROR, attempts: '1' });
    expect(callsPerModel(sim)).toEqual({ 'gpt-4-turbo-preview': 1, 'gpt-3.5-turbo': 0, 'claude-3-opus': 0, 'gemini-pro': 0 });
  });

  it('the default chain (no policy headers): one upstream call, the content_filter error', async () => {
    const { sim, client } = await setup({ failover: { providers: ['openai', 'anthropic', 'google'] } });
    sim.setModel('gpt-4-turbo-preview', CONTENT_FILTER);
    const err = await rejected(ask(client));
    expect(err).toEqual({ status: 400, error: CONTENT_FILTER_ERROR, attempts: '1' });
    expect(callsPerModel(sim)).toEqual({ 'gpt-4-turbo-preview': 1, 'gpt-3.5-turbo': 0, 'claude-3-opus': 0, 'gemini-pro': 0 });
  });

  it('X-Failover-Providers: one upstream call, the content_filter error', async () => {
    const { sim, client } = await setup();
    sim.setModel('gpt-4-turbo-preview', CONTENT_FILTER);
    const err = await rejected(ask(client, { 'X-Failover-Enabled': 'true', 'X-Failover-Providers': 'openai,anthropic,google' }));
    expect(err).toEqual({ status: 400, error: CONTENT_FILTER_ERROR, attempts: '1' });
    expect(callsPerModel(sim)).toEqual({ 'gpt-4-turbo-preview': 1, 'gpt-3.5-turbo': 0, 'claude-3-opus': 0, 'gemini-pro': 0 });
  });

  it('a fallback whose trigger names content_filter takes it; an any_error fallback before it is passed over', async () => {
    const { sim, client } = await setup();
    sim.setModel('gpt-4-turbo-preview', CONTENT_FILTER);
    const { response } = await ask(client, {
      'X-Failover-Config': failoverConfig([
        { trigger: 'any_error', provider: 'anthropic', model: 'claude-3-opus' },
        { trigger: ['content_filter'], provider: 'google', model: 'gemini-pro' },
      ]),
    });
    expect([response.status, response.headers.get('x-provider'), response.headers.get('x-attempts'), response.headers.get('x-failover-used')]).toEqual([200, 'google', '2', 'true']);
    expect(callsPerModel(sim)).toEqual({ 'gpt-4-turbo-preview': 1, 'gpt-3.5-turbo': 0, 'claude-3-opus': 0, 'gemini-pro': 1 });
  });

  it('resilience.failover.triggers listing content_filter fails it over along the default chain and X-Failover-Providers', async () => {
    const { sim, client } = await setup({ failover: { providers: ['openai', 'anthropic', 'google'], triggers: ['any_error', 'content_filter'] } });
    sim.setModel('gpt-4-turbo-preview', CONTENT_FILTER);
    const viaDefault = await ask(client);
    const viaHeader = await ask(client, { 'X-Failover-Providers': 'openai,google' });
    expect([viaDefault.response.headers.get('x-provider'), viaDefault.response.headers.get('x-attempts')]).toEqual(['anthropic', '2']);
    expect([viaHeader.response.headers.get('x-provider'), viaHeader.response.headers.get('x-attempts')]).toEqual(['google', '2']);
    expect(callsPerModel(sim)).toEqual({ 'gpt-4-turbo-preview': 2, 'gpt-3.5-turbo': 0, 'claude-3-opus': 1, 'gemini-pro': 1 });
  });

  it('a content_filter refusal is never retried on the same target either', async () => {
    const { sim, client } = await setup({ failover: { enabled: false } });
    sim.setModel('gpt-4-turbo-preview', CONTENT_FILTER);
    const err = await rejected(ask(client, { 'X-Max-Retries': '3', 'X-Retry-Config': '{"retry_on": ["any_error"]}' }));
    expect(err).toEqual({ status: 400, error: CONTENT_FILTER_ERROR, attempts: '1' });
    expect(callsPerModel(sim)).toEqual({ 'gpt-4-turbo-preview': 1, 'gpt-3.5-turbo': 0, 'claude-3-opus': 0, 'gemini-pro': 0 });
  });
});
