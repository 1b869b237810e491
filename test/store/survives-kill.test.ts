import { statSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.ts';
import { testBackends } from './backends.ts';
import { writeThenKill } from './kill-writer.ts';

const T0 = Date.UTC(2025, 5, 10, 10, 0);
const MIN = 60_000;

describe.each(testBackends())('a kill -9 right after writes returned, on $name', (backend) => {
  let store: Store | undefined;

  beforeAll(() => backend.setUp(), 60_000);
  afterAll(() => backend.tearDown(), 60_000);
  beforeEach(() => backend.fresh());
  afterEach(() => store?.close());

  it('loses nothing: the open incident, its timeline, the notification records, the availability records and the snapshots', async () => {
    const written = await writeThenKill(backend.childEnv(), {
      // SQLite: the writes are still only in the WAL (no checkpoint yet), so reopening must recover them from it.
      beforeKill: backend.file ? () => expect(statSync(`${backend.file}-wal`).size).toBeGreaterThan(0) : undefined,
    });
    store = await backend.open();

    const incident = await store.incidents.get(written.incident.id);
    expect(incident).toEqual({
      ...written.incident,
      timeline: [
        { id: expect.any(Number), incidentId: written.incident.id, at: T0, type: 'provider_down', message: 'openai is down', details: { from: 'healthy', to: 'down' } },
        { id: expect.any(Number), incidentId: written.incident.id, at: T0 + MIN, type: 'failover', message: 'traffic to anthropic', details: null },
        written.entry,
      ],
    });
    expect(incident).toMatchObject({ status: 'ongoing', resolvedAt: null, resolution: { requestsRescued: 17, routedTo: ['anthropic/claude-3-opus'] } });
    expect(await store.incidents.list({ status: 'ongoing' })).toHaveLength(1);
    expect(await store.subscriptions.list()).toEqual([written.subscription]);
    expect(await store.deliveries.list()).toEqual([written.delivery]);
    expect(await store.availability.listDownIntervals({ from: T0, to: T0 + MIN })).toEqual([written.interval]);
    expect(await store.availability.listUnservedMinutes({ from: T0, to: T0 + MIN })).toEqual([{ minute: T0, model: 'gpt-4-turbo-preview', failures: 3 }]);
    expect(await store.snapshots.list()).toEqual([
      { key: 'breaker:openai/gpt-4-turbo-preview#default', value: { value: 'open', openedAt: T0 }, updatedAt: T0 + 5 * MIN },
      { key: 'health:openai/gpt-4-turbo-preview', value: { healthy: false }, updatedAt: T0 + 5 * MIN },
    ]);
    // the incident goes on after the restart: it can be resolved, the interval closed
    expect(await store.incidents.resolve(written.incident.id, T0 + 45 * MIN)).toMatchObject({ status: 'resolved', resolvedAt: T0 + 45 * MIN });
    expect(await store.availability.closeDownInterval('openai/gpt-4-turbo-preview', T0 + 45 * MIN)).toEqual({ ...written.interval, endedAt: T0 + 45 * MIN });
  });
});
