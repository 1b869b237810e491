/**
 * Samples what a server allocates, from inside it: `node --import <this file> <server> ...`
 * with PARROT_ALLOC_PROFILE=<file>. The first SIGUSR2 starts V8's sampling heap profiler
 * (every 1 KB allocated on average, objects the collector has since freed included, so it
 * counts allocation, not what is left); the second stops it and writes the profile to the
 * file (a `.heapprofile`, which Chrome DevTools also opens). bench/gc-trace.ts --alloc drives it.
 * Without the variable it does nothing.
 */
import { Session } from 'node:inspector/promises';
import { renameSync, writeFileSync } from 'node:fs';

const out = process.env.PARROT_ALLOC_PROFILE;
if (out !== undefined && out !== '') {
  const session = new Session();
  session.connect();
  let sampling = false;
  process.on('SIGUSR2', () => {
    void (async () => {
      if (!sampling) {
        sampling = true;
        await session.post('HeapProfiler.enable');
        await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
        return;
      }
      sampling = false;
      const { profile } = await session.post('HeapProfiler.stopSampling');
      // Whole or not at all: the reader waits for the name.
      writeFileSync(`${out}.part`, JSON.stringify(profile));
      renameSync(`${out}.part`, out);
    })();
  });
}
