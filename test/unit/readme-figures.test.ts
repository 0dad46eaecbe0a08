import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * The README's performance section is written by `npm run bench` from the run it records in bench/results.json: its
 * figures must be that run's (a hand edit, or a results.json from another run, shows up here).
 */

const ROOT = join(import.meta.dirname, '../..');
const START = '<!-- bench:performance:start (npm run bench writes this section) -->';
const END = '<!-- bench:performance:end -->';

interface Results {
  date: string;
  rows: {
    sessions: number;
    firstCycleMs: number;
    steadyMs: number;
    steadyReusedMs: number;
    cpu: { firstMs: number; steadyMs: number };
    baselines: Record<string, { ms: number; ratio: number }>;
  }[];
  fleet: { perHour: { lambdaGbSeconds: number; dynamodbReadUnits: number; snsCalls: number } };
  init: { node24: { deployed: { wallMs: number } }; node20: { deployed: { wallMs: number } } };
  cost: { table: { servers: number; list: { total: number }; firstYear: { total: number } }[] };
}

const n = (x: number) => x.toLocaleString('en-US');

describe('the performance section (docs/operations.md)', () => {
  const readme = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
  // Whitespace collapsed: the formatter pads the tables' cells.
  const section = readme.slice(readme.indexOf(START), readme.indexOf(END)).replace(/[ \t]+/g, ' ');
  const results = JSON.parse(readFileSync(join(ROOT, 'bench/results.json'), 'utf8')) as Results;

  it('shows the figures of the run recorded in bench/results.json', () => {
    expect(section.length).toBeGreaterThan(START.length);
    expect(section).toContain(`Run of ${results.date.slice(0, 10)}`);
    for (const r of results.rows) {
      expect(section).toContain(
        `| ${n(r.sessions)} | ${n(r.firstCycleMs)} ms | ${r.steadyMs} ms | ${r.steadyReusedMs} ms | ${r.cpu.firstMs} / ${r.cpu.steadyMs} ms |`,
      );
      for (const b of Object.values(r.baselines)) expect(section).toContain(`${n(b.ms)} ms (${b.ratio}×)`);
    }
    expect(section).toContain(`${n(results.fleet.perHour.lambdaGbSeconds)} Lambda GB-s`);
    expect(section).toContain(`${n(results.fleet.perHour.dynamodbReadUnits)} DynamoDB read units`);
    expect(section).toContain(`${results.init.node24.deployed.wallMs} ms`);
    expect(section).toContain(`${results.init.node20.deployed.wallMs} ms`);
  });

  it("explains a concurrent naive baseline under 20× ours at 100 sessions by the cycle's floor", () => {
    const ratio = results.rows.find((r) => r.sessions === 100)?.baselines.naiveConcurrent?.ratio;

    if (ratio !== undefined && ratio < 20) {
      expect(section).toContain(`Why the concurrent naive baseline is ${ratio}× ours at 100 sessions, not 20×`);
      expect(section).toContain('cannot be shorter than its floor');
    }
  });

  it('shows the cost of the same run, in its own section', () => {
    const cost = readme
      .slice(readme.indexOf('<!-- bench:cost:start'), readme.indexOf('<!-- bench:cost:end -->'))
      .replace(/[ \t]+/g, ' ');
    const usd = (x: number) => `$${x.toFixed(2)}`;

    for (const row of results.cost.table) {
      expect(cost).toContain(`| ${n(row.servers)} | ${usd(row.list.total)} |`);
      expect(cost).toContain(`| ${usd(row.firstYear.total)} |`);
    }
  });
});
