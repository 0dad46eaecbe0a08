import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { formatReport, runSoak } from '../harness/soak.js';

/*
 * The soak (1,000 cycles of a seeded random scenario with faults, real parts, invariants after every cycle), as CI
 * runs it. Another seed: `npm run soak -- --seed N --cycles N`.
 */
describe('soak', () => {
  it('1,000 cycles with faults: nothing lost, no invariant broken, every duplicate explained by a crash', async () => {
    const report = await runSoak({ seed: 20261128, cycles: 1000, ddbEndpoint: inject('ddbEndpoint') });
    const text = formatReport(report);
    console.log(text);
    mkdirSync('reports', { recursive: true });
    writeFileSync('reports/soak.txt', `${text}\n`);

    expect(report.lost).toEqual([]);
    expect(report.violations).toEqual([]);
    expect(Object.values(report.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(300);
    expect(report.events).toBeGreaterThan(200);
    expect(Object.keys(report.duplicates.causes).filter((c) => c === 'unexplained')).toEqual([]);
  }, 600_000);
});
