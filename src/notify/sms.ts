/**
 * The SMS channel: Twilio's Messages API (`POST {base}/2010-04-01/Accounts/{AccountSid}/
 * Messages.json`, form-encoded `To`, `From` or `MessagingServiceSid`, `Body`; HTTP basic
 * auth AccountSid:AuthToken), or any gateway that speaks it. A 201 is a delivery; Twilio's
 * 4xx (bad number, bad credentials) are final, 429 and 5xx are retried.
 */
import { Agent, request } from 'undici';
import { describeError, type AttemptOutcome, type ChannelSender, type Delivery } from './channel.ts';
import type { SmsConfig } from './config.ts';

const MAX_ANSWER_BYTES = 64 * 1024;

export class SmsSender implements ChannelSender {
  readonly #config: SmsConfig;
  readonly #url: string;
  readonly #auth: string;
  readonly #dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0, connections: 16 });

  constructor(config: SmsConfig) {
    this.#config = config;
    this.#url = `${config.base_url.replace(/\/+$/, '')}/2010-04-01/Accounts/${config.account_sid}/Messages.json`;
    this.#auth = `Basic ${Buffer.from(`${config.account_sid}:${config.auth_token}`).toString('base64')}`;
  }

  target(d: Delivery): string {
    return d.recipients[0]!;
  }

  async send(d: Delivery, signal: AbortSignal): Promise<AttemptOutcome> {
    const form = new URLSearchParams({ To: d.recipients[0]!, Body: d.event.sms });
    if (this.#config.messaging_service_sid !== undefined) form.set('MessagingServiceSid', this.#config.messaging_service_sid);
    else form.set('From', this.#config.from!);
    try {
      const res = await request(this.#url, {
        method: 'POST',
        dispatcher: this.#dispatcher,
        signal,
        headers: { authorization: this.#auth, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
      });
      const text = await readText(res.body);
      const status = res.statusCode;
      const json = parseJson(text);
      if (status === 200 || status === 201) {
        const sid = typeof json?.sid === 'string' ? json.sid : undefined;
        return { ok: true, http_status: status, ...(sid !== undefined ? { detail: sid } : {}) };
      }
      return { ok: false, retry: status === 429 || status >= 500, http_status: status, error: twilioError(status, json) };
    } catch (e) {
      return { ok: false, retry: true, error: describeError(e) };
    }
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }
}

/** `Twilio error 21211: The 'To' number ... is not a valid phone number.`; the gateway's status when the body is not Twilio's. */
function twilioError(status: number, json: Record<string, unknown> | undefined): string {
  if (json !== undefined && typeof json.message === 'string') {
    const code = typeof json.code === 'number' || typeof json.code === 'string' ? ` ${json.code}` : '';
    return `SMS gateway answered ${status}: error${code}: ${json.message.slice(0, 300)}`;
  }
  return `SMS gateway answered ${status}`;
}

async function readText(body: AsyncIterable<Buffer> & { dump(o?: { limit?: number }): Promise<void> }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += c.length;
    if (size > MAX_ANSWER_BYTES) break;
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
