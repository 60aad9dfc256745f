// Writing reports is on the proxy's path: it must not load zod (~50 ms at start) or the policy
// machinery. Verify and the schema load them when called. Runs the built component (npm test builds).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { ROOT } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/temp-dir.js';

function modulesLoaded(script: string): string[] {
  const dir = tempDir('lazy-report');
  const record = join(dir, 'loaded.txt');
  writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(${JSON.stringify(record)}, url + '\\n'); return next(url, context); }\n`);
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  const index = pathToFileURL(join(ROOT, 'dist', 'components', 'execution-report', 'index.js')).href;
  const main = join(dir, 'main.mjs');
  writeFileSync(main, `const r = await import(${JSON.stringify(index)});\nconst file = ${JSON.stringify(join(dir, 'r.ndjson'))};\n${script}\n`);
  const result = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), main], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return readFileSync(record, 'utf8').split('\n').filter(Boolean);
}

const heavy = (urls: string[]) => urls.filter((url) => /node_modules\/(zod|yaml|re2js)\/|components\/(policy\/|middleware-engine)/.test(url));

describe('execution reports, lazy loading', () => {
  it('should write reports (digests, chain, file sink) without loading zod or the policy machinery', () => {
    const loaded = modulesLoaded(`
const sink = r.openReportFileSink({ path: file }, { error() {}, warn() {} });
const reporter = r.createReporter(r.createReportChain(), sink);
reporter.report({ kind: 'invocation', direction: 'client-to-server', method: 'tools/call', argumentsDigest: r.argumentsDigest({ a: 1 }),
  policy: { name: 'p', revision: '1', digest: 'sha256:' + '0'.repeat(64) }, mode: 'enforce', decisions: [], outcome: 'forwarded', generation: 0 });
await reporter.close();`);
    assert.deepEqual(heavy(loaded), []);
    assert.ok(loaded.some((url) => url.endsWith('/execution-report/chain.js')));
  });

  it('should load the schema when verifying', () => {
    const loaded = modulesLoaded(`
const sink = r.openReportFileSink({ path: file }, { error() {}, warn() {} });
await sink.close();
const result = await r.verifyReportFiles([file]);
if (!result.ok) process.exit(3);`);
    assert.ok(loaded.some((url) => url.includes('/node_modules/zod/')), 'zod');
  });
});
