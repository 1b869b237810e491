import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Subscription } from 'rxjs';
import { breakerStatus, failuresNow } from '../../src/breaker/status.ts';
import type { TransitionEvent } from '../../src/events/transitions.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway } from '../helpers/gateway.ts';

/**
 * Client input never counts against a provider. Arbitrary JSON in every position of a rich
 * request (every field of every message, of every content part and tool call, the tools,
 * tool_choice, response_format and the other top-level fields), sent through each of the
 * three adapters of the default config to the built-in simulator, with the default failover
 * chain on:
 * - the answer is 200 or 400, never a 5xx;
 * - the request never fails over and is never retried: at most the one upstream call;
 * - a request the gateway rejects itself (its schema at the edge, or a translator) makes no
 *   upstream call at all;
 * - no breaker, model or provider actor ever hears of it: no long-lived actor transitions,
 *   no failure in any breaker's window or any target's counts.
 *
 * Each run counts what happened, so the property cannot pass on a generator that never
 * reaches the translators. CLIENT_INPUT_PROPERTY_RUNS sets the runs per adapter (default 150:
 * a few seconds in all).
 */
const runs = { numRuns: Number(process.env.CLIENT_INPUT_PROPERTY_RUNS ?? 150) };

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A valid request that uses every message position: each adapter serves it (checked below). */
function baseRequest(model: string): { [k: string]: Json } {
  return {
    model,
    messages: [
      { role: 'system', content: 'Answer briefly.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Which city is this?' },
          { type: 'image_url', image_url: { url: 'https://example.com/city.png', detail: 'low' } },
        ],
      },
      {
        role: 'assistant',
        content: 'Let me look it up.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"city"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'Paris' },
      { role: 'user', content: 'Thanks. And the weather there?', name: 'ana' },
    ],
    tools: [
      {
        type: 'function',
        function: { name: 'lookup', description: 'Looks a thing up', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } },
      },
    ],
  };
}

/** Every path into a value: where a generated value may replace what is there. */
function pathsOf(v: Json, at: Array<string | number> = []): Array<Array<string | number>> {
  const out = at.length > 0 ? [at] : [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pathsOf(x, [...at, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...at, k]));
  return out;
}

/** Where a new field may be added (every object), and the names it may have. */
function objectPaths(v: Json, at: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...objectPaths(x, [...at, i])));
  else if (v !== null && typeof v === 'object') {
    out.push(at);
    for (const [k, x] of Object.entries(v)) out.push(...objectPaths(x, [...at, k]));
  }
  return out;
}

const BASE = baseRequest('m');
const REPLACEABLE = pathsOf(BASE).filter((p) => p[0] !== 'model');
const EXTENDABLE = objectPaths(BASE);
const FIELD_NAMES = [
  // message and part fields
  'role', 'content', 'name', 'tool_calls', 'tool_call_id', 'refusal', 'function_call', 'audio', 'type', 'text', 'image_url', 'input_audio', 'file',
  'function', 'custom', 'id', 'arguments', 'parameters', 'extra_content',
  // top-level fields
  'tool_choice', 'response_format', 'stop', 'temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'n', 'seed', 'presence_penalty',
  'frequency_penalty', 'parallel_tool_calls', 'stream_options', 'user', 'logit_bias', 'metadata', 'functions', 'x_extension',
];

const nested = (depth: number): Json => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as Json;
const DEEP_JSON_TEXT = '['.repeat(100_000) + ']'.repeat(100_000);
/**
 * Stands for 100,000 nested arrays until the body is sent: fast-check prints counterexamples
 * with a recursive walk, which such a value would overflow.
 */
const DEEP = '<100,000 nested arrays>';

/** Strings a translator parses or looks into: URLs, data: URLs, JSON (deep JSON too). */
const stringy: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.constantFrom(
    'https://example.com/a.png',
    'http://example.com/a.pdf?x=1',
    'ftp://example.com/a.png',
    'data:image/png;base64,iVBORw0KGgo=',
    'data:text/plain,caf%C3%A9',
    'data:text/plain,%E0%A4%A',
    'data:',
    'data:,',
    '{"q":"city"}',
    '{',
    '[]',
    DEEP_JSON_TEXT,
    `{"a":${'['.repeat(200)}${']'.repeat(200)}}`,
  ),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
);

const anyJson = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;
const small = fc.oneof(anyJson, stringy) as fc.Arbitrary<Json>;
const TYPES = ['text', 'refusal', 'image_url', 'input_audio', 'file', 'function', 'custom', 'allowed_tools', 'json_object', 'json_schema', 'video_url', 'weird'];

/** Objects shaped like the request's own (a part, a tool call, a tool, a tool_choice...), with arbitrary values inside. */
const shaped: fc.Arbitrary<Json> = fc.record(
  {
    type: fc.oneof(fc.constantFrom(...TYPES), small),
    role: fc.oneof(fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool', 'function'), small),
    text: small,
    refusal: small,
    content: fc.oneof(stringy, fc.array(small, { maxLength: 2 })),
    id: small,
    tool_call_id: small,
    image_url: fc.oneof(fc.record({ url: stringy, detail: small }, { requiredKeys: ['url'] }), small),
    input_audio: fc.oneof(fc.record({ data: stringy, format: small }), small),
    file: fc.oneof(fc.record({ file_data: stringy, file_id: small, filename: small }, { requiredKeys: [] }), small),
    function: fc.oneof(fc.record({ name: stringy, arguments: stringy, parameters: small }, { requiredKeys: [] }), small),
    custom: fc.oneof(fc.record({ name: stringy, input: stringy, format: small }, { requiredKeys: [] }), small),
    json_schema: fc.oneof(fc.record({ name: stringy, schema: small, strict: small }, { requiredKeys: [] }), small),
    allowed_tools: fc.oneof(fc.record({ mode: fc.constantFrom('auto', 'required'), tools: fc.array(anyJson, { maxLength: 2 }) }), small),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Json>;

/**
 * Values the edge accepts (OpenAI's own shapes, or an OpenAI-compatible server's extensions)
 * that not every provider can take, each where it belongs: they reach the translators.
 */
const FOREIGN: Array<[Array<string | number>, Json[]]> = [
  [
    ['messages', 1, 'content', 1],
    [
      { type: 'video_url', video_url: { url: 'https://example.com/a.mp4' } },
      { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
      { type: 'file', file: { file_id: 'file-abc' } },
      { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=' } },
      { type: 'image_url', image_url: { url: 'ftp://example.com/a.png' } },
      { type: 'image_url', image_url: { url: 'data:image/png,%E0%A4%A' } },
      { type: 'refusal', refusal: 'no' },
    ],
  ],
  [
    ['messages', 2, 'tool_calls', 0],
    [
      { id: 'call_1', type: 'custom', custom: { name: 'grep', input: 'a|b' } },
      { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: 'not json' } },
      { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: `{"a":${'['.repeat(100)}${']'.repeat(100)}}` } },
    ],
  ],
  [['tools', 0], [{ type: 'custom', custom: { name: 'grep' } }, { type: 'browser_search' }]],
  [
    ['tool_choice'],
    [
      'none',
      'required',
      { type: 'function', function: { name: 'lookup' } },
      { type: 'custom', custom: { name: 'grep' } },
      { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'lookup' } }] } },
    ],
  ],
  [
    ['response_format'],
    [
      { type: 'structural_tag', structures: [] },
      { type: 'json_object' },
      { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string' } } } } },
    ],
  ],
  [
    ['messages', 4],
    [
      { role: 'function', name: 'lookup', content: 'Paris' },
      { role: 'tool', tool_call_id: 'call_9', content: 'unanswered' },
      { role: 'developer', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
    ],
  ],
];

/** Arbitrary JSON, from the shapeless to the nearly right, deep nesting included. */
const value: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: anyJson },
  { weight: 3, arbitrary: shaped },
  { weight: 1, arbitrary: fc.array(shaped, { maxLength: 3 }) },
  { weight: 2, arbitrary: stringy },
  { weight: 2, arbitrary: fc.constantFrom<Json>(null, 0, 5, 1.5, -1, true, '', [], {}, [null], [5], [{}], { function: null }, { type: 'json_schema', json_schema: null }) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 70 }).map(nested) },
  // Deeper than JSON.stringify can go (a field the OpenAI translator passes on as it is).
  { weight: 1, arbitrary: fc.constant(DEEP) },
);

type Mutation = { op: 'set'; path: Array<string | number>; value: Json } | { op: 'add'; path: Array<string | number>; key: string; value: Json } | { op: 'delete'; path: Array<string | number> };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), path: fc.constantFrom(...REPLACEABLE), value }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('add' as const), path: fc.constantFrom(...EXTENDABLE), key: fc.constantFrom(...FIELD_NAMES), value }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), path: fc.constantFrom(...REPLACEABLE) }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...FOREIGN).chain(([path, values]) => fc.record({ op: fc.constant('set' as const), path: fc.constant(path), value: fc.constantFrom(...values) })),
  },
);

function apply(req: { [k: string]: Json }, m: Mutation): void {
  const path = m.op === 'add' ? [...m.path, m.key] : m.path;
  let parent: Json = req;
  for (let i = 0; i < path.length - 1; i++) {
    if (parent === null || typeof parent !== 'object') return; // an earlier mutation replaced the way there
    parent = (parent as Record<string, Json>)[path[i]];
  }
  if (parent === null || typeof parent !== 'object') return;
  const last = path[path.length - 1];
  if (m.op === 'delete') {
    if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
    else delete (parent as Record<string, Json>)[last];
  } else (parent as Record<string, Json>)[last] = m.value;
}

const requestArb = fc.record({ mutations: fc.array(mutation, { minLength: 1, maxLength: 2 }), stream: fc.boolean() });

let gw: RunningGateway;
const heard: TransitionEvent[] = [];
let sub: Subscription | undefined;

/** A gateway per adapter, so a failure under one cannot leave an open breaker to the next. */
async function start(): Promise<void> {
  gw = await startTestGateway();
  // Every transition of a long-lived actor (breaker, model, provider): there must be none. The
  // degraded-mode actor's own periodic evaluation, staying normal, is no one's doing.
  sub = gw.hub.transitions$.subscribe((t) => {
    if (t.machine !== 'request' && !(t.machine === 'degraded' && t.state === 'normal')) heard.push(t);
  });
}

async function stop(): Promise<void> {
  sub?.unsubscribe();
  await gw.close();
}

async function send(body: string, stream: boolean): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  if (stream && res.status === 200) expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  return { status: res.status, headers: res.headers, text };
}

/** Every failure any target has counted: its breakers' windows and its own totals. */
function countedFailures(): Record<string, number[]> {
  const now = gw.runtime.now();
  const out: Record<string, number[]> = {};
  for (const target of gw.runtime.targets.values()) {
    const windows = [...target.breakers.entries()].map(([, b]) => failuresNow(b.getSnapshot(), now));
    out[target.key] = [...windows, target.stats.failures, target.stats.consecutiveFailures];
  }
  return out;
}

describe.each([
  ['openai', 'gpt-3.5-turbo'],
  ['anthropic', 'claude-3-opus'],
  ['google', 'gemini-pro'],
] as const)('arbitrary client input through the %s adapter (%s)', (provider, model) => {
  beforeAll(start);
  afterAll(stop);

  it('the unmutated request is served, streamed or not (so the runs below start from a valid one)', async () => {
    for (const stream of [false, true]) {
      const { status, headers } = await send(JSON.stringify({ ...baseRequest(model), stream }), stream);
      expect([status, headers.get('x-provider'), headers.get('x-attempts')]).toEqual([200, provider, '1']);
    }
  });

  it('is answered 200 or 400, never fails over, and never counts against a breaker or a health actor', async () => {
    const seen = { edge: 0, translator: 0, provider: 0, served: 0 };
    await fc.assert(
      fc.asyncProperty(requestArb, async ({ mutations, stream }) => {
        const req = baseRequest(model);
        for (const m of mutations) apply(req, m);
        req.stream = stream;
        heard.length = 0;
        const counted = countedFailures();
        const before = gw.simulator!.calls().length;
        const { status, headers, text } = await send(JSON.stringify(req).replaceAll(JSON.stringify(DEEP), DEEP_JSON_TEXT), stream);
        const calls = gw.simulator!.calls().length - before;

        expect([200, 400]).toContain(status);
        expect(calls).toBeLessThanOrEqual(1);
        expect(headers.get('x-failover-used')).not.toBe('true');
        if (status === 400) expect((JSON.parse(text) as { error: { type: string } }).error.type).toBe('invalid_request_error');
        if (headers.get('x-provider') === null) {
          // Rejected at the edge, before routing.
          expect([status, calls]).toEqual([400, 0]);
          seen.edge++;
        } else {
          expect([headers.get('x-provider'), headers.get('x-attempts')]).toEqual([provider, '1']);
          if (status === 200) seen.served++;
          else if (calls === 0) seen.translator++;
          else seen.provider++;
        }
        // No breaker, model or provider actor heard of it, and no failure was counted anywhere.
        expect(heard).toEqual([]);
        expect(countedFailures()).toEqual(counted);
      }),
      runs,
    );
    for (const target of gw.runtime.targets.values()) expect([target.key, breakerStatus(target.breakers.default.getSnapshot())]).toEqual([target.key, 'closed']);
    expect(seen.edge).toBeGreaterThan(0);
    expect(seen.served).toBeGreaterThan(0);
    // Anthropic and Gemini cannot take everything OpenAI can: some input reaches their translators and is refused there.
    if (provider !== 'openai') expect(seen.translator).toBeGreaterThan(0);
  });
});
