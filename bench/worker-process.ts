import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ESBUILD_OPTIONS } from '../infra/lambda-code.js';
import type { Command } from './worker.js';

/*
 * The benchmark's worker process, shared by `npm run bench` (bench/run.ts) and the steady-cycle profiler
 * (bench/steady.ts): built with the Lambda's options (minified, the AWS SDK bundled) as one CommonJS file, forked,
 * and driven by commands over IPC.
 */

export const ROOT = join(import.meta.dirname, '..');
export const BUILD = join(ROOT, 'bench', '.build');

/**
 * esbuild options of the worker: the Lambda's (infra/lambda-code.ts: target, minified, the AWS SDK bundled from its ES
 * modules), as one CommonJS file to fork.
 */
const WORKER_BUILD = {
  bundle: true,
  platform: 'node' as const,
  format: 'cjs' as const,
  target: ESBUILD_OPTIONS.target,
  minify: true,
  mainFields: [...ESBUILD_OPTIONS.mainFields],
  logLevel: 'error' as const,
};

/** Builds the worker into `bench/.build/worker.cjs` (`minify: false` keeps names for a CPU profile). */
export async function buildWorker(options: { minify?: boolean } = {}): Promise<void> {
  await build({
    ...WORKER_BUILD,
    minify: options.minify ?? true,
    entryPoints: [join(ROOT, 'bench/worker.ts')],
    outfile: join(BUILD, 'worker.cjs'),
  });
}

/** Forks the built worker; `call` sends one command and resolves with its result (rejects if the worker exits). */
export function startWorker(): { call: (cmd: Command) => Promise<unknown>; child: ChildProcess } {
  const child = fork(join(BUILD, 'worker.cjs'), [], {
    cwd: ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const call = (cmd: Command) =>
    new Promise<unknown>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`benchmark worker exited (${code}) during ${cmd.type}`));
      child.once('exit', onExit);
      child.once('message', (m: { ok: boolean; result?: unknown; error?: string }) => {
        child.off('exit', onExit);
        if (m.ok) resolve(m.result);
        else reject(new Error(m.error));
      });
      child.send(cmd);
    });
  return { call, child };
}
