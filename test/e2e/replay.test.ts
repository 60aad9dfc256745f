// `mcp-sidecar replay` as a process, on fixture transcripts of one session recorded under two
// policies that differ by one rule (test/fixtures/transcripts/generate.ts): its output against
// golden files, byte for byte, and its exit codes. The subcommand's wiring in cli.ts calls the
// same runReplay; this runs it through a small entry script, so no build is needed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/paths.js';

const FIXTURES = 'test/fixtures/transcripts';
const fixture = (name: string): string => `${FIXTURES}/${name}`;

const replay = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', fixture('replay-cli.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });

describe('mcp-sidecar replay', () => {
  test('a rule added: the new denies, as the golden text says, the same on every run', () => {
    const args = ['--transcript', fixture('session-base.ndjson'), '--policy', fixture('strict.yaml')];
    const first = replay(...args);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, readFileSync(join(ROOT, fixture('base-under-strict.txt')), 'utf8'));
    assert.equal(replay(...args).stdout, first.stdout);
  });

  test('a rule removed: the denies that go away, as the golden JSON says', () => {
    const result = replay('--transcript', fixture('session-strict.ndjson'), '--policy', fixture('base.yaml'), '--json');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, readFileSync(join(ROOT, fixture('strict-under-base.json')), 'utf8'));
  });

  test('--fail-on new-denies: exit 1 for the added rule, 0 for the removed one', () => {
    const added = replay('--transcript', fixture('session-base.ndjson'), '--policy', fixture('strict.yaml'), '--fail-on', 'new-denies');
    assert.equal(added.status, 1);
    assert.match(added.stderr, /2 invocations would newly be denied or rate-limited/);
    assert.equal(replay('--transcript', fixture('session-strict.ndjson'), '--policy', fixture('base.yaml'), '--fail-on', 'new-denies').status, 0);
  });

  test('the recorded transcripts hold none of the session\'s secrets', () => {
    for (const name of ['session-base.ndjson', 'session-strict.ndjson']) {
      const bytes = readFileSync(join(ROOT, fixture(name)), 'utf8');
      for (const secret of ['sk-fixture-0123456789', 'AKIAIOSFODNN7EXAMPLE', 'fixture-hunter2', 'fixture0123456789token']) assert.ok(!bytes.includes(secret), `${secret} in ${name}`);
    }
  });

  test('bad input: exit 2 and a message on stderr, nothing on stdout', () => {
    for (const args of [['--transcript', fixture('missing.ndjson'), '--policy', fixture('base.yaml')], ['--transcript', fixture('base.yaml'), '--policy', fixture('base.yaml')], ['--frobnicate']]) {
      const result = replay(...args);
      assert.equal(result.status, 2, args.join(' '));
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^replay: /);
    }
  });
});
