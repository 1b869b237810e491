import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * vitest globalSetup: the seed's Python examples run against the official `openai` PyPI
 * package. A virtualenv in .parrot/venv holds test/python/requirements.txt, created on the
 * first `npm test` and reused after (reinstalled when the requirements change), so the
 * README's test command is all a fresh machine needs.
 */
export default function ensurePythonVenv(): void {
  const root = join(import.meta.dirname, '..', '..');
  const venv = join(root, '.parrot', 'venv');
  const python = join(venv, 'bin', 'python');
  const requirements = join(root, 'test', 'python', 'requirements.txt');
  const stamp = join(venv, 'parrot-requirements.txt');
  const wanted = readFileSync(requirements, 'utf8');
  if (!existsSync(python)) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted) {
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements], { stdio: 'inherit' });
    writeFileSync(stamp, wanted);
  }
  process.env.PARROT_PYTHON = python;
}
