// Prints the closing line CI reads ("N passed, N failed, N skipped") from vitest's JSON report,
// or from the watchdog's verdict (watchdog.json next to it) when the watchdog stopped the run.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readWatchdogVerdict } from './test-watchdog.mjs';

const file = process.argv[2] ?? 'test-results/results.json';
const verdict = readWatchdogVerdict(dirname(file));
if (verdict !== null) {
  console.log(`${verdict.passed} passed, ${verdict.failed} failed` + (verdict.skipped ? `, ${verdict.skipped} skipped` : ''));
  console.error(`the watchdog stopped the run: no progress for ${verdict.limitSeconds} s in ${verdict.stuck.join(', ')}`);
  process.exit(1);
}
if (!existsSync(file)) {
  console.log('0 passed, 1 failed');
  console.error(`no test report at ${file}: the test run did not complete`);
  process.exit(1);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
// Which LDAP backend the integration tests used (written by test/harness/ldap-backend-setup.ts).
const backend = join(dirname(file), 'ldap-backend.txt');
if (existsSync(backend)) console.log(readFileSync(backend, 'utf8').trim());
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
// A suite that failed to load counts as a failure even when it ran no test.
const failed = r.numFailedTests + (r.numFailedTestSuites > 0 && r.numFailedTests === 0 ? r.numFailedTestSuites : 0);
console.log(`${r.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
process.exit(failed > 0 || r.numPassedTests === 0 ? 1 : 0);
