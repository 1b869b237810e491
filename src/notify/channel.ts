/**
 * What the notifier asks of a channel (webhook, email, sms): one try of one delivery, whose
 * outcome says whether another try could help.
 */
import type { Subscription } from './subscription.ts';
import type { Channel, IncidentEvent } from './types.ts';
import { renderEmail, renderSms, type EmailContent } from './render.ts';

/**
 * An event with its renderings, made once however many subscriptions it reaches: the
 * webhook body (the bytes that are signed), the e-mail and the SMS text.
 */
export class PreparedEvent {
  readonly event: IncidentEvent;
  /** The webhook body: `{type, timestamp, data}`, the id travelling in `webhook-id`. */
  readonly body: string;
  #email: EmailContent | undefined;
  #sms: string | undefined;

  constructor(event: IncidentEvent) {
    this.event = event;
    this.body = JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
  }

  get email(): EmailContent {
    return (this.#email ??= renderEmail(this.event));
  }

  get sms(): string {
    return (this.#sms ??= renderSms(this.event));
  }
}

/** One event to one subscription over one channel to one recipient; retried as a unit. */
export interface Delivery {
  id: string;
  event: PreparedEvent;
  subscription: Subscription;
  channel: Channel;
  /** The webhook URL, the e-mail addresses (all in one message), or one phone number. */
  recipients: readonly string[];
}

export type AttemptOutcome =
  | { ok: true; http_status?: number; detail?: string }
  | { ok: false; retry: boolean; error: string; http_status?: number };

export interface ChannelSender {
  /** Where a delivery goes, as the log may show it (no secrets). */
  target(d: Delivery): string;
  /**
   * One try. Resolves with the outcome (a thrown error counts as a retryable failure);
   * `signal` aborts it (the notifier's timeout, or close()).
   */
  send(d: Delivery, signal: AbortSignal): Promise<AttemptOutcome>;
  /** Frees connections; called once by the notifier's close(). */
  close(): Promise<void>;
}

/** A network error's text without the stack, and the first cause Node attached (undici wraps ECONNREFUSED). */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? e.cause : undefined;
  const text = e.message || e.name;
  if (cause !== undefined && cause.message && !text.includes(cause.message)) return `${text}: ${cause.message}`;
  return text;
}
