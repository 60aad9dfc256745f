// Issue 19, "a report before its answer": the built proxy, SIGKILLed at seeded random moments
// during 64-in-flight traffic to the bench server, must leave a report in the file (or a rotated
// one) for every response the client received, matched by request id: with --report-fsync
// always and interval, with and without rotation. 20 kills per fsync mode (10 without rotation,
// 10 rotating every 64 KiB), each on a fresh file.
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

const SERVER = commandLine([process.execPath, join(ROOT, 'bench', 'server.mjs')]);
const IN_FLIGHT = 64;
const KILLS_PER_CASE = 10;
const ROTATE_KEEP = 200; // enough that no rotated file of one run is deleted before it is read

interface KillResult {
  readonly answered: string[];
  readonly reported: Set<string>;
}

const call = (id: number): string => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"call ${id}"}}}\n`;

/** The request ids of the invocation reports in every complete line of the file and its rotated files. */
function reportedIds(path: string): Set<string> {
  const ids = new Set<string>();
  const files = [path];
  for (let i = 1; i <= ROTATE_KEEP; i++) if (existsSync(`${path}.${i}`)) files.push(`${path}.${i}`);
  for (const file of files) {
    if (!existsSync(file)) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.pop(); // what follows the last newline: empty, or a torn line
    for (const line of lines) {
      const report = JSON.parse(line) as { kind: string; requestId?: string };
      if (report.kind === 'invocation' && report.requestId !== undefined) ids.add(report.requestId);
    }
  }
  return ids;
}

/** Runs the proxy with 64 calls in flight, SIGKILLs it `killAfterMs` after its first answer, and collects what the client got. */
async function runAndKill(path: string, fsync: 'always' | 'interval', rotate: boolean, killAfterMs: number): Promise<KillResult> {
  const args = [
    CLI, '--proxy', SERVER, '--stdio', '--allow', ALLOW_REPO_SCRIPTS, '--log-level', 'info',
    '--report-file', path, '--report-fsync', fsync,
    ...(rotate ? ['--report-rotate-bytes', '64KiB', '--report-rotate-keep', String(ROTATE_KEEP)] : []),
  ];
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {}); // EPIPE once it is killed
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  const answered: string[] = [];
  let nextId = 1;
  let partial = '';
  let killTimer: NodeJS.Timeout | undefined;
  const stdoutEnded = once(child.stdout, 'end');
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    let more = '';
    for (const line of lines) {
      const frame = JSON.parse(line) as { id?: unknown };
      if (frame.id === undefined || frame.id === null) continue;
      answered.push(JSON.stringify(frame.id));
      more += call(nextId++); // one answered, one more sent: 64 stay in flight
    }
    if (more.length > 0 && child.exitCode === null && child.signalCode === null) child.stdin.write(more);
    if (killTimer === undefined && answered.length > 0) killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  });
  let first = '';
  for (; nextId <= IN_FLIGHT; nextId++) first += call(nextId);
  child.stdin.write(first);
  const [code, signal] = await exited;
  await stdoutEnded;
  clearTimeout(killTimer);
  // The bench server ends on its stdin's EOF; killed here in case it has not yet.
  const started = /"pid":(\d+)[^\n]*"msg":"started the MCP server"/.exec(stderr);
  if (started !== null) forceKill(Number(started[1]), true);
  assert.equal(signal, 'SIGKILL', `the proxy ended by itself (exit ${code}): ${stderr.slice(-2000)}`);
  return { answered, reported: reportedIds(path) };
}

describe('every answer the client received has its report, SIGKILL at any moment', () => {
  for (const fsync of ['always', 'interval'] as const) {
    for (const rotate of [false, true]) {
      it(`--report-fsync ${fsync}${rotate ? ', rotating every 64 KiB' : ''}: ${KILLS_PER_CASE} kills`, async (t) => {
        const dir = tempDir('report-durability');
        // A fixed schedule per case: the kill falls 20–250 ms after the first answer.
        const random = seededRandom(fsync === 'always' ? (rotate ? 1902 : 1901) : (rotate ? 1904 : 1903));
        let answeredTotal = 0;
        let rotatedRuns = 0;
        const missing: string[] = [];
        for (let kill = 0; kill < KILLS_PER_CASE; kill++) {
          const killAfterMs = 20 + Math.floor(random() * 230);
          const path = join(dir, `kill${kill}.ndjson`);
          const { answered, reported } = await runAndKill(path, fsync, rotate, killAfterMs);
          answeredTotal += answered.length;
          const unreported = answered.filter((id) => !reported.has(id));
          if (unreported.length > 0) missing.push(`kill ${kill} (after ${killAfterMs} ms): ${unreported.length} of ${answered.length} answers have no report, e.g. ids ${unreported.slice(0, 5).join(', ')}`);
          if (existsSync(`${path}.1`)) rotatedRuns += 1;
        }
        t.diagnostic(`${answeredTotal} answers received over ${KILLS_PER_CASE} kills${rotate ? `, ${rotatedRuns} runs rotated` : ''}`);
        assert.ok(answeredTotal >= KILLS_PER_CASE * IN_FLIGHT, `only ${answeredTotal} answers in ${KILLS_PER_CASE} runs`);
        if (rotate) assert.ok(rotatedRuns >= KILLS_PER_CASE / 2, `the file rotated in only ${rotatedRuns} of ${KILLS_PER_CASE} runs`);
        assert.deepEqual(missing, [], `answers without a report (${answeredTotal} answers in all)`);
      });
    }
  }
});
