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
  servers: number;
  vb365PerCycle: number;
  ddbPerCycle: { queries: number; pages: number; writes: number };
  snsPerCycle: number;
  change: { events: number; writes: number; snsCalls: number };
}

// A smoke run of the benchmark: it must work end to end, and its request counts (never its timings) must meet the
// per-cycle targets, which are properties of the design rather than of the machine.
describe('npm run bench -- --quick', () => {
  it('runs, and a steady cycle costs one list, one query page, no write and no publish', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bench-')), 'results.json');

    await run('npm', ['run', 'bench', '--', '--quick', '--out', out], { cwd: ROOT, timeout: 300_000 });
    const results = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[]; bundle: { bytes: number } };

    expect(results.rows.map((r) => `${r.sessions}x${r.servers}`)).toEqual(['1x1', '10x1', '100x1', '10x10']);
    for (const r of results.rows) {
      expect(r.vb365PerCycle).toBe(r.servers);
      expect(r.ddbPerCycle).toMatchObject({ queries: r.servers, pages: r.servers, writes: 0 });
      expect(r.snsPerCycle).toBe(0);
      // 1 % of the sessions fail (one per server here): each changed session costs a commit and an acknowledgement,
      // each server's record one write for the incident the failure opens, and events go out ten to a PublishBatch
      // call, per server.
      expect(r.change.writes).toBe(2 * r.change.events + r.servers);
      expect(r.change.snsCalls).toBe(r.servers * Math.ceil(r.change.events / r.servers / 10));
    }
    expect(results.bundle.bytes).toBeLessThanOrEqual(600 * 1024);
  }, 300_000);
});
