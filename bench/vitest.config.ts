import { defineConfig } from 'vitest/config';

/** The benchmark harness's own unit tests: `npx vitest run --config bench/vitest.config.ts`. */
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.test.ts'],
  },
});
