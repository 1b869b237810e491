/**
 * Fans incident events out to the subscriptions they match, over each subscription's
 * channels. `notify()` only queues: every delivery then runs on its own, so a slow or failing
 * receiver never holds up the caller or another delivery. Each channel has its own slots
 * (`max_in_flight`), every try its own timeout, failures retry on the backoff schedule, and
 * every try is written to the delivery log. Bounded: at most `max_pending` deliveries are
 * alive at once; past that a delivery is dropped, and the drop logged.
 */
import { uniqueId } from '../core/ids.ts';
import { AllowList } from './address-policy.ts';
import { retryDelay } from './backoff.ts';
import { PreparedEvent, describeError, type AttemptOutcome, type ChannelSender, type Delivery } from './channel.ts';
import type { NotificationsConfig } from './config.ts';
import { EmailSender } from './email.ts';
import { matches } from './match.ts';
import { SmsSender } from './sms.ts';
import type { SubscribeContext, Subscription } from './subscription.ts';
import { systemClock, type Channel, type DeliveryAttempt, type DeliveryLog, type IncidentEvent, type NotifyClock } from './types.ts';
import { WebhookSender } from './webhook.ts';
import { systemResolver, type Resolver } from './webhook-target.ts';

export interface NotifierOptions {
  config: NotificationsConfig;
  log: DeliveryLog;
  /** Retry waits and try timeouts run on it (default: the process clock). */
  clock?: NotifyClock;
  /** Jitter's randomness, [0, 1) (default Math.random). */
  random?: () => number;
  /** Webhook host names -> addresses (default: the system resolver). */
  resolve?: Resolver;
  /** Replaces a channel's sender. */
  senders?: Partial<Record<Channel, ChannelSender>>;
  /** Told when the delivery log refuses an entry (the text never carries a secret). */
  onError?: (message: string) => void;
}

/** What one notify() call did. */
export interface NotifyReceipt {
  queued: number;
  dropped: number;
}

interface Job {
  delivery: Delivery;
  lane: Lane;
  /** The number of the next try. */
  attempt: number;
  timer?: unknown;
  controller?: AbortController;
}

interface Lane {
  channel: Channel;
  sender: ChannelSender;
  timeoutMs: number;
  inFlight: number;
  ready: Job[];
}

export class Notifier {
  readonly #config: NotificationsConfig;
  readonly #log: DeliveryLog;
  readonly #clock: NotifyClock;
  readonly #random: () => number;
  readonly #onError: (message: string) => void;
  readonly #allow: AllowList;
  readonly #resolve: Resolver;
  readonly #lanes = new Map<Channel, Lane>();
  /** Deliveries queued, in flight or waiting to retry. */
  #alive = 0;
  /** Tries running now, to abort on close(). */
  readonly #inFlight = new Set<Job>();
  readonly #waiting = new Set<Job>();
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(opts: NotifierOptions) {
    const c = (this.#config = opts.config);
    this.#log = opts.log;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#onError = opts.onError ?? (() => {});
    this.#allow = new AllowList(c.webhook.allow_cidrs);
    this.#resolve = opts.resolve ?? systemResolver;
    const senders = opts.senders ?? {};
    const webhook = senders.webhook ?? new WebhookSender({ allow: this.#allow, resolve: this.#resolve, clock: this.#clock });
    this.#addLane('webhook', webhook, c.webhook.timeout_ms);
    const email = senders.email ?? (c.email ? new EmailSender(c.email) : undefined);
    if (email) this.#addLane('email', email, c.email?.timeout_ms ?? c.webhook.timeout_ms);
    const sms = senders.sms ?? (c.sms ? new SmsSender(c.sms) : undefined);
    if (sms) this.#addLane('sms', sms, c.sms?.timeout_ms ?? c.webhook.timeout_ms);
  }

  /** The channels this notifier can deliver on: what a subscription may ask for. */
  get channels(): ReadonlySet<Channel> {
    return new Set(this.#lanes.keys());
  }

  /**
   * What `parseSubscription` checks a subscribe body against on this gateway: its channels,
   * which of them have default recipients, and its webhook address policy.
   *
   * @example
   * const sub = createSubscription(await parseSubscription(req.body, notifier.subscribeContext));
   */
  get subscribeContext(): SubscribeContext {
    const defaults = new Set<Channel>();
    if (this.#lanes.has('email') && this.#config.email?.default_to) defaults.add('email');
    if (this.#lanes.has('sms') && this.#config.sms?.default_to) defaults.add('sms');
    return { available: this.channels, defaultRecipients: defaults, allow: this.#allow, resolve: this.#resolve };
  }

  /** Deliveries queued, in flight or waiting to retry. */
  get pending(): number {
    return this.#alive;
  }

  /**
   * Queues `event` for every subscription it matches, on each of the subscription's channels
   * (one delivery per SMS number; one e-mail for all addresses). Returns at once.
   *
   * @example
   * notifier.notify(newIncidentEvent('incident.opened', incident), await store.subscriptions());
   */
  notify(event: IncidentEvent, subscriptions: Iterable<Subscription>): NotifyReceipt {
    const receipt: NotifyReceipt = { queued: 0, dropped: 0 };
    let prepared: PreparedEvent | undefined;
    for (const sub of subscriptions) {
      if (!matches(sub, event.data)) continue;
      prepared ??= new PreparedEvent(event);
      for (const channel of sub.channels) {
        for (const recipients of this.#recipientsOf(sub, channel)) {
          const delivery: Delivery = { id: `dlv_${uniqueId()}`, event: prepared, subscription: sub, channel, recipients };
          if (this.#enqueue(delivery)) receipt.queued++;
          else receipt.dropped++;
        }
      }
    }
    return receipt;
  }

  /** Resolves when no try is running or queued (retries waiting on the clock do not count). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops: pending retries are cancelled, running tries aborted (logged as failed), then
   * every channel's connections closed. notify() after close() drops and logs.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#waiting) this.#clock.clearTimeout(job.timer);
    this.#alive -= this.#waiting.size;
    this.#waiting.clear();
    for (const lane of this.#lanes.values()) {
      this.#alive -= lane.ready.length;
      lane.ready.length = 0;
    }
    for (const job of this.#inFlight) job.controller?.abort(new Error('notifier closed'));
    await this.idle();
    await Promise.all([...this.#lanes.values()].map((l) => l.sender.close().catch((e: unknown) => this.#onError(`closing ${l.channel}: ${describeError(e)}`))));
  }

  #addLane(channel: Channel, sender: ChannelSender, timeoutMs: number): void {
    this.#lanes.set(channel, { channel, sender, timeoutMs, inFlight: 0, ready: [] });
  }

  #enqueue(delivery: Delivery): boolean {
    const lane = this.#lanes.get(delivery.channel);
    const why = this.#dropReason(delivery, lane);
    if (why !== undefined || lane === undefined) {
      const now = this.#clock.now();
      this.#record(delivery, lane?.sender, { attempt: 0, status: 'dropped', http_status: null, error: why ?? null, detail: null, started_at: now, duration_ms: 0, next_attempt_at: null });
      return false;
    }
    this.#alive++;
    lane.ready.push({ delivery, lane, attempt: 1 });
    this.#pump(lane);
    return true;
  }

  #dropReason(delivery: Delivery, lane: Lane | undefined): string | undefined {
    if (this.#closed) return 'notifier is closed';
    if (lane === undefined) return `${delivery.channel} notifications are not configured`;
    if (delivery.recipients.length === 0) return `no ${delivery.channel} recipients: the subscription names none and no default is configured`;
    if (this.#alive >= this.#config.max_pending) return `queue full (${this.#config.max_pending} deliveries pending)`;
    return undefined;
  }

  #pump(lane: Lane): void {
    while (lane.inFlight < this.#config.max_in_flight && lane.ready.length > 0) void this.#run(lane.ready.shift()!);
  }

  async #run(job: Job): Promise<void> {
    const { lane, delivery } = job;
    lane.inFlight++;
    this.#inFlight.add(job);
    const controller = (job.controller = new AbortController());
    const startedAt = this.#clock.now();
    const timer = this.#clock.setTimeout(() => controller.abort(new Error('timeout')), lane.timeoutMs);
    let outcome: AttemptOutcome;
    try {
      outcome = await lane.sender.send(delivery, controller.signal);
    } catch (e) {
      outcome = { ok: false, retry: true, error: describeError(e) };
    }
    this.#clock.clearTimeout(timer);
    if (!outcome.ok && controller.signal.aborted) {
      outcome = this.#closed
        ? { ok: false, retry: false, error: 'aborted: notifier closed' }
        : { ok: false, retry: true, error: `timed out after ${lane.timeoutMs} ms` };
    }
    job.controller = undefined;
    this.#inFlight.delete(job);
    lane.inFlight--;
    this.#settle(job, outcome, startedAt);
    this.#pump(lane);
    if (this.#isIdle()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #settle(job: Job, outcome: AttemptOutcome, startedAt: number): void {
    const now = this.#clock.now();
    const base = { attempt: job.attempt, started_at: startedAt, duration_ms: now - startedAt, http_status: outcome.http_status ?? null };
    if (outcome.ok) {
      this.#alive--;
      this.#record(job.delivery, job.lane.sender, { ...base, status: 'delivered', error: null, detail: outcome.detail ?? null, next_attempt_at: null });
      return;
    }
    const delay = outcome.retry && !this.#closed ? retryDelay(job.attempt, this.#config.retry, this.#random) : undefined;
    this.#record(job.delivery, job.lane.sender, { ...base, status: 'failed', error: outcome.error, detail: null, next_attempt_at: delay === undefined ? null : now + delay });
    if (delay === undefined) {
      this.#alive--;
      return;
    }
    job.attempt++;
    this.#waiting.add(job);
    job.timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(job);
      job.timer = undefined;
      job.lane.ready.push(job);
      this.#pump(job.lane);
    }, delay);
  }

  /** One recipient list per delivery: the URL; all e-mail addresses together; each phone alone. */
  #recipientsOf(sub: Subscription, channel: Channel): (readonly string[])[] {
    // An empty list is logged as dropped (the config lost the defaults the subscription relied on).
    if (channel === 'webhook') return [sub.webhook_url === undefined ? [] : [sub.webhook_url]];
    if (channel === 'email') return [sub.emails ?? this.#config.email?.default_to ?? []];
    const phones = sub.phone_numbers ?? this.#config.sms?.default_to ?? [];
    return phones.length === 0 ? [[]] : phones.map((p) => [p]);
  }

  #isIdle(): boolean {
    if (this.#inFlight.size > 0) return false;
    for (const lane of this.#lanes.values()) if (lane.ready.length > 0) return false;
    return true;
  }

  #record(d: Delivery, sender: ChannelSender | undefined, a: Omit<DeliveryAttempt, 'delivery_id' | 'event_id' | 'event_type' | 'incident_id' | 'subscription_id' | 'channel' | 'target'>): void {
    const entry: DeliveryAttempt = {
      delivery_id: d.id,
      event_id: d.event.event.id,
      event_type: d.event.event.type,
      incident_id: d.event.event.data.id,
      subscription_id: d.subscription.id,
      channel: d.channel,
      target: sender && d.recipients.length > 0 ? sender.target(d) : d.recipients.join(', '),
      ...a,
    };
    try {
      const r = this.#log.append(entry);
      if (r !== undefined) r.catch((e: unknown) => this.#onError(`delivery log: ${describeError(e)}`));
    } catch (e) {
      this.#onError(`delivery log: ${describeError(e)}`);
    }
  }
}

