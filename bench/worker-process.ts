import { type ChildProcess, fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ESBUILD_OPTIONS } from '../infra/lambda-code.js';
import type { Command } from './worker.js';

/*
 * The benchmark's worker process, shared by `npm run bench` (bench/run.ts) and the steady-cycle profiler
 * (bench/steady.ts): built as the Lambdas are (infra/lambda-code.ts: an ES module split into chunks, the AWS SDK
 * bundled, so its code, memory and CPU are the function's), forked, and driven by commands over IPC.
 */

export const ROOT = join(import.meta.dirname, '..');
export const BUILD = join(ROOT, 'bench', '.build');
const WORKER_DIR = join(BUILD, 'worker');

/** Builds the worker into `bench/.build/worker/` (`minify: false` keeps names for a CPU profile). */
export async function buildWorker(options: { minify?: boolean } = {}): Promise<void> {
  rmSync(WORKER_DIR, { recursive: true, force: true });
  await build({
    ...ESBUILD_OPTIONS,
    sourcemap: false,
    minify: options.minify ?? true,
    entryPoints: { worker: join(ROOT, 'bench/worker.ts') },
    outdir: WORKER_DIR,
  });
}

/** Forks the built worker; `call` sends one command and resolves with its result (rejects if the worker exits). */
export function startWorker(): { call: (cmd: Command) => Promise<unknown>; child: ChildProcess } {
  const child = fork(join(WORKER_DIR, 'worker.mjs'), [], {
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
