// Prints `N passed, N failed[, N skipped]` from vitest's JSON report; exits 1 when the report is missing.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The counts of a vitest JSON report. Failed = failed tests, plus each test file that failed without a failed test
 * (it did not load, or a hook threw): counted once. `numFailedTestSuites` is not used: it also counts every
 * `describe` block that holds a failed test.
 */
export function countsOf(report) {
  const files = report.testResults ?? [];
  const failedTests = files.flatMap((f) => f.assertionResults ?? []).filter((a) => a.status === 'failed').length;
  const brokenFiles = files.filter(
    (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
  ).length;
  return {
    passed: report.numPassedTests ?? 0,
    failed: failedTests + brokenFiles,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
  };
}

export function summaryLine(report) {
  const { passed, failed, skipped } = countsOf(report);
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? 'reports/vitest.json';
  if (!existsSync(file)) {
    console.log('ci: no test report (type-check or lint failed before the tests ran)');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  console.log(summaryLine(JSON.parse(readFileSync(file, 'utf8'))));
}
