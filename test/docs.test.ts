import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../components/errors/index.js';
import { LIST_SETTINGS, SCALAR_SETTINGS } from '../components/config/index.js';
import { EXIT_CODES } from '../components/runtime/index.js';

const read = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('docs', () => {
  it('should list every error code of the catalogue in docs/errors.md, with its JSON-RPC code and category, and no other', () => {
    const doc = read('docs/errors.md');
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\``));
      assert.ok(row, `${code} has a row in docs/errors.md`);
      if ('rpcCode' in spec) assert.ok(row.includes(`| ${spec.rpcCode} |`), `${code} row shows ${spec.rpcCode}`);
      assert.ok(row.includes(`| ${spec.category} |`), `${code} row shows ${spec.category}`);
    }
    const documented = [...doc.matchAll(/^\| `(SIDECAR_ERR_[A-Z_]+)`/gm)].map((m) => m[1]);
    assert.deepEqual(documented.filter((code) => !(code! in ERROR_CODES)), [], 'docs list no code the catalogue lacks');
  });

  it('should list every component folder in docs/architecture.md\'s table, and no folder that is gone', () => {
    const table = read('docs/architecture.md').split('## Components')[1]!.split('\n## ')[0]!;
    const listed = [...table.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]!).sort();
    const folders = readdirSync(new URL('../components', import.meta.url), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    assert.deepEqual(listed, folders);
  });

  it('should list every exit code in docs/operations.md', () => {
    const section = read('docs/operations.md').split('## Exit codes')[1] ?? '';
    for (const code of Object.values(EXIT_CODES)) assert.match(section, new RegExp(`^\\| ${code} \\|`, 'm'), `exit code ${code}`);
  });

  it('should document every flag and environment variable in the README and in --help', () => {
    const readme = read('README.md');
    const usage = read('components/config/usage.ts');
    const names = ['--proxy', '--stdio', '--set-env', ...[...SCALAR_SETTINGS, ...LIST_SETTINGS].flatMap((s) => [`--${s.flag}`, s.env])];
    for (const name of names) {
      assert.ok(readme.includes(`\`${name}`), `README mentions ${name}`);
      assert.ok(usage.includes(name), `--help mentions ${name}`);
    }
  });
});
