import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.ts';
import { assertStartable } from '../config/startable.ts';
import { ListenError } from '../net/listen.ts';
import { redactUrl } from '../core/redact-url.ts';
import { fileLimitWarning, readOpenFilesLimit } from '../runtime/file-limit.ts';

/** The same signal again within this window is one delivery seen twice, not a second signal. */
const REPEAT_WINDOW_MS = 1_000;

const USAGE = `parrot: an LLM resilience gateway

Usage:
  parrot [serve] [--config FILE]     start the gateway (default: the embedded config with the built-in simulator)
  parrot simulate [--port N] [--host H] [--config FILE] [--admin-key KEY]
                                     run the provider simulator alone (an admin key, or
                                     PARROT_SIMULATOR_ADMIN_KEY, guards its control API)
  parrot check-config [--config FILE]
                                     validate a configuration and exit
  parrot chaos add|list|rm ...       inject faults into a running gateway (chaos.enabled;
                                     "parrot chaos" alone for its usage)

Environment: PARROT_CONFIG (config path), PORT and HOST (override server.port/host).`;

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, strict: true });
  const config = loadConfig(values.config !== undefined ? { path: values.config } : {});
  const { startGateway } = await import('../gateway.ts');
  // State changes (breakers opening, providers going down) as JSON lines on stderr.
  const gw = await startGateway(config, { log: (line) => void process.stderr.write(`${line}\n`) });
  const log = (s: string): void => void process.stdout.write(`${s}\n`);
  log(`parrot listening on ${gw.url}  (config: ${config.source})`);
  if (gw.simulator) log(`  provider simulator on ${gw.simulator.url} (answers this gateway only; control it at ${gw.url}/admin/simulator/*)`);
  // A base URL may carry credentials (user:password@, ?key=): never print them.
  for (const p of config.providers) log(`  provider ${p.target.name} (${p.target.type}) -> ${redactUrl(p.target.baseUrl)}: ${p.models.map((m) => m.name).join(', ')}`);
  if (config.auth.keys.length === 0) log('  auth: open development mode (no keys configured; loopback only)');
  if (config.missingEnv.length > 0) log(`  warning: unset environment variables: ${config.missingEnv.join(', ')}`);
  const files = fileLimitWarning(config.server.maxInFlight, readOpenFilesLimit());
  if (files !== undefined) log(`  ${files}`);
  // Drain on SIGINT/SIGTERM: requests in flight get up to 10 s to finish; a second signal cuts them.
  // Ctrl-C under `npm start` reaches the gateway twice at once (from the terminal, and forwarded
  // by npm): a repeat of the same signal within a second is that one press, not a second.
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  const stop = (signal: NodeJS.Signals): void => {
    if (first !== undefined) {
      if (signal === first.signal && Date.now() - first.at < REPEAT_WINDOW_MS) return;
      process.exit(1);
    }
    first = { signal, at: Date.now() };
    log('parrot: draining (requests in flight have 10 s to finish)');
    void gw.close({ graceMs: 10_000 }).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

export async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  try {
    if (first === 'help' || first === '--help' || first === '-h') {
      process.stdout.write(`${USAGE}\n`);
    } else if (first === 'simulate') {
      const { simulateMain } = await import('../simulator/cli.ts');
      await simulateMain(rest);
    } else if (first === 'chaos') {
      const { chaosMain, ChaosCliError } = await import('./chaos.ts');
      try {
        await chaosMain(rest);
      } catch (err) {
        if (!(err instanceof ChaosCliError) && !(err instanceof TypeError)) throw err;
        // A refusal, a usage mistake, or no gateway listening (fetch's TypeError): one line, exit 1.
        process.stderr.write(`parrot chaos: ${err.message}${err instanceof TypeError && err.cause ? ` (${(err.cause as Error).message})` : ''}\n`);
        process.exitCode = 1;
      }
    } else if (first === 'check-config') {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } }, strict: true });
      const config = loadConfig(values.config !== undefined ? { path: values.config } : {});
      assertStartable(config);
      process.stdout.write(`ok: ${config.source}: ${config.providers.length} providers\n`);
    } else if (first === undefined || first === 'serve' || first.startsWith('-')) {
      await serve(first === 'serve' ? rest : argv);
    } else {
      process.stderr.write(`parrot: unknown command "${first}"\n\n${USAGE}\n`);
      process.exitCode = 2;
    }
  } catch (err) {
    // A person's mistake (a bad config, a taken port, a host that does not resolve): one line, exit 2.
    if (err instanceof ConfigError || err instanceof ListenError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`parrot: ${(err as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
