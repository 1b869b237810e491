import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'machines/**/*.test.ts', 'src/**/*.test.ts', 'bench/**/*.test.ts'],
    // The seed's Python examples need the official openai package: a venv made once.
    globalSetup: ['test/python/ensure-venv.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Tests start real servers on port 0; two cores, so keep the pool small.
    maxWorkers: 2,
    // Every worker gets global.gc, so test/engine/memory-stays-flat.test.ts runs under a plain
    // `npx vitest run` too, not only under `npm test` (which also sets NODE_OPTIONS=--expose-gc).
    execArgv: ['--expose-gc'],
  },
});
