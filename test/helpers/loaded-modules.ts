// Which modules the built proxy loads for one ping: a module-load hook records every ES module,
// and require's cache (pino, re2js's CommonJS build) is listed at exit. The lazy-loading tests
// hold the frame path to what it needs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT } from './paths.js';
import { tempDir } from './temp-dir.js';

/** The URLs of every module the proxy loads with `args`, serving the demo server one ping. */
export function modulesLoaded(args: string[], logLevel = 'warn'): string[] {
  const dir = tempDir('lazy');
  const record = join(dir, 'loaded.txt');
  writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(${JSON.stringify(record)}, url + '\\n'); return next(url, context); }\n`);
  writeFileSync(join(dir, 'register.mjs'), `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => appendFileSync(${JSON.stringify(record)}, Object.keys(cache).map((file) => pathToFileURL(file).href + '\\n').join('')));\n`);
  const result = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), CLI, '--proxy', 'node demo/mcp-middleware-platform/simple-mcp-server.js', '--allow', 'node demo/', '--log-level', logLevel, ...args], {
    cwd: ROOT, input: '{"jsonrpc":"2.0","id":1,"method":"ping"}\n', encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /"result":\{\}/);
  return readFileSync(record, 'utf8').split('\n').filter(Boolean);
}
