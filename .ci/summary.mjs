// Prints `N passed, N failed[, N skipped]` from vitest's JSON report; exits 1 when the report is missing.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'reports/vitest.json';
if (!existsSync(file)) {
  console.log('ci: no test report (type-check or lint failed before the tests ran)');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, 'utf8'));
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const failed = report.numFailedTests + (report.numFailedTestSuites ?? 0) - countSuitesWithFailedTests(report);
console.log(`${report.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);

// A file that fails to load counts as a failed suite with no failed test in it; count it once as a failure.
function countSuitesWithFailedTests(r) {
  return (r.testResults ?? []).filter(
    (f) => f.status === 'failed' && f.assertionResults.some((a) => a.status === 'failed'),
  ).length;
}
