import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');

interface Row {
  sessions: number;
  vb365PerCycle: number;
  detectorScans: number;
  ddbPerCycle: { queries: number; pages: number; writes: number };
  steadyWrites: number;
  snsPerCycle: number;
  change: { events: number; writes: number; snsCalls: number };
  baselines: Record<string, { vb365Requests: number; writes: number; publishes: number }>;
}

interface Bundle {
  bytes: number;
  initBytes: number;
  initSdkBytes: number;
  initSdkClients: string[];
}

interface Fleet {
  run: { servers: number; steady: { writes: number; snsCalls: number; vb365Requests: number } };
}

// A smoke run of the benchmark: it must work end to end, and its request counts (never its timings) must meet the
// per-cycle targets, which are properties of the design rather than of the machine.
describe('npm run bench -- --quick', () => {
  it('runs, and a steady cycle costs one list, one query page, no write and no publish, detector scans included', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bench-')), 'results.json');

    await run('npm', ['run', 'bench', '--', '--quick', '--out', out], { cwd: ROOT, timeout: 300_000 });
    const results = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[]; fleet: Fleet; bundle: Bundle };

    expect(results.rows.map((r) => r.sessions)).toEqual([1, 10, 100]);
    for (const r of results.rows) {
      expect(r.vb365PerCycle).toBe(1);
      expect(r.ddbPerCycle).toMatchObject({ queries: 1, pages: 1, writes: 0 });
      // The shipped defaults: the out-of-sync detector lists the repositories each quarter hour and writes nothing.
      expect(r.detectorScans).toBeGreaterThanOrEqual(1);
      expect(r.steadyWrites).toBe(0);
      expect(r.snsPerCycle).toBe(0);
      // 1 % of the sessions fail (one session here): it costs a commit and an acknowledgement, the server's record
      // one write for the incident the failure opens, and events go out ten to a PublishBatch call.
      expect(r.change.writes).toBe(2 * r.change.events + 1);
      expect(r.change.snsCalls).toBe(Math.ceil(r.change.events / 10));
      // The baselines' steady cycles: the naive designs write and publish every session, the peer nothing.
      expect(r.baselines.naive).toMatchObject({ vb365Requests: r.sessions, writes: r.sessions, publishes: r.sessions });
      expect(r.baselines.naiveConcurrent).toMatchObject({ writes: r.sessions, publishes: r.sessions });
      expect(r.baselines.peer).toMatchObject({ vb365Requests: r.sessions + 1, writes: 0, publishes: 0 });
    }
    expect(results.fleet.run.steady).toEqual({
      ...results.fleet.run.steady,
      writes: 0,
      snsCalls: 0,
      vb365Requests: results.fleet.run.servers,
    });
    // Module init loads the DynamoDB client and no other AWS SDK client (SSM, Secrets Manager and SNS are chunks loaded
    // on first use), and at most 600 KB of code besides the SDK.
    expect(results.bundle.initSdkClients).toEqual(['@aws-sdk/client-dynamodb']);
    expect(results.bundle.initBytes - results.bundle.initSdkBytes).toBeLessThanOrEqual(600 * 1024);
    expect(results.bundle.initBytes).toBeLessThan(results.bundle.bytes);
  }, 300_000);
});
