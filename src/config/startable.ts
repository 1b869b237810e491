import { isLoopbackHost } from '../net/loopback.ts';
import { parseModelConfig, SimConfigError } from '../simulator/config-schema.ts';
import { ConfigError } from './load.ts';
import type { GatewayConfig } from './types.ts';

/**
 * What a config must also satisfy to start, beyond its schema: open development mode (no
 * keys) binds to loopback only, and the built-in simulator's models and defaults are valid
 * simulator configs. One check for `parrot check-config` and `startGateway`, so a config that
 * passes the first starts.
 *
 * @throws ConfigError naming the field.
 */
export function assertStartable(config: GatewayConfig): void {
  if (config.auth.keys.length === 0 && !isLoopbackHost(config.server.host)) {
    throw new ConfigError(
      `refusing to listen on ${config.server.host} with no API keys: open development mode binds to loopback only ` +
        '(an IP address in 127.0.0.0/8, ::1, or localhost; other host names are not trusted). ' +
        'Set auth.keys (e.g. ["${PARROT_API_KEY}"]) or use host 127.0.0.1.',
    );
  }
  const sim = config.simulator;
  if (!sim.enabled) return;
  try {
    for (const [model, cfg] of Object.entries(sim.models ?? {})) parseModelConfig(cfg, `models.${model}`);
    if (sim.defaults !== undefined) parseModelConfig(sim.defaults, 'defaults');
  } catch (err) {
    if (err instanceof SimConfigError) throw new ConfigError(`config ${config.source}: simulator: ${err.message}`);
    throw err;
  }
}
