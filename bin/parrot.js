#!/usr/bin/env -S node --max-semi-space-size=16
// (The flag sizes the young generation for many requests in flight: src/runtime/gc-tuning.ts.)
// Runs the TypeScript sources directly (Node >= 22.18 strips types natively).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`parrot needs Node.js >= 22.18 (this is ${process.versions.node}).\n`);
  process.exit(1);
}
const { tuneGc } = await import('../src/runtime/gc-tuning.ts');
tuneGc();
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
