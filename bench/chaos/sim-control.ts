/**
 * The simulator as the chaos suite drives it: its own process (`parrot simulate`), its faults
 * switched and its call log read over its control API (docs/simulator.md).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimCall, SimModelConfig } from '../../src/simulator/types.ts';
import { startProcess, type ServerProcess } from '../lib/processes.ts';

export interface SimControl {
  url: string;
  setModel(model: string, cfg: SimModelConfig): Promise<void>;
  /** Start config back, call log cleared. */
  reset(): Promise<void>;
  calls(): Promise<SimCall[]>;
  stop(): Promise<void>;
}

export async function startSimProcess(tmpDir: string, models: Record<string, SimModelConfig>, defaults: SimModelConfig): Promise<SimControl> {
  const config = join(tmpDir, 'sim.json');
  // JSON is YAML: the simulator reads it as its config file.
  writeFileSync(config, JSON.stringify({ seed: 7, call_log_limit: 200_000, defaults, models }));
  const server: ServerProcess = await startProcess({
    name: 'simulator',
    command: process.execPath,
    args: ['bin/parrot.js', 'simulate', '--port', '0', '--config', config],
    ready: { pattern: /simulator listening on (http:\/\/[^\s]+)/ },
  });
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${server.url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`simulator ${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  return {
    url: server.url,
    async setModel(model, cfg) {
      await call('PUT', `/_sim/models/${encodeURIComponent(model)}`, cfg);
    },
    async reset() {
      await call('POST', '/_sim/reset');
    },
    async calls() {
      return ((await call('GET', '/_sim/calls')) as { calls: SimCall[] }).calls;
    },
    stop: () => server.stop(),
  };
}
