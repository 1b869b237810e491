import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import type { Resolver } from '../../src/notify/webhook-target.ts';
import { sdkClient, startTestGateway, until } from '../helpers/gateway.ts';

/**
 * The seed's "Health Monitoring" and "Incident Management" Python examples as written
 * (test/python/seed_health.py, seed_incidents.py), run with `requests` and `websocket-client`
 * from PyPI (test/python/requirements.txt) against a running gateway.
 */

const PYTHON_DIR = fileURLToPath(new URL('../python/', import.meta.url));
const KEY = 'your-api-key';
const NOW = { headers: { 'X-Failover-Enabled': 'true', 'X-Failover-Providers': 'openai,anthropic', 'X-Max-Retries': '0' } };

interface Run {
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function python(gw: RunningGateway, script: string): Run {
  const child = spawn(process.env.PARROT_PYTHON ?? 'python3', [script], {
    cwd: PYTHON_DIR,
    env: { ...process.env, PARROT_HTTP: gw.url, PARROT_WS: gw.url.replace('http', 'ws'), PYTHONDONTWRITEBYTECODE: '1', PYTHONUTF8: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return {
    done: new Promise((resolve) => child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    })),
  };
}

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

describe('seed_health.py (Health Monitoring)', () => {
  it('prints the health of every provider and model, then the ALERT and RECOVERY of an openai outage from the stream', async () => {
    gw = await startTestGateway({
      auth: { keys: [KEY] },
      resilience: { breaker: { error_threshold: 2, timeout: 3600 }, breaker_probe_interval_ms: 100 },
    });
    const g = gw;
    const run = python(g, 'seed_health.py');
    await until(() => g.healthStream.clients === 1, 15_000);
    await new Promise((r) => setTimeout(r, 100)); // the snapshot reaches the script first
    const sim = g.simulator!;
    const client = sdkClient(g, KEY);
    const models = ['gpt-4-turbo-preview', 'gpt-3.5-turbo'];
    for (const m of models) sim.setModel(m, { faults: [{ type: 'error', kind: 'server_error' }] });
    for (const m of models) for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: m, messages: [{ role: 'user', content: 'x' }] }, NOW);
    await until(() => g.monitor.providerState('openai') === 'down');
    for (const m of models) sim.setModel(m, { faults: [] });
    await until(() => models.every((m) => g.runtime.targets.byKey(`openai/${m}`).toJSON().routable), 5_000);
    for (const m of models) await client.chat.completions.create({ model: m, messages: [{ role: 'user', content: 'x' }] }, NOW);
    await until(() => g.monitor.providerState('openai') !== 'down');
    await new Promise((r) => setTimeout(r, 100));
    // Ends the script's run_forever() (a close frame after the events).
    g.healthStream.close();
    const out = await run.done;
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      [
        'System Status: healthy',
        'Overall Uptime: 100%',
        '',
        'openai:',
        ' Status: healthy',
        ' Uptime (24h): 100%',
        ' Response time: Nonems',
        ' Error rate: 0%',
        ' ✅ gpt-4-turbo-preview: healthy',
        ' ✅ gpt-3.5-turbo: healthy',
        '',
        'anthropic:',
        ' Status: healthy',
        ' Uptime (24h): 100%',
        ' Response time: Nonems',
        ' Error rate: 0%',
        ' ✅ claude-3-opus: healthy',
        '',
        'google:',
        ' Status: healthy',
        ' Uptime (24h): 100%',
        ' Response time: Nonems',
        ' Error rate: 0%',
        ' ✅ gemini-pro: healthy',
        'ALERT: openai is down!',
        "Affected models: ['gpt-4-turbo-preview', 'gpt-3.5-turbo']",
        'Fallback active: anthropic',
        'RECOVERY: openai is back online',
        '',
      ].join('\n'),
    );
  });
});

describe('seed_incidents.py (Incident Management)', () => {
  it('prints each incident of the last 30 days with the seed fields, and subscribes with the seed body (201)', async () => {
    const resolve: Resolver = async (host) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    gw = await startTestGateway(
      {
        auth: { keys: [KEY], admin_keys: [KEY] },
        region: 'us-east-1',
        resilience: { breaker: { error_threshold: 2, timeout: 3600 } },
        notifications: {
          email: { host: '127.0.0.1', port: 2525, starttls: 'never', from: 'parrot <alerts@example.com>', default_to: ['oncall@example.com'] },
          sms: { base_url: 'http://127.0.0.1:9', account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: 't', from: '+15005550006', default_to: ['+14155550123'] },
        },
      },
      { resolve },
    );
    const g = gw;
    g.simulator!.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'server_error' }] });
    for (let i = 0; i < 2; i++) await sdkClient(g, KEY).chat.completions.create({ model: 'claude-3-opus', messages: [{ role: 'user', content: 'x' }] }, NOW);
    await until(() => g.incidents.openCount === 1);
    // The rescued count is written within a second.
    for (let i = 0; i < 50 && (await g.store.incidents.list())[0]?.resolution.requestsRescued !== 1; i++) await new Promise((r) => setTimeout(r, 50));
    const [inc] = await g.store.incidents.list();
    const out = await python(g, 'seed_incidents.py').done;
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const lines = out.stdout.split('\n');
    expect(lines.slice(0, 5)).toEqual(['', `Incident: ${inc!.id}`, `Date: ${new Date(inc!.startedAt).toISOString()}`, expect.stringMatching(/^Duration: \d+(\.\d+)? minutes$/), 'Impact: outage']);
    expect(lines[5]).toBe("Affected: ['anthropic', 'anthropic/claude-3-opus']");
    // The second request failed on anthropic and was answered by openai after the incident opened.
    expect(lines[6]).toBe("Resolution: {'summary': 'anthropic is down (claude-3-opus); traffic goes to openai', 'routed_to': ['openai/gpt-4-turbo-preview'], 'requests_rescued': 1}");
    expect(lines.slice(7)).toEqual(['201', '']);
    expect((await g.store.subscriptions.list()).map((s) => [s.channels, s.severityThreshold, s.webhookUrl, s.regions])).toEqual([
      [['email', 'webhook', 'sms'], 'medium', 'https://your-app.com/incidents', ['us-east-1', 'eu-west-1']],
    ]);
  });
});
