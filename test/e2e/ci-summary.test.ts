import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without type declarations
import { summaryLine } from '../../.ci/summary.mjs';

const run = promisify(execFile);
let dir: string;
let report: unknown;

/** A real vitest JSON report of a run with 3 passes, 2 failures inside nested describes, and a file that fails to load. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ci-summary-'));
  await writeFile(join(dir, 'vitest.config.mjs'), 'export default { test: { include: ["*.test.mjs"] } };\n');
  await writeFile(
    join(dir, 'a.test.mjs'),
    `import { describe, it, expect } from 'vitest';
describe('outer', () => {
  describe('inner', () => {
    it('passes', () => expect(1).toBe(1));
    it('fails once', () => expect(1).toBe(2));
    it('fails twice', () => expect(1).toBe(3));
  });
  it('passes too', () => expect(1).toBe(1));
});
`,
  );
  await writeFile(join(dir, 'b.test.mjs'), "import { it } from 'vitest';\nit('passes', () => {});\n");
  await writeFile(join(dir, 'c.test.mjs'), "import './missing-module.mjs';\n");
  const out = join(dir, 'report.json');
  const vitest = join(process.cwd(), 'node_modules', 'vitest', 'vitest.mjs');
  await run(process.execPath, [vitest, 'run', '--root', dir, '--reporter=json', `--outputFile=${out}`], {
    cwd: dir,
  }).catch(() => undefined); // exits 1: tests fail on purpose
  report = JSON.parse(await readFile(out, 'utf8'));
}, 60_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('.ci/summary.mjs', () => {
  it('counts failed tests and a file that failed to load once each, not the describe blocks around them', () => {
    expect(summaryLine(report)).toBe('3 passed, 3 failed');
  });
});
