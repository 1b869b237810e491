/**
 * The email channel: one plain-text message per delivery, to all of the subscription's
 * addresses, through the configured SMTP server. SMTP's own verdict decides retries: a 5xx
 * reply and bad credentials are final, a 4xx reply or a broken connection is retried.
 */
import type { SMTPTransportOptions, Transporter } from 'nodemailer';
import { describeError, type AttemptOutcome, type ChannelSender, type Delivery } from './channel.ts';
import type { EmailConfig } from './config.ts';

/** Failures without an SMTP reply that no later try can fix without the operator. */
const FINAL_CODES = new Set(['EAUTH', 'ENOAUTH', 'EENVELOPE', 'ECONFIG']);

export class EmailSender implements ChannelSender {
  readonly #from: string;
  readonly #options: SMTPTransportOptions;
  /** Made at the first delivery: nodemailer is loaded only by a gateway that sends email. */
  #transport: Promise<Transporter> | undefined;

  constructor(config: EmailConfig) {
    this.#from = config.from;
    const auth = config.username ? { user: config.username, pass: config.password ?? '' } : undefined;
    this.#options = {
      host: config.host,
      port: config.port ?? (config.secure ? 465 : 587),
      secure: config.secure,
      requireTLS: !config.secure && config.starttls === 'required',
      ignoreTLS: !config.secure && config.starttls === 'never',
      ...(auth ? { auth } : {}),
      connectionTimeout: config.timeout_ms,
      greetingTimeout: config.timeout_ms,
      socketTimeout: config.timeout_ms,
      // Nodemailer's logger would print the SMTP dialogue, AUTH included.
      logger: false,
      debug: false,
    };
  }

  #transporter(): Promise<Transporter> {
    return (this.#transport ??= import('nodemailer').then((m) => m.default.createTransport(this.#options)));
  }

  target(d: Delivery): string {
    return d.recipients.join(', ');
  }

  async send(d: Delivery, signal: AbortSignal): Promise<AttemptOutcome> {
    const { subject, text } = d.event.email;
    try {
      const transport = await this.#transporter();
      const info = await transport.sendMail({
        from: this.#from,
        to: [...d.recipients],
        subject,
        text,
        headers: { 'X-Parrot-Incident': d.event.event.data.id, 'X-Parrot-Event': d.event.event.id },
        signal,
      });
      // Some recipients refused, others took it: sending again would repeat it to the others.
      const rejected = (info.rejected as unknown[] | undefined)?.map(String) ?? [];
      const detail = rejected.length > 0 ? `${info.messageId} (rejected: ${rejected.join(', ')})` : info.messageId;
      return { ok: true, detail };
    } catch (e) {
      // Nodemailer reads the SMTP reply class: 5xx (but 503) permanent, 4xx transient.
      const err = e as { code?: string; permanent?: boolean };
      const final = err.permanent ?? (err.code !== undefined && FINAL_CODES.has(err.code));
      return { ok: false, retry: !final, error: describeError(e) };
    }
  }

  async close(): Promise<void> {
    if (this.#transport !== undefined) (await this.#transport).close();
  }
}
