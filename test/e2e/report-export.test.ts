// Issue 17, "audit export with nothing lost": the built proxy exports its report file to an
// in-test OTLP/HTTP receiver that sometimes fails (503) or stalls, is SIGKILLed at seeded random
// moments during 64-in-flight traffic (22 runs on one report file, rotating every 64 KiB with
// --report-rotate-keep 2), while the receiver is also down for a stretch of runs and then back.
// A last run stops cleanly. Then the acknowledged records, de-duplicated by digest, must be
// exactly the chain: seq 1 … the last line of the file, each linked to the one before, none
// missing, and every line still in the files among them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ALLOW_REPO_SCRIPTS, CLI, ROOT, commandLine } from '../helpers/paths.js';
import { forceKill } from '../helpers/proc-table.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startOtlpReceiver, type Answer, type OtlpReceiver } from '../components/report-export/otlp-receiver.js';

const SERVER = commandLine([process.execPath, join(ROOT, 'bench', 'server.mjs')]);
const IN_FLIGHT = 64;
const KILLS = 22;
/** Runs during which the receiver is not listening at all (connection refused). */
const DOWN_RUNS = new Set([8, 9, 10]);

const call = (id: number): string => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"call ${id}"}}}\n`;

interface Report { readonly seq: number; readonly digest: string; readonly prevDigest: string | null }

/** Every complete line of the report file and its rotated files. */
function linesInFiles(path: string): Report[] {
  const reports: Report[] = [];
  for (let i = 0, missing = 0; missing < 8; i++) {
    const file = i === 0 ? path : `${path}.${i}`;
    if (!existsSync(file)) {
      missing += 1;
      continue;
    }
    missing = 0;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.pop(); // empty, or a torn line
    for (const line of lines) reports.push(JSON.parse(line) as Report);
  }
  return reports;
}

/** Runs the proxy: SIGKILLed `killAfterMs` after its first answer, or (undefined) sent 200 calls, then `beforeEnd`, then its stdin ended. */
async function runProxy(path: string, url: string, killAfterMs: number | undefined, beforeEnd?: () => Promise<void>): Promise<number> {
  const args = [
    CLI, '--proxy', SERVER, '--stdio', '--allow', ALLOW_REPO_SCRIPTS, '--log-level', 'info',
    '--report-file', path, '--report-rotate-bytes', '64KiB', '--report-rotate-keep', '2',
    '--report-export', url, '--report-export-interval-ms', '20', '--report-export-batch', '200', '--report-export-timeout-ms', '300',
  ];
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  let answered = 0;
  let nextId = 1;
  let partial = '';
  let killTimer: NodeJS.Timeout | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    let more = '';
    for (const line of lines) {
      const frame = JSON.parse(line) as { id?: unknown };
      if (frame.id === undefined || frame.id === null) continue;
      answered += 1;
      // Killed runs keep 64 in flight; the clean run sends 200 calls, then ends its stdin.
      if (killAfterMs !== undefined || nextId <= 200) more += call(nextId++);
      else if (answered === nextId - 1) void (beforeEnd?.() ?? Promise.resolve()).then(() => child.stdin.end());
    }
    if (more.length > 0 && child.exitCode === null && child.signalCode === null) child.stdin.write(more);
    if (killAfterMs !== undefined && killTimer === undefined && answered > 0) killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  });
  let first = '';
  for (; nextId <= IN_FLIGHT; nextId++) first += call(nextId);
  child.stdin.write(first);
  const [code, signal] = await exited;
  clearTimeout(killTimer);
  const started = /"pid":(\d+)[^\n]*"msg":"started the MCP server"/.exec(stderr);
  if (started !== null) forceKill(Number(started[1]), true);
  if (killAfterMs !== undefined) assert.equal(signal, 'SIGKILL', `the proxy ended by itself (exit ${code}): ${stderr.slice(-2000)}`);
  else assert.equal(code, 0, `the clean run exited ${code} ${signal}: ${stderr.slice(-2000)}`);
  return answered;
}

describe('report export: nothing lost across SIGKILLs, failures, stalls, rotation and an outage', () => {
  it(`${KILLS} kills, then a clean stop: the acknowledged records are exactly the chain`, async (t) => {
    const dir = tempDir('report-export');
    const path = join(dir, 'reports.ndjson');
    const random = seededRandom(1717);
    // 15 % of requests fail with 503, 5 % stall past the proxy's 300 ms deadline.
    const answer = (): Answer => {
      const roll = random();
      return roll < 0.15 ? 'fail' : roll < 0.2 ? 'stall' : 'ok';
    };
    let receiver: OtlpReceiver = await startOtlpReceiver(answer);
    const url = receiver.url;
    const port = Number(new URL(url).port);
    const acknowledged: OtlpReceiver['acknowledged'] = [];
    let requests = 0;
    const retire = async (): Promise<void> => {
      acknowledged.push(...receiver.acknowledged);
      requests += receiver.requests.length;
      await receiver.close();
    };
    let answeredTotal = 0;
    let up = true;
    for (let run = 0; run < KILLS; run++) {
      if (DOWN_RUNS.has(run) && up) {
        await retire();
        up = false;
      } else if (!DOWN_RUNS.has(run) && !up) {
        receiver = await startOtlpReceiver(answer, port);
        up = true;
      }
      answeredTotal += await runProxy(path, url, 20 + Math.floor(random() * 230));
    }
    if (!up) receiver = await startOtlpReceiver(answer, port);
    // The clean run: the receiver answers every request, so what remains and the closing checkpoint go out.
    receiver.answer = () => 'ok';
    // It ends once the export has caught up with the file (what the killed runs left, and its own), so the last pass has only the closing lines to ship.
    const caughtUp = async (): Promise<void> => {
      const target = linesInFiles(path).reduce((max, report) => Math.max(max, report.seq), 0);
      for (let waited = 0; waited < 30_000; waited += 50) {
        if (receiver.acknowledged.some((record) => record.seq === target)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    answeredTotal += await runProxy(path, url, undefined, caughtUp);
    await retire();

    const inFiles = linesInFiles(path);
    const last = inFiles.reduce((max, report) => (report.seq > max.seq ? report : max));
    const bySeq = new Map<number, { digest: string; body: string }>();
    const byDigest = new Map<string, string>();
    for (const record of acknowledged) {
      assert.ok(record.digest !== undefined && record.seq !== undefined, `a record without digest or seq: ${record.body.slice(0, 100)}`);
      const seen = byDigest.get(record.digest);
      if (seen !== undefined) assert.equal(record.body, seen, `two bodies for ${record.digest}`);
      byDigest.set(record.digest, record.body);
      bySeq.set(record.seq, { digest: record.digest, body: record.body });
    }
    t.diagnostic(`${answeredTotal} answers, ${last.seq} reports, ${acknowledged.length} records acknowledged (${acknowledged.length - byDigest.size} re-sent), ${requests} requests`);
    // Exactly the chain: one record per seq 1 … last, each naming the one before, none beyond.
    assert.equal(byDigest.size, last.seq, 'as many distinct records as reports in the chain');
    let previous: string | null = null;
    for (let seq = 1; seq <= last.seq; seq++) {
      const record = bySeq.get(seq);
      assert.ok(record !== undefined, `report seq ${seq} was never acknowledged`);
      const report = JSON.parse(record.body) as Report;
      assert.equal(report.prevDigest, previous, `seq ${seq} links to the record before it`);
      previous = report.digest;
    }
    assert.equal(previous, last.digest, 'the last acknowledged record is the last line of the file');
    for (const report of inFiles) assert.ok(byDigest.has(report.digest), `seq ${report.seq} in the files was acknowledged`);
    assert.equal((JSON.parse(bySeq.get(last.seq)!.body) as { kind: string; reason?: string }).reason, 'close', 'the closing checkpoint was exported at the clean stop');
    assert.ok(existsSync(`${path}.1`), 'the file rotated');
  });
});
