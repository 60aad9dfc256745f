// `mcp-sidecar report verify` through the built CLI, on a file the report chain wrote.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { chainLines, transcript } from '../components/execution-report/reports.js';
import { tempDir } from '../helpers/temp-dir.js';

const verify = (...files: string[]) => spawnSync(process.execPath, [CLI, 'report', 'verify', ...files], { encoding: 'utf8' });

describe('mcp-sidecar report verify', () => {
  const file = join(tempDir('report-cli'), 'reports.ndjson');
  writeFileSync(file, `${chainLines(transcript()).join('\n')}\n`);

  test('an intact file: exit 0 and the count', () => {
    const result = verify(file);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /ok \d+ reports, chain intact/);
  });

  test('an edited field: exit 1 naming the file and line', () => {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[3] = lines[3]!.replace('"outcome":"blocked"', '"outcome":"forwarded"');
    const tampered = `${file}.tampered`;
    writeFileSync(tampered, lines.join('\n'));
    const result = verify(tampered);
    assert.equal(result.status, 1);
    assert.match(result.stdout + result.stderr, new RegExp(`${tampered.replaceAll('.', '\\.')}:4: digest`));
  });

  test('a duplicated key ahead of the real one (the digest still matches): exit 1, noncanonical, naming the line and byte', () => {
    const lines = readFileSync(file, 'utf8').split('\n');
    const line = lines[4]!;
    lines[4] = line.replace('"outcome":"forwarded"', '"outcome":"blocked","outcome":"forwarded"');
    assert.notEqual(lines[4], line);
    const doubled = `${file}.doubled`;
    writeFileSync(doubled, lines.join('\n'));
    const result = verify(doubled);
    assert.equal(result.status, 1);
    const at = Buffer.byteLength(line.slice(0, line.indexOf('"outcome":"') + '"outcome":"'.length));
    const name = doubled.replaceAll('.', '\\.');
    assert.match(result.stderr, new RegExp(`^${name}:5: noncanonical: not the canonical encoding of its content, from byte ${at} \\(outcome\\): `));
    assert.match(result.stderr, new RegExp(`FAILED: 1 problem in 12 reports; the first broken line is ${name}:5 \\(noncanonical\\)\n$`));
  });

  test('no file: usage, exit 2', () => {
    assert.equal(verify().status, 2);
  });
});
