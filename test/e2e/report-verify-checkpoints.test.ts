// Issue 17: "a restart starts with a chain_resumed record" and "`report verify --checkpoints
// <exported copy>` shows a file cut after its last exported checkpoint", through the built CLI.
// Two clean runs of the proxy on one signed report file, exporting to an in-test OTLP receiver;
// the copy is what the receiver acknowledged (bodies de-duplicated by digest, in seq order).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ALLOW_REPO_SCRIPTS, CLI, ROOT, commandLine } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startOtlpReceiver, type OtlpReceiver } from '../components/report-export/otlp-receiver.js';

const SERVER = commandLine([process.execPath, join(ROOT, 'bench', 'server.mjs')]);
const CALLS = 25;

interface Line { readonly kind: string; readonly seq: number; readonly digest: string; readonly prevDigest: string | null; readonly event?: string; readonly reason?: string; readonly detail?: Record<string, unknown> }

const linesOf = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const verify = (...args: string[]) => spawnSync(process.execPath, [CLI, 'report', 'verify', ...args], { encoding: 'utf8' });

/** One clean run: CALLS tools/call, every answer read, the export caught up with the file, then stdin ended. */
async function runProxy(path: string, keyPath: string, receiver: OtlpReceiver): Promise<void> {
  const args = [
    CLI, '--proxy', SERVER, '--stdio', '--allow', ALLOW_REPO_SCRIPTS, '--log-level', 'warn',
    '--report-file', path, '--report-signing-key', keyPath, '--report-checkpoint-every', '10',
    '--report-export', receiver.url, '--report-export-interval-ms', '20',
  ];
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  let answered = 0;
  let partial = '';
  const allAnswered = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      answered += lines.filter((line) => line.includes('"id":')).length;
      if (answered >= CALLS) resolve();
    });
  });
  let calls = '';
  for (let id = 1; id <= CALLS; id++) calls += `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"call ${id}"}}}\n`;
  child.stdin.write(calls);
  await allAnswered;
  // The export caught up with the file: the last pass at stop has only the closing lines to ship.
  const target = linesOf(path).map((line) => (JSON.parse(line) as Line).seq).at(-1)!;
  for (let waited = 0; waited < 20_000 && !receiver.acknowledged.some((record) => record.seq === target); waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.stdin.end();
  const [code] = await exited;
  assert.equal(code, 0, `the run exited ${String(code)}: ${stderr.slice(-2000)}`);
}

describe('report verify --checkpoints against an exported copy, and chain_resumed across runs', () => {
  it('should verify the file against the copy, and fail the file cut after its last exported checkpoint', async (t) => {
    const dir = tempDir('report-verify-checkpoints');
    const path = join(dir, 'reports.ndjson');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyPath = join(dir, 'report.key');
    const publicPath = join(dir, 'report.pub');
    writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());

    await runProxy(path, keyPath, receiver);
    const firstRun = linesOf(path).map((line) => JSON.parse(line) as Line);
    await runProxy(path, keyPath, receiver);
    const lines = linesOf(path);
    const all = lines.map((line) => JSON.parse(line) as Line);

    // The restart is a line of the chain: the second run's first line names the first run's last.
    const previous = firstRun.at(-1)!;
    assert.deepEqual([previous.kind, previous.reason], ['checkpoint', 'close']);
    const resumed = all[firstRun.length]!;
    assert.deepEqual([resumed.kind, resumed.event, resumed.detail, resumed.prevDigest, resumed.seq],
      ['lifecycle', 'chain_resumed', { previousDigest: previous.digest, previousSeq: previous.seq }, previous.digest, previous.seq + 1]);
    assert.equal(all.filter((line) => line.event === 'chain_resumed').length, 1, 'only a continued chain starts with one');

    // The copy: every acknowledged body once, in seq order.
    const bySeq = new Map<number, string>();
    for (const record of receiver.acknowledged) bySeq.set(record.seq!, record.body);
    const copy = join(dir, 'exported.ndjson');
    writeFileSync(copy, `${[...bySeq.keys()].sort((a, b) => a - b).map((seq) => bySeq.get(seq)!).join('\n')}\n`);
    const lastExported = all.at(-1)!;
    assert.equal(bySeq.get(lastExported.seq), lines.at(-1), 'the closing checkpoint was exported at the clean stop');

    const intact = verify(path, '--public-key', publicPath, '--require-closed', '--checkpoints', copy);
    assert.equal(intact.status, 0, intact.stderr);
    assert.match(intact.stdout, new RegExp(`reaches the last exported checkpoint, seq ${lastExported.seq} \\(${lastExported.digest}, `));

    // Cut after the second run's last count checkpoint: what remains is intact and signed, but
    // the exported closing checkpoint is missing from it.
    const lastCount = all.findLastIndex((line) => line.kind === 'checkpoint' && line.reason === 'count');
    assert.ok(lastCount > firstRun.length, 'the second run wrote a count checkpoint');
    const cut = join(dir, 'cut.ndjson');
    writeFileSync(cut, `${lines.slice(0, lastCount + 2).join('\n')}\n`);
    const alone = verify(cut, '--public-key', publicPath);
    assert.equal(alone.status, 0, `alone, the cut file verifies: ${alone.stderr}`);

    const result = verify(cut, '--public-key', publicPath, '--checkpoints', copy);
    assert.equal(result.status, 1, result.stdout);
    const end = all[lastCount + 1]!;
    assert.match(result.stderr, new RegExp(`cut\\.ndjson:${lastCount + 2}: truncated: the files end at seq ${end.seq} \\(${end.digest}, .*\\), `
      + `before the last exported checkpoint, seq ${lastExported.seq} \\(${lastExported.digest}, .*exported\\.ndjson:${bySeq.size}\\): the file was cut after it was exported`));
  });
});
