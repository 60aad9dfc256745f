// Runs every test/**/*.test.ts with node:test (through tsx). Node 20's runner takes no globs,
// so the files are listed here. Extra arguments go to node (e.g. --test-name-pattern=framing).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : findTests(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = findTests('test').sort();
// Node's default runs test files one at a time on a 2-core machine (cores − 1): most e2e files
// wait on child processes and timers, so two at once take ~3.5 min instead of ~5.5 (two clean
// runs, no failure). Capped at 4: more parallel processes only add contention for the timing-
// bounded e2e tests. An explicit --test-concurrency among the arguments wins.
const concurrency = process.argv.some((arg) => arg.startsWith('--test-concurrency')) ? [] : [`--test-concurrency=${Math.min(4, Math.max(2, availableParallelism()))}`];
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...concurrency, ...process.argv.slice(2), ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
