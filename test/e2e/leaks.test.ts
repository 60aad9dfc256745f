// Issue 12, "Leaks": a secret a server sends, split or whole, in a result, a log or progress
// notification, a line that is not a frame, or its stderr, must not be written by the proxy
// anywhere but to the client, and under an enforced redact rule not even there: not in its logs
// (its stderr), its execution reports (--report-file) or its transcript (--record).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fixtureServer } from '../helpers/paths.js';
import { spawnProxy, type Frame, type ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

// The secrets of test/fixtures/servers/leaky-server.js, assembled as it assembles them.
const AWS = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
const GHP = ['ghp', '_', 'aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA2cE4'].join('');
const PASSWORD = ['hunter2', '-Correct-Horse'].join('');
// A key the client sends, cut across the objects of a list in its arguments.
const CLIENT_KEY = ['ASIA', 'Z2X3C4V5B6N7M8Q9'].join('');

/** Every 8 characters of each secret (the key's body, the token's, the password). */
const PIECES = [AWS, GHP, PASSWORD, CLIENT_KEY].flatMap((secret) => Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8)));

function assertNoPiece(where: string, text: string): void {
  for (const piece of PIECES) assert.ok(!text.includes(piece), `${where} holds ${JSON.stringify(piece)}: …${text.slice(Math.max(0, text.indexOf(piece) - 120), text.indexOf(piece) + 40)}…`);
}

interface Run {
  readonly client: Frame[];
  readonly clientBytes: string;
  readonly logs: string;
  readonly reports: string;
  readonly transcript: string;
}

/** One session with the leaky server under a redact rule in `mode` (or no policy): everything the proxy wrote. */
async function session(t: TestContext, mode: 'enforce' | 'observe' | 'no policy'): Promise<Run> {
  const dir = tempDir('leaks');
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: leaks, revision: 1 }\nmode: ${mode}\nrules:\n  - id: secrets\n    redact: { detectors: all }\n`);
  const reports = join(dir, 'reports.ndjson');
  const transcript = join(dir, 'transcript.ndjson');
  const proxy: ProxyProcess = spawnProxy([process.execPath, fixtureServer('leaky-server.js')], {
    args: [...(mode === 'no policy' ? [] : ['--policy', policy]), '--report-file', reports, '--record', transcript, '--max-restarts', '0'],
  });
  t.after(() => proxy.dispose());

  const client: Frame[] = [];
  const until = async (id: number): Promise<void> => {
    for (;;) {
      const { json } = await proxy.nextFrame(5000);
      client.push(json);
      if (json.id === id) return;
    }
  };
  proxy.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'leaks', version: '1' } } });
  await until(1);
  proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  const args = { parts: [{ p: CLIENT_KEY.slice(0, 7) }, { p: CLIENT_KEY.slice(7) }] };
  proxy.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'leak', arguments: args, _meta: { progressToken: 'p-1' } } });
  await until(2);
  // The server writes a secret to stderr and dies: its last lines are logged (the crash tail).
  proxy.send({ jsonrpc: '2.0', id: 3, method: 'fixture/exit' });
  await until(3);
  proxy.endInput();
  await proxy.waitForExit();
  return {
    client,
    clientBytes: proxy.stdout.lines.map((line) => line.toString('utf8')).join('\n'),
    logs: proxy.stderr.bytes.toString('utf8'),
    reports: readFileSync(reports, 'utf8'),
    transcript: readFileSync(transcript, 'utf8'),
  };
}

const byMethod = (client: Frame[], method: string): Frame => client.find((frame) => frame.method === method)!;

describe('leaks: secrets from the server are written nowhere by the proxy', () => {
  test('enforce: not to the client, the logs, the reports or the transcript', async (t) => {
    const run = await session(t, 'enforce');
    assertNoPiece('the client\'s output', run.clientBytes);
    assertNoPiece('the proxy\'s logs', run.logs);
    assertNoPiece('the reports', run.reports);
    assertNoPiece('the transcript', run.transcript);

    // What the client got: each shape, redacted where the secret was.
    const result = run.client.find((frame) => frame.id === 2)!.result;
    assert.deepEqual(result.content.map((item: { text: string }) => item.text), ['token [REDACTED:github-token]', '[REDACTED:github-token] ok']);
    assert.deepEqual(result.structuredContent.items.map((item: { part: string }) => item.part), ['[REDACTED:aws-access-key]', '[REDACTED:aws-access-key]']);
    assert.deepEqual(byMethod(run.client, 'notifications/message').params.data.lines, [{ line: 'key [REDACTED:aws-access-key]' }, { line: '[REDACTED:aws-access-key] loaded' }]);
    assert.deepEqual(byMethod(run.client, 'notifications/progress').params, { progressToken: 'p-1', progress: 1, total: 2, message: 'cloning with [REDACTED:github-token]' });

    // The logs still say what happened, without the secrets.
    assert.match(run.logs, /not (one reading of )?a JSON-RPC frame/);
    assert.match(run.logs, /"source":"server"[^\n]*"msg":"connecting with key /);
    assert.match(run.logs, /"stderrTail":\[/);
    assert.match(run.logs, /"ruleId":"secrets"[^\n]*"phase":"request"[^\n]*"method":"notifications\/message"/);
    // The transcript has the frames as delivered, with placeholders a replay finds again.
    const frames = run.transcript.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, any>).filter((line) => line['type'] === 'frame');
    const response = frames.find((frame) => frame['kind'] === 'response' && frame['id'] === '2')!;
    assert.equal(response['action'], 'replace');
    assert.match(JSON.stringify(response['frame']), /AKIAREDACTEDREDACTED/);
  });

  test('observe: the client gets the original bytes; the logs, the reports and the transcript still hold no secret', async (t) => {
    const run = await session(t, 'observe');
    assertNoPiece('the proxy\'s logs', run.logs);
    assertNoPiece('the reports', run.reports);
    assertNoPiece('the transcript', run.transcript);
    // Observe changes nothing on the wire: the client got the secrets, and each was a would-rewrite.
    assert.ok(run.clientBytes.includes(AWS.slice(4)) && run.clientBytes.includes(GHP.slice(10)));
    assert.equal(byMethod(run.client, 'notifications/progress').params.message, `cloning with ${GHP}`);
    for (const method of ['tools/call', 'notifications/message', 'notifications/progress']) {
      assert.match(run.logs, new RegExp(`"ruleId":"secrets"[^\\n]*"effect":"rewrite","enforced":false[^\\n]*"method":"${method}"`), method);
    }
  });

  test('without a policy: the client gets what the server sent; the logs, the reports and the transcript hold no secret', async (t) => {
    const run = await session(t, 'no policy');
    assertNoPiece('the proxy\'s logs', run.logs);
    assertNoPiece('the reports', run.reports);
    assertNoPiece('the transcript', run.transcript);
    assert.ok(run.clientBytes.includes(AWS.slice(4)));
  });
});
