import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** The vb365-sync-monitor command of this checkout. */
export const BIN = join(import.meta.dirname, '../../local/cli/bin.mjs');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the command to its end; `env` is added to this process's environment (`undefined` removes a variable). */
export function cli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  options: { cwd?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env }, timeout: 90_000, ...(options.cwd ? { cwd: options.cwd } : {}) },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Lines of a Node stack trace (`    at fn (file:1:2)`), which must never reach a user. */
export const STACK_LINE = /^\s+at .+/m;
