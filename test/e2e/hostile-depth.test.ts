// Issue 19, item 2: one client frame nested deep around a secret killed the proxy when reports
// were on (a walk that called itself per level ran out of stack), and --record silently left such
// a frame out. Through the built proxy, each path a frame's value is walked on (reports, the
// transcript, a redact rule, none of them): a frame at the framing's nesting limit (512) is
// handled and recorded; one at 4,095 or 100,000 is refused at the boundary with an error that
// says why; a server's answer beyond the limit fails its request; the proxy answers the next
// ping and exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { CLI, ROOT, commandLine } from '../helpers/paths.js';
import { ProxyProcess, type Frame } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const LIMIT = 512;
const SECRET = `password=${'s'.repeat(5_000)}`; // the shape of the frame: a 5 KB secret
// A tools/call's arguments are 3 levels into the frame (message, params, arguments); a
// result's structuredContent also 3 (message, result, structuredContent).
const AT_LIMIT = LIMIT - 3;

// A server that answers tools/call with a structuredContent of `params.arguments.depth` arrays
// around a secret, written as text (the proxy is what is under test, not this server's stack).
const SERVER = `
const out = (text) => process.stdout.write(text + '\\n');
let buffered = '';
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  for (let nl = buffered.indexOf('\\n'); nl !== -1; nl = buffered.indexOf('\\n')) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    const id = /"id":(\\d+)/.exec(line)?.[1];
    if (id === undefined) continue;
    if (line.includes('"method":"initialize"')) out('{"jsonrpc":"2.0","id":' + id + ',"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"deep","version":"1"}}}');
    else if (line.includes('"method":"tools/call"')) {
      const depth = Number(/"depth":(\\d+)/.exec(line)?.[1] ?? 0);
      out('{"jsonrpc":"2.0","id":' + id + ',"result":{"content":[{"type":"text","text":"ok"}],"structuredContent":' + '['.repeat(depth) + ${JSON.stringify(JSON.stringify(SECRET))} + ']'.repeat(depth) + '}}');
    } else out('{"jsonrpc":"2.0","id":' + id + ',"result":{}}');
  }
});
process.stdin.on('end', () => process.exit(0));
`;

const POLICY = `apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: deep, revision: 1 }
mode: enforce
rules:
  - id: secrets
    redact: { detectors: all }
`;

/** A tools/call with `depth` arrays around the secret as its argument `a` (and the depth the server answers with). */
function deepCall(id: number, depth: number, answerDepth = 0): string {
  return `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"t","arguments":{"depth":${answerDepth},"a":${'['.repeat(depth)}${JSON.stringify(SECRET)}${']'.repeat(depth)}}}}\n`;
}

interface Setup {
  readonly name: string;
  readonly args: (dir: string) => string[];
  readonly reports?: boolean;
  readonly transcript?: boolean;
  readonly redacting?: boolean;
}

const SETUPS: readonly Setup[] = [
  { name: 'no policy', args: () => [] },
  { name: 'reports', args: (dir) => ['--report-file', join(dir, 'reports.ndjson'), '--report-arguments', 'redacted'], reports: true },
  { name: 'transcript', args: (dir) => ['--record', join(dir, 'transcript.ndjson'), '--record-arguments', 'redacted'], transcript: true },
  {
    name: 'a redact rule, with reports and transcript',
    args: (dir) => ['--policy', join(dir, 'policy.yaml'), '--report-file', join(dir, 'reports.ndjson'), '--record', join(dir, 'transcript.ndjson')],
    reports: true, transcript: true, redacting: true,
  },
];

function start(t: TestContext, dir: string, setup: Setup): ProxyProcess {
  const server = join(dir, 'deep-server.mjs');
  writeFileSync(server, SERVER);
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const args = [CLI, '--proxy', commandLine([process.execPath, server]), '--stdio', '--allow', commandLine([process.execPath, `${dir}/`]), '--log-level', 'info', ...setup.args(dir)];
  const proxy = new ProxyProcess(spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }));
  t.after(() => proxy.dispose());
  return proxy;
}

async function answer(proxy: ProxyProcess, id: number): Promise<Frame> {
  const { json } = await proxy.nextFrame(15_000);
  assert.equal(json.id, id, JSON.stringify(json).slice(0, 300));
  return json;
}

/** What `depth` arrays hold at the bottom. */
function bottom(value: unknown, depth: number): unknown {
  for (let i = 0; i < depth; i++) {
    assert.ok(Array.isArray(value) && value.length === 1, `level ${i}`);
    value = value[0];
  }
  return value;
}

const readLines = (file: string): any[] => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));

describe('frames nested to and beyond the framing limit, through the built proxy', () => {
  for (const setup of SETUPS) {
    test(`${setup.name}: at the limit handled, beyond it refused, the proxy stays up`, async (t) => {
      const dir = tempDir('hostile-depth');
      const proxy = start(t, dir, setup);
      proxy.write('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n');
      await answer(proxy, 1);

      // At the limit, both ways: the request's arguments and the server's structuredContent.
      proxy.write(deepCall(2, AT_LIMIT, AT_LIMIT));
      const handled = await answer(proxy, 2);
      assert.equal(handled.error, undefined, JSON.stringify(handled.error));
      const leaf = bottom(handled.result.structuredContent, AT_LIMIT);
      assert.equal(leaf, setup.redacting ? 'password=[REDACTED:password-assignment]' : SECRET, 'redacted only by a redact rule');

      // Beyond it: refused where the frame is read, with the reason.
      for (const [id, depth] of [[3, 4_095], [4, 100_000]] as const) {
        proxy.write(deepCall(id, depth));
        const refused = await answer(proxy, id);
        assert.equal(refused.error?.code, -32700);
        assert.match(refused.error!.message + JSON.stringify(refused.error!.data ?? ''), /nesting deeper than 512/);
      }
      // A server's answer beyond it: dropped, and its request fails at once.
      proxy.write(deepCall(5, 1, 4_095));
      const failed = await answer(proxy, 5);
      assert.equal(failed.error?.code, -32006, JSON.stringify(failed.error));

      proxy.write('{"jsonrpc":"2.0","id":6,"method":"ping"}\n');
      assert.deepEqual((await answer(proxy, 6)).result, {});
      proxy.endInput();
      assert.equal((await proxy.waitForExit()).code, 0);
      proxy.assertStdoutClean();
      assert.ok(!proxy.logs().some((record) => /Maximum call stack/.test(JSON.stringify(record))), 'no stack overflow anywhere');

      if (setup.reports) {
        const reports = readLines(join(dir, 'reports.ndjson')).filter((r) => r.kind === 'invocation');
        assert.deepEqual(reports.map((r) => [r.requestId, r.outcome]).filter(([id]) => id !== '3' && id !== '4'), [['1', 'forwarded'], ['2', 'forwarded'], ['5', 'upstream_error'], ['6', 'forwarded']]);
        const deep = reports.find((r) => r.requestId === '2');
        assert.match(deep.argumentsDigest, /^sha256:[0-9a-f]{64}$/);
        if (deep.arguments !== undefined) assert.equal(bottom(deep.arguments.a, AT_LIMIT), 'password=[REDACTED:password-assignment]');
        assert.ok(!readFileSync(join(dir, 'reports.ndjson'), 'utf8').includes('sssss'), 'no report holds the secret');
      }
      if (setup.transcript) {
        const frames = readLines(join(dir, 'transcript.ndjson')).filter((line) => line.type === 'frame');
        const request = frames.find((f) => f.kind === 'request' && f.id === '2');
        const response = frames.find((f) => f.kind === 'response' && f.id === '2');
        assert.ok(request !== undefined && response !== undefined, 'both frames at the limit are recorded');
        if (typeof request.frame.params.arguments === 'object') assert.equal(bottom(request.frame.params.arguments.a, AT_LIMIT), 'password=[REDACTED:password-assignment]');
        assert.equal(typeof bottom(response.frame.result.structuredContent, AT_LIMIT), 'string');
        assert.ok(!readFileSync(join(dir, 'transcript.ndjson'), 'utf8').includes('sssss'), 'the transcript holds no secret');
        assert.ok(!proxy.logs().some((record) => record.msg?.startsWith('transcript: a frame could not be recorded')), 'no frame was left out');
      }
    });
  }
});
