import { parseArgs } from 'node:util';

const USAGE = `Usage:
  parrot chaos add --target T --fault F [--seconds N] [--requests N] [--latency-ms N] [--after-tokens N] [--retry-after-s N]
  parrot chaos list
  parrot chaos rm ID

  T: a provider (openai) or provider/model (openai/gpt-4o)
  F: an error kind (rate_limit, quota_exceeded, model_overloaded, server_error, timeout, connection_error,
     auth_error, context_length_exceeded, content_filter, bad_request) or latency, no_response,
     stream_cut, stream_stall, malformed_chunk
  --url URL (default PARROT_URL or http://127.0.0.1:8080), --admin-key KEY (default PARROT_ADMIN_KEY)`;

export class ChaosCliError extends Error {}

/**
 * `parrot chaos`: the gateway's /admin/chaos from the command line. Prints the gateway's JSON
 * answer; a refusal (bad field, unknown target, chaos off) is its error message and exit code 1.
 */
export async function chaosMain(argv: string[], out: (s: string) => void = (s) => void process.stdout.write(s)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      'admin-key': { type: 'string' },
      target: { type: 'string' },
      fault: { type: 'string' },
      seconds: { type: 'string' },
      requests: { type: 'string' },
      'latency-ms': { type: 'string' },
      'after-tokens': { type: 'string' },
      'retry-after-s': { type: 'string' },
    },
  });
  const [verb, id] = positionals;
  const base = (values.url ?? process.env.PARROT_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const key = values['admin-key'] ?? process.env.PARROT_ADMIN_KEY;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  let res: Response;
  if (verb === 'add') {
    const body = {
      target: values.target,
      fault: values.fault,
      duration_s: num(values.seconds),
      requests: num(values.requests),
      latency_ms: num(values['latency-ms']),
      after_tokens: num(values['after-tokens']),
      retry_after_s: num(values['retry-after-s']),
    };
    res = await fetch(`${base}/admin/chaos`, { method: 'POST', headers, body: JSON.stringify(body) });
  } else if (verb === 'list' || verb === 'ls') {
    res = await fetch(`${base}/admin/chaos`, { headers });
  } else if ((verb === 'rm' || verb === 'remove') && id !== undefined) {
    res = await fetch(`${base}/admin/chaos/${encodeURIComponent(id)}`, { method: 'DELETE', headers });
  } else {
    throw new ChaosCliError(USAGE);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {}
    throw new ChaosCliError(`${res.status}: ${message}`);
  }
  out(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  return 0;
}
