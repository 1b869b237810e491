/**
 * The webhook channel: a signed JSON POST to the subscription's URL, over a connection
 * pinned to the addresses vetted for this very try. Redirects are not followed (a 3xx is a
 * failed try like any other non-2xx answer).
 */
import { Agent, request } from 'undici';
import type { AllowList } from './address-policy.ts';
import { describeError, type AttemptOutcome, type ChannelSender, type Delivery } from './channel.ts';
import { signatureHeaders } from './signature.ts';
import type { NotifyClock } from './types.ts';
import { TargetRefused, pinnedLookup, redactUrl, vetWebhookUrl, type Resolver } from './webhook-target.ts';

export const WEBHOOK_USER_AGENT = 'parrot-webhooks/1';

/** The most of a receiver's answer read (and thrown away) before the connection is closed. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface WebhookSenderOptions {
  allow: AllowList;
  resolve: Resolver;
  /** Stamps `webhook-timestamp`. */
  clock: NotifyClock;
}

export class WebhookSender implements ChannelSender {
  readonly #opts: WebhookSenderOptions;

  constructor(opts: WebhookSenderOptions) {
    this.#opts = opts;
  }

  target(d: Delivery): string {
    const url = URL.parse(d.recipients[0]!);
    return url === null ? '(invalid URL)' : redactUrl(url);
  }

  async send(d: Delivery, signal: AbortSignal): Promise<AttemptOutcome> {
    const secret = d.subscription.webhook_secret;
    if (secret === undefined) return { ok: false, retry: false, error: 'subscription has no webhook secret' };
    let vetted;
    try {
      vetted = await vetWebhookUrl(d.recipients[0]!, this.#opts);
    } catch (e) {
      if (e instanceof TargetRefused) return { ok: false, retry: false, error: `refused: ${e.message}` };
      return { ok: false, retry: true, error: `resolve failed: ${describeError(e)}` };
    }
    signal.throwIfAborted();
    // A dispatcher per try: its only way to a socket is the lookup pinned to what was just vetted.
    const dispatcher = new Agent({
      connect: { lookup: pinnedLookup(vetted.addresses) },
      // The notifier's clock bounds the try; no second, real-time limit underneath.
      headersTimeout: 0,
      bodyTimeout: 0,
      pipelining: 0,
    });
    try {
      const timestamp = Math.floor(this.#opts.clock.now() / 1000);
      const res = await request(vetted.url, {
        method: 'POST',
        dispatcher,
        signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': WEBHOOK_USER_AGENT,
          ...signatureHeaders(secret, d.event.event.id, timestamp, d.event.body),
        },
        body: d.event.body,
      });
      await res.body.dump({ limit: MAX_ANSWER_BYTES }).catch(() => undefined);
      const status = res.statusCode;
      if (status >= 200 && status < 300) return { ok: true, http_status: status };
      const why = status >= 300 && status < 400 ? 'redirect not followed' : 'receiver answered';
      return { ok: false, retry: true, http_status: status, error: `${why} ${status}` };
    } catch (e) {
      return { ok: false, retry: true, error: describeError(e) };
    } finally {
      dispatcher.destroy().catch(() => undefined);
    }
  }

  async close(): Promise<void> {}
}
