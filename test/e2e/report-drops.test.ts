// Issue 19, item 4 ("2,616 dropped, 25 declared"): the built proxy under --report-on-overflow
// drop with a tiny queue, given a burst of calls, must declare in its report file exactly what
// it counts as dropped (mcp_sidecar_reports_dropped_total), keep its exit report (lifecycle
// reports have reserved room), and close the file with a checkpoint; `report verify` says how
// many the file declares dropped. Every call is either reported or declared: nothing vanishes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLI, ROOT, fixtureServer } from '../helpers/paths.js';
import { spawnProxy } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const SERVER = [process.execPath, join(ROOT, 'bench', 'server.mjs')];
const CALLS = 2000;
const QUEUE_LIMIT = 16;

function sample(body: string, series: string): number {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('report drops, end to end', () => {
  test('a burst under drop: the file declares exactly what the metrics count as dropped, and the exit report and closing checkpoint are there', async (t) => {
    const path = join(tempDir('report-drops'), 'reports.ndjson');
    const proxy = spawnProxy(SERVER, {
      logLevel: 'info',
      args: ['--admin', '127.0.0.1:0', '--report-file', path, '--report-on-overflow', 'drop', '--report-queue-limit', String(QUEUE_LIMIT), '--report-fsync', 'interval'],
    });
    t.after(() => proxy.dispose());
    const admin = (await proxy.waitForLog((r) => r.msg?.startsWith('admin endpoint listening') === true)).address as string;

    // One write: the server answers in chunks far larger than the queue, so reports overflow it.
    let burst = '';
    for (let id = 1; id <= CALLS; id++) burst += `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"call ${id}"}}}\n`;
    proxy.write(burst);
    const answered = new Set<unknown>();
    for (let i = 0; i < CALLS; i++) answered.add((await proxy.nextFrame(20_000)).json.id);
    assert.equal(answered.size, CALLS, 'every call answered once');

    // Every call has ended: no report can come now but the exit report, which has reserved room.
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    const dropped = sample(metrics, 'mcp_sidecar_reports_dropped_total');
    assert.ok(dropped > 0, `the burst overflowed a queue of ${QUEUE_LIMIT} (dropped: ${dropped})`);

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });

    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    const declared = lines.reduce((sum, line) => sum + ((line['dropped'] as number | undefined) ?? 0), 0);
    assert.equal(declared, dropped, 'every drop the metrics count is declared in the file');
    const invocations = lines.filter((line) => line['kind'] === 'invocation').length;
    assert.equal(invocations + declared, CALLS, 'each call is reported or declared dropped: none vanished');
    const lifecycle = lines.filter((line) => line['kind'] === 'lifecycle').map((line) => line['event']);
    assert.deepEqual(lifecycle, ['spawn', 'exit'], 'lifecycle reports are never dropped');
    assert.deepEqual([lines.at(-1)!['kind'], lines.at(-1)!['reason']], ['checkpoint', 'close']);

    const out = execFileSync(process.execPath, [CLI, 'report', 'verify', path], { cwd: ROOT, encoding: 'utf8' });
    assert.match(out, new RegExp(`^ok ${invocations + 2} reports, \\d+ checkpoints?, chain intact, ${dropped} declared dropped\\n`));
  });

  test('requests failed at stop after the exit report, dropped by a full queue: the closing checkpoint declares them', async (t) => {
    const path = join(tempDir('report-drops'), 'reports.ndjson');
    // The scripted server never answers tools/call: every call is still pending at stop, and ends
    // there (after the exit report) in one burst that a queue of 2 cannot take.
    const proxy = spawnProxy([process.execPath, fixtureServer('scripted-server.js')], {
      logLevel: 'info',
      args: ['--report-file', path, '--report-on-overflow', 'drop', '--report-queue-limit', String(QUEUE_LIMIT), '--drain-timeout-ms', '0'],
    });
    t.after(() => proxy.dispose());
    const PENDING = 300;
    let burst = '';
    for (let id = 1; id <= PENDING; id++) burst += `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{}}}\n`;
    proxy.write(`${burst}{"jsonrpc":"2.0","id":"last","method":"ping"}\n`);
    assert.equal((await proxy.nextFrame()).json.id, 'last', 'the server read every call before the ping');

    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null });
    const answers = [];
    for (let i = 0; i < PENDING; i++) answers.push((await proxy.nextFrame()).json);
    assert.equal(new Set(answers.map((a) => a.id)).size, PENDING, 'every pending call was answered at stop');

    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    const closing = lines.at(-1)!;
    assert.deepEqual([closing['kind'], closing['reason']], ['checkpoint', 'close']);
    assert.ok((closing['dropped'] as number) >= 1, `the closing checkpoint declares the last drops (${String(closing['dropped'])})`);
    const declared = lines.reduce((sum, line) => sum + ((line['dropped'] as number | undefined) ?? 0), 0);
    const invocations = lines.filter((line) => line['kind'] === 'invocation').length;
    assert.equal(invocations + declared, PENDING + 1, 'each call (and the ping) is reported or declared dropped');
    assert.ok(lines.some((line) => line['kind'] === 'lifecycle' && line['event'] === 'exit'), 'the exit report is there');

    const out = execFileSync(process.execPath, [CLI, 'report', 'verify', '--require-closed', path], { cwd: ROOT, encoding: 'utf8' });
    assert.match(out, new RegExp(`^ok \\d+ reports, \\d+ checkpoints?, chain intact, ${declared} declared dropped\\n`));
  });
});
