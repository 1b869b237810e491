import { positiveInt, time } from './arguments.ts';
import { recordId } from './record-ids.ts';
import { DELIVERY_COLUMNS, SUBSCRIPTION_COLUMNS, toDelivery, toSubscription } from './rows.ts';
import type { SqlDb, SqlParam } from './sql-db.ts';
import type { Delivery, DeliveryLog, DeliveryQuery, NewDelivery, NewSubscription, Subscription, SubscriptionStore } from './types.ts';

const DEFAULT_DELIVERY_LIMIT = 100;

/** Notification subscriptions in SQL. */
export class SqlSubscriptions implements SubscriptionStore {
  readonly #db: SqlDb;
  readonly #now: () => number;

  constructor(db: SqlDb, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  async create(s: NewSubscription): Promise<Subscription> {
    const row = await this.#db.get(
      `INSERT INTO subscriptions (${SUBSCRIPTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       RETURNING ${SUBSCRIPTION_COLUMNS}`,
      [
        recordId('sub'),
        s.owner,
        JSON.stringify(s.channels),
        s.severityThreshold,
        s.webhookUrl,
        s.email,
        s.phone,
        JSON.stringify(s.includeTypes),
        JSON.stringify(s.regions),
        s.secret,
        this.#now(),
      ],
    );
    return toSubscription(this.#db.dialect, row!);
  }

  async get(id: string): Promise<Subscription | undefined> {
    const row = await this.#db.get(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1`, [id]);
    return row === undefined ? undefined : toSubscription(this.#db.dialect, row);
  }

  async list(q: { readonly owner?: string } = {}): Promise<Subscription[]> {
    const rows =
      q.owner === undefined
        ? await this.#db.all(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY created_at, id`)
        : await this.#db.all(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE owner = $1 ORDER BY created_at, id`, [q.owner]);
    return rows.map((r) => toSubscription(this.#db.dialect, r));
  }

  async delete(id: string, owner?: string): Promise<boolean> {
    const n =
      owner === undefined
        ? await this.#db.run('DELETE FROM subscriptions WHERE id = $1', [id])
        : await this.#db.run('DELETE FROM subscriptions WHERE id = $1 AND owner = $2', [id, owner]);
    return n === 1;
  }
}

/** The notification delivery log in SQL. */
export class SqlDeliveries implements DeliveryLog {
  readonly #db: SqlDb;

  constructor(db: SqlDb) {
    this.#db = db;
  }

  async append(d: NewDelivery): Promise<Delivery> {
    const row = await this.#db.get(
      `INSERT INTO deliveries (subscription_id, incident_id, channel, event, at, attempt, ok, status_code, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${DELIVERY_COLUMNS}`,
      [
        d.subscriptionId,
        d.incidentId,
        d.channel,
        d.event,
        time('at', d.at),
        positiveInt('attempt', d.attempt),
        d.ok ? 1 : 0,
        d.statusCode,
        d.error,
      ],
    );
    return toDelivery(row!);
  }

  async list(q: DeliveryQuery = {}): Promise<Delivery[]> {
    const params: SqlParam[] = [q.from ?? Number.MIN_SAFE_INTEGER, q.to ?? Number.MAX_SAFE_INTEGER];
    let where = 'at >= $1 AND at < $2';
    // At most four statement texts: each filter is either in the text or not.
    if (q.subscriptionId !== undefined) {
      params.push(q.subscriptionId);
      where += ` AND subscription_id = $${params.length}`;
    }
    if (q.incidentId !== undefined) {
      params.push(q.incidentId);
      where += ` AND incident_id = $${params.length}`;
    }
    params.push(positiveInt('limit', q.limit ?? DEFAULT_DELIVERY_LIMIT));
    const rows = await this.#db.all(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE ${where} ORDER BY at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toDelivery);
  }
}
