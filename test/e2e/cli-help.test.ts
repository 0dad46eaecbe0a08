import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../local/cli/cli.js';
import { type CliRun, cli, STACK_LINE } from '../support/cli-process.js';

/*
 * Most cases call the command's main() in this process (a spawned command costs about 2 s of start-up, and there are
 * sixty cases); a few go through the installed entry point as a user's shell does.
 */

/** `main(args)` in this process, in `cwd`, with its output captured. */
async function inProcess(
  args: readonly string[],
  env: Record<string, string | undefined>,
  cwd?: string,
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const before = process.cwd();
  if (cwd) process.chdir(cwd);
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.chdir(before);
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const COMMANDS = [
  'demo',
  'init',
  'cert',
  'doctor',
  'run',
  'check-config',
  'status',
  'ack',
  'simulator',
  'test-notification',
] as const;

describe('vb365-sync-monitor: every command answers --help and -h with its usage, and does nothing else', () => {
  it.each(COMMANDS.flatMap((c) => [[c, '--help'] as const, [c, '-h'] as const]))('%s %s', async (command, flag) => {
    // In an empty directory with no credentials: a command that did its work would write, connect or fail there.
    const cwd = mkdtempSync(join(tmpdir(), 'vb365-help-'));

    const run = await inProcess([command, flag], { VB365_USERNAME: undefined, VB365_PASSWORD: undefined }, cwd);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(new RegExp(`^usage: vb365-sync-monitor ${command}\\b`));
    expect(run.stdout).not.toMatch(/VB365 simulator on|Created a CDK app|Certificate of|^DNS/m);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it.each([['--help'], ['-h'], ['help']])('the command list: %s', async (flag) => {
    const run = await inProcess([flag], {});

    expect(run.code).toBe(0);
    for (const command of COMMANDS) expect(run.stdout).toContain(`vb365-sync-monitor ${command}`);
  });
});

describe('vb365-sync-monitor: no stack trace for any input, a clear line and an exit code', () => {
  const nothing = join(tmpdir(), 'vb365-no-such-dir', 'x');
  it.each([
    // Unknown options: a usage error (2) naming the option, for every command.
    ...COMMANDS.map((c) => [[c, '--bogus'], 2, /Unknown option '--bogus'/] as const),
    [['frobnicate'], 2, /unknown command "frobnicate"/],
    [['demo', 'extra'], 2, /demo: Unexpected argument 'extra'/],
    [['init', 'a', 'b'], 2, /init: one directory at most/],
    [['init', '/dev/null/app'], 1, /ENOTDIR|EEXIST|not a directory/],
    [['cert'], 2, /cert: --server is required/],
    [['cert', '--server', 'http://vb365:4443'], 2, /must use https:\/\//],
    [['cert', '--server', 'https://admin:pw@vb365:4443'], 2, /must not carry "user:password@"/],
    [['cert', '--server', 'https://127.0.0.1:1'], 1, /cert: 127\.0\.0\.1:1: connection refused/],
    [['cert', '--server', 'https://127.0.0.1:1', '--out', ''], 2, /--out needs a file name/],
    [['doctor', '--server', 'vb365'], 2, /is not a URL: use https:\/\/HOST:4443/],
    [['doctor', '--server', 'https://vb365:4443', '--pin', 'AB:CD'], 2, /--pin AB:CD is not a SHA-256 fingerprint/],
    [['doctor', '--server', 'https://vb365:4443', '--ca', nothing], 2, /--ca: cannot read CA bundle file/],
    [['doctor', '--server', 'https://127.0.0.1:1'], 1, /doctor: the TCP check failed/],
    [['run', '--server', 'https://vb365:4443', '--interval', '1'], 2, /--interval 1 must be a number of seconds/],
    [['check-config', nothing], 1, /vb365-no-such-dir/],
    [['check-config', 'a.json', 'b.json'], 2, /check-config: one file at most/],
    [['status'], 2, /give --table NAME \(AWS\) or --state-dir DIR/],
    [['status', '--state-dir', nothing], 1, /does not exist/],
    [['ack'], 2, /ack: name the repository or incident to acknowledge/],
    [['ack', 'S3 Archive'], 2, /ack: give --table NAME \(AWS\) or --state-dir DIR/],
    [['ack', 'S3', 'Archive', '--state-dir', nothing], 2, /one repository or incident at a time, got 2/],
    [['ack', 'S3 Archive', '--reason', ' ', '--state-dir', nothing], 2, /--reason is empty/],
    [['ack', 'S3 Archive', '--table', 't', '--state-dir', nothing], 2, /give --table NAME \(AWS\) or --state-dir/],
    [['ack', 'S3 Archive', '--state-dir', nothing], 1, /ack: .*vb365-no-such-dir.* does not exist/],
    [['simulator', '--port', 'abc'], 2, /--port abc is not a port/],
    [['simulator', '--scenario', 'nope'], 2, /unknown scenario nope/],
    [['test-notification', '--type', 'sync.exploded'], 2, /--type sync\.exploded: use one of/],
    [['test-notification', '--channel', 'pager'], 2, /--channel pager: use one of/],
    [['test-notification', '--topic-arn', 'my-topic'], 2, /--topic-arn my-topic is not an SNS topic ARN/],
  ] as const)('%j exits %i', async (args, code, message) => {
    const run = await inProcess([...args], { VB365_USERNAME: 'svc', VB365_PASSWORD: 'S3cret-Pw' });

    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/^vb365-sync-monitor: /);
    expect(run.stdout + run.stderr).not.toMatch(STACK_LINE);
    expect(run.stdout + run.stderr).not.toContain('S3cret-Pw');
  });
});

describe('vb365-sync-monitor through its entry point, as a shell runs it', () => {
  it.concurrent.each([
    [['demo', '--help'], 0, /^$/],
    [['simulator', '-h'], 0, /^$/],
    [['status', '--bogus'], 2, /^vb365-sync-monitor: status: Unknown option '--bogus'/],
    [['doctor', '--server', 'vb365'], 2, /^vb365-sync-monitor: doctor: --server "vb365" is not a URL/],
    [['cert', '--server', 'https://127.0.0.1:1'], 1, /^vb365-sync-monitor: cert: 127\.0\.0\.1:1: connection refused/],
    [['frobnicate'], 2, /^vb365-sync-monitor: unknown command "frobnicate"/],
  ] as const)('%j exits %i', async (args, code, stderr) => {
    const run = await cli([...args]);

    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(stderr);
    if (code === 0) expect(run.stdout).toMatch(new RegExp(`^usage: vb365-sync-monitor ${args[0]}\\b`));
    expect(run.stdout + run.stderr).not.toMatch(STACK_LINE);
  });
});
