import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { sdkClient, startTestGateway } from '../helpers/gateway.ts';
import { testBackends } from '../store/backends.ts';

/**
 * kill -9 of a gateway during an open incident loses nothing: the incident, its timeline,
 * the target's open down interval and its breaker state are all there when a new gateway
 * opens the same store, which starts the target down (no client request reaches it) and
 * takes the incident over. On SQLite and on a real PostgreSQL.
 */

const FIXTURE = join(import.meta.dirname, 'fixtures', 'outage-then-wait.ts');

async function outageThenKill(env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line within 20 s; stderr: ${err}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.slice(0, out.indexOf('\n')));
      }
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) early; stderr: ${err}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return (JSON.parse(line) as { id: string }).id;
}

describe.each(testBackends())('a gateway killed with SIGKILL during an incident, on $name', (backend) => {
  let gw: RunningGateway | undefined;
  beforeAll(() => backend.setUp(), 60_000);
  afterAll(() => backend.tearDown(), 60_000);
  beforeEach(() => backend.fresh());
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('loses nothing: the incident and its timeline, the open down interval, the breaker; the next gateway starts the target down', async () => {
    const env = backend.childEnv();
    const id = await outageThenKill(env);
    const store = env.DATABASE_URL ? { database_url: env.DATABASE_URL } : { path: env.PARROT_TEST_SQLITE_PATH!, database_url: '' };
    gw = await startTestGateway({ store, resilience: { breaker: { timeout: 3600 } } });
    await gw.writes.drain();
    const inc = await gw.store.incidents.get(id);
    expect(inc).toMatchObject({ status: 'ongoing', impact: 'partial_outage', affectedServices: ['openai/gpt-4-turbo-preview'] });
    // Before the kill: the model went down. After the restart: its breaker restored open, the model down again, in the same incident.
    expect(inc!.timeline.map((t) => t.type)).toEqual(['model_down', 'circuit_opened', 'model_down']);
    const intervals = await gw.store.availability.listDownIntervals({ from: 0, to: Date.now() + 1 });
    expect(intervals.map((i) => [i.subject, i.cause, i.endedAt])).toEqual([['openai/gpt-4-turbo-preview', 'circuit_open', null]]);
    expect(gw.runtime.targets.byKey('openai/gpt-4-turbo-preview').toJSON()).toMatchObject({ routable: false, breakers: [{ status: 'open' }] });
    expect(gw.incidents.openCount).toBe(1);
    const r = await sdkClient(gw).chat.completions.create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'X-Failover-Enabled': 'true', 'X-Failover-Providers': 'openai,anthropic', 'X-Max-Retries': '0' } }).withResponse();
    expect(r.response.headers.get('x-provider')).toBe('anthropic');
    expect(gw.simulator!.calls({ model: 'gpt-4-turbo-preview' })).toEqual([]);
  }, 40_000);
});
