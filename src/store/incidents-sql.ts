import { nonNegativeInt, positiveInt, time } from './arguments.ts';
import { recordId } from './record-ids.ts';
import { INCIDENT_COLUMNS, TIMELINE_COLUMNS, toIncident, toTimelineEntry } from './rows.ts';
import type { SqlDb, SqlParam } from './sql-db.ts';
import type {
  Incident,
  IncidentPatch,
  IncidentQuery,
  IncidentStore,
  IncidentWithTimeline,
  NewIncident,
  NewTimelineEntry,
  TimelineEntry,
} from './types.ts';

const DEFAULT_LIMIT = 1000;

/** Incidents and their timelines in SQL, the same statements on both dialects. */
export class SqlIncidents implements IncidentStore {
  readonly #db: SqlDb;
  readonly #now: () => number;

  constructor(db: SqlDb, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  create(input: NewIncident): Promise<IncidentWithTimeline> {
    const id = input.id ?? recordId('inc');
    const r = input.resolution ?? {};
    return this.#db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO incidents (${INCIDENT_COLUMNS})
         VALUES ($1, $2, 'ongoing', $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11)`,
        [
          id,
          input.title,
          input.impact,
          input.severity,
          input.region,
          JSON.stringify(input.affectedServices),
          time('startedAt', input.startedAt),
          r.summary ?? '',
          JSON.stringify(r.routedTo ?? []),
          nonNegativeInt('requestsRescued', r.requestsRescued ?? 0),
          this.#now(),
        ],
      );
      for (const e of input.timeline ?? []) await insertEntry(tx, id, e);
      return (await readIncident(tx, id, true)) as IncidentWithTimeline;
    });
  }

  update(id: string, patch: IncidentPatch, entry?: NewTimelineEntry): Promise<Incident | undefined> {
    return this.#db.transaction(async (tx) => {
      if (!(await applyPatch(tx, id, patch, this.#now()))) return undefined;
      if (entry) await insertEntry(tx, id, entry);
      return readIncident(tx, id, false);
    });
  }

  resolve(id: string, at: number, patch: IncidentPatch = {}, entry?: NewTimelineEntry): Promise<Incident | undefined> {
    return this.#db.transaction(async (tx) => {
      const changed = await tx.run(
        `UPDATE incidents SET status = 'resolved', resolved_at = CASE WHEN started_at > $2 THEN started_at ELSE $2 END
         WHERE id = $1 AND status = 'ongoing'`,
        [id, time('at', at)],
      );
      if (changed === 1) {
        await applyPatch(tx, id, patch, this.#now());
        if (entry) await insertEntry(tx, id, entry);
      }
      return readIncident(tx, id, false);
    });
  }

  appendTimeline(id: string, entry: NewTimelineEntry): Promise<TimelineEntry | undefined> {
    return this.#db.transaction(async (tx) => {
      const touched = await tx.run('UPDATE incidents SET updated_at = $2 WHERE id = $1', [id, this.#now()]);
      return touched === 0 ? undefined : insertEntry(tx, id, entry);
    });
  }

  async get(id: string): Promise<IncidentWithTimeline | undefined> {
    return (await readIncident(this.#db, id, true)) as IncidentWithTimeline | undefined;
  }

  async list(q: IncidentQuery = {}): Promise<Incident[]> {
    const params: SqlParam[] = [q.to ?? Number.MAX_SAFE_INTEGER, q.from ?? Number.MIN_SAFE_INTEGER, positiveInt('limit', q.limit ?? DEFAULT_LIMIT)];
    let where = 'started_at < $1 AND (resolved_at IS NULL OR resolved_at > $2)';
    if (q.status !== undefined) {
      params.push(q.status);
      where += ' AND status = $4';
    }
    const rows = await this.#db.all(
      `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE ${where} ORDER BY started_at DESC, id DESC LIMIT $3`,
      params,
    );
    return rows.map((r) => toIncident(this.#db.dialect, r));
  }
}

/** Applies the patch and bumps updated_at; false when there is no such incident. */
async function applyPatch(tx: SqlDb, id: string, p: IncidentPatch, now: number): Promise<boolean> {
  const changed = await tx.run(
    `UPDATE incidents SET
       title = COALESCE($2, title),
       impact = COALESCE($3, impact),
       severity = COALESCE($4, severity),
       affected_services = COALESCE($5, affected_services),
       summary = COALESCE($6, summary),
       routed_to = COALESCE($7, routed_to),
       requests_rescued = requests_rescued + $8,
       updated_at = $9
     WHERE id = $1`,
    [
      id,
      p.title ?? null,
      p.impact ?? null,
      p.severity ?? null,
      p.affectedServices === undefined ? null : JSON.stringify(p.affectedServices),
      p.summary ?? null,
      p.routedTo === undefined ? null : JSON.stringify(p.routedTo),
      nonNegativeInt('rescuedDelta', p.rescuedDelta ?? 0),
      now,
    ],
  );
  return changed === 1;
}

async function insertEntry(tx: SqlDb, incidentId: string, e: NewTimelineEntry): Promise<TimelineEntry> {
  const row = await tx.get(
    `INSERT INTO incident_timeline (incident_id, at, type, message, details) VALUES ($1, $2, $3, $4, $5)
     RETURNING ${TIMELINE_COLUMNS}`,
    [incidentId, time('at', e.at), e.type, e.message, e.details == null ? null : JSON.stringify(e.details)],
  );
  return toTimelineEntry(tx.dialect, row!);
}

async function readIncident(db: SqlDb, id: string, withTimeline: boolean): Promise<Incident | IncidentWithTimeline | undefined> {
  const row = await db.get(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $1`, [id]);
  if (row === undefined) return undefined;
  const incident = toIncident(db.dialect, row);
  if (!withTimeline) return incident;
  const entries = await db.all(
    `SELECT ${TIMELINE_COLUMNS} FROM incident_timeline WHERE incident_id = $1 ORDER BY at, id`,
    [id],
  );
  return { ...incident, timeline: entries.map((r) => toTimelineEntry(db.dialect, r)) };
}
