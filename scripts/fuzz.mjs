// `npm run fuzz -- --seconds 600 --seed N`: the one-reading fuzzer (issue 12) for longer than the
// suite runs it. The fuzzer is TypeScript (test/fuzz/main.ts): run through tsx, arguments passed on.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../test/fuzz/main.ts', import.meta.url));
const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
