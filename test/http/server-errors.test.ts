import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_ERROR_LOG_INTERVAL_MS, ServerErrors } from '../../src/net/server-errors.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway } from '../helpers/gateway.ts';

const emfile = (): NodeJS.ErrnoException => Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', errno: -24, syscall: 'accept' });

describe('server errors after start-up', () => {
  let gw: RunningGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  // Node emits a failed accept (EMFILE) on the server; with no listener the process would exit
  // and drop every request it holds.
  it('an accept that fails is logged and survived: the gateway goes on serving', async () => {
    const log: string[] = [];
    gw = await startTestGateway({}, { log: (l) => log.push(l) });
    expect(() => gw!.server.emit('error', emfile())).not.toThrow();
    gw.server.emit('error', emfile());
    expect(gw.serverErrors.count).toBe(2);
    const lines = log.filter((l) => l.includes('"event":"server_error"')).map((l) => JSON.parse(l));
    expect(lines).toEqual([
      expect.objectContaining({ event: 'server_error', code: 'EMFILE', syscall: 'accept', errors: 1, hint: expect.stringContaining('ulimit -n') }),
    ]);
    const res = await fetch(`${gw.url}/livez`);
    expect(res.status).toBe(200);
  });

  it('logs the first at once, then at most one line per interval with the count since', () => {
    let now = 0;
    const lines: Array<{ errors: number }> = [];
    const errors = new ServerErrors((l) => lines.push(JSON.parse(l)), () => now);
    errors.onError(emfile());
    for (let i = 0; i < 50; i++) errors.onError(emfile());
    now = SERVER_ERROR_LOG_INTERVAL_MS;
    errors.onError(emfile());
    expect(lines.map((l) => l.errors)).toEqual([1, 51]);
    expect(errors.count).toBe(52);
  });
});
