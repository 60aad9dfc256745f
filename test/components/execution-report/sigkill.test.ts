// A proxy killed with SIGKILL in the middle of a busy session must leave a report file whose
// every complete line verifies; at most the last line is torn. The next session continues the
// chain from the last complete report.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { verifyReportFiles } from '../../../components/execution-report/index.js';
import { ROOT } from '../../helpers/paths.js';
import { tempDir } from './reports.js';

const WRITER = join(ROOT, 'test', 'fixtures', 'reports', 'writer.ts');

/** Starts the writer, lets it write for `ms` after its first reports landed, and SIGKILLs it. */
async function writeThenKill(path: string, ms: number): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stdout = '';
  const exited = once(child, 'exit');
  for await (const chunk of child.stdout) {
    stdout += (chunk as Buffer).toString();
    if (stdout.includes('\n')) break;
  }
  assert.match(stdout, /^ready \d+\n/, `the writer did not start: ${stderr}`);
  await sleep(ms);
  child.kill('SIGKILL');
  const [code, signal] = await exited;
  assert.equal(signal, 'SIGKILL', `exit ${code}: ${stderr}`);
  return stderr;
}

describe('a report writer killed with SIGKILL', () => {
  it('should leave a file whose every complete line verifies, at most the last one torn, and the next session should continue the chain', async () => {
    const path = join(tempDir(), 'killed.ndjson');
    await writeThenKill(path, 200);
    const first = await verifyReportFiles([path]);
    assert.equal(first.ok, true, JSON.stringify(first.problems.slice(0, 3)));
    assert.ok(first.problems.length <= 1 && first.problems.every((p) => p.kind === 'torn'));
    assert.ok(first.reports > 100, `only ${first.reports} reports in 200 ms`);
    const text = readFileSync(path, 'utf8');
    assert.equal(first.torn, !text.endsWith('\n'));

    const stderr = await writeThenKill(path, 100); // a second session on the same file, killed too
    if (first.torn) assert.match(stderr, /incomplete line/);
    const both = await verifyReportFiles([path]);
    assert.equal(both.ok, true, JSON.stringify(both.problems.slice(0, 3)));
    assert.equal(both.first?.seq, 1);
    assert.ok(both.reports > first.reports, 'the second session appended to the same chain');
  });
});
