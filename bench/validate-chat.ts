/**
 * The CPU cost of checking one chat request at the edge (src/http/validate-chat.ts: nesting
 * depth, then the schema of src/http/chat-schema.ts), in-process: a typical 3-message
 * request, and a rich one (content parts, tools, a tool call and its result, a
 * response_format). Each body is a fresh JSON.parse, as from the wire.
 *
 * `node bench/validate-chat.ts` prints, per request, the best of 7 rounds of 100,000 checks
 * (CPU time, user + system), in a few seconds.
 */
import { validateChatRequest } from '../src/http/validate-chat.ts';

const TYPICAL = {
  model: 'gpt-4-turbo-preview',
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'What is the capital of France?' },
    { role: 'assistant', content: 'Paris.' },
  ],
  temperature: 0.7,
  max_tokens: 256,
};

const RICH = {
  model: 'gpt-4o',
  messages: [
    { role: 'system', content: 'Answer briefly.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Which city is this?' },
        { type: 'image_url', image_url: { url: 'https://example.com/city.png', detail: 'low' } },
      ],
    },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"city"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: 'Paris' },
    { role: 'user', content: 'And the weather there?' },
  ],
  tools: [
    {
      type: 'function',
      function: { name: 'lookup', description: 'Looks a thing up', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } },
    },
  ],
  tool_choice: 'auto',
  response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { city: { type: 'string' } } } } },
  stream: true,
  stream_options: { include_usage: true },
};

const ROUNDS = 7;
const N = 100_000;

function measure(template: object): number {
  const text = JSON.stringify(template);
  const bodies = Array.from({ length: 1000 }, () => JSON.parse(text) as unknown);
  for (let i = 0; i < 50_000; i++) validateChatRequest(bodies[i % 1000]);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < N; i++) validateChatRequest(bodies[i % 1000]);
    const u = process.cpuUsage(t);
    best = Math.min(best, (u.user + u.system) / N);
  }
  return best;
}

const typical = measure(TYPICAL);
const rich = measure(RICH);
console.log(JSON.stringify({ cpuUsPerCheck: { typical: Number(typical.toFixed(3)), rich: Number(rich.toFixed(3)) }, rounds: ROUNDS, checksPerRound: N }));
