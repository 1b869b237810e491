import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { sdkClient, startTestGateway } from '../helpers/gateway.ts';

const SHUTDOWN_EVENT =
  'data: {"error":{"message":"The gateway is shutting down: this stream was cut before it finished. Retry the request.","type":"api_error","param":null,"code":"gateway_shutting_down"}}\n\n';

/** A gateway whose gpt-3.5-turbo streams 200 tokens at 2 a second: far longer than any test. */
async function slowStreamGateway(): Promise<RunningGateway> {
  const gw = await startTestGateway({ resilience: { failover: { enabled: false } } });
  gw.simulator!.setModel('gpt-3.5-turbo', { tokens_per_second: 2, completion_tokens: 200 });
  return gw;
}

// A stream still open when shutdown's grace period ends is cut, but not by a TCP reset: the
// client gets a final error event in OpenAI's shape and the response ends cleanly, without
// [DONE], so it knows the answer is incomplete.
describe('shutdown with a stream open', () => {
  it('ends the stream with an in-band error event and a clean end, not a reset', async () => {
    const gw = await slowStreamGateway();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    // Read until the stream has committed (content reached the client).
    while (!text.includes('"content":"Simulated')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended early: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    const closing = gw.close({ graceMs: 50 });
    // The rest of the body reads to its end without an error (a reset would reject here).
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await closing;
    expect(text.endsWith(SHUTDOWN_EVENT)).toBe(true);
    expect(text).not.toContain('[DONE]');
    // Every event before it is a complete chunk: the cut fell between events.
    const events = text.split('\n\n').filter((e) => e !== '');
    expect(events.slice(0, -1).every((e) => (JSON.parse(e.slice('data: '.length)) as { object: string }).object === 'chat.completion.chunk')).toBe(true);
    // Shutdown is not the provider's failure: nothing counts against the target.
    expect(gw.runtime.targets.get('openai', 'gpt-3.5-turbo').stats.failures).toBe(0);
  });

  it('the official SDK raises the error event as an APIError', async () => {
    const gw = await slowStreamGateway();
    const stream = await sdkClient(gw).chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }], stream: true });
    let content = '';
    let closing: Promise<void> | undefined;
    const err = await (async () => {
      for await (const chunk of stream) {
        content += chunk.choices[0]?.delta?.content ?? '';
        if (content !== '' && closing === undefined) closing = gw.close({ graceMs: 50 });
      }
    })().catch((e: unknown) => e);
    await closing;
    expect(content.startsWith('Simulated')).toBe(true);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toBe('The gateway is shutting down: this stream was cut before it finished. Retry the request.');
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('gateway_shutting_down');
  });
});
