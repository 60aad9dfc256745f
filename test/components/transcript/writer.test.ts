import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { argumentsDigest } from '../../../components/execution-report/index.js';
import { loadSecretRedactor, type Decision } from '../../../components/policy/index.js';
import { openTranscript, TRANSCRIPT_FORMAT, type TranscriptFrame } from '../../../components/transcript/index.js';
import { call, compile, policyYaml, quiet, recordSession, replay, tempDir, textResult, type Step } from './session.js';
import { sidecarErrorMessage } from '../../helpers/sidecar-error.js';

const dir = tempDir();
let n = 0;
const newPath = (): string => join(dir, `t${++n}.ndjson`);
const linesOf = (path: string): Array<Record<string, unknown>> => readFileSync(path, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

const frame = (over: Partial<TranscriptFrame> = {}): TranscriptFrame => ({
  direction: 'client-to-server', phase: 'request', kind: 'request', method: 'tools/call', id: '1',
  line: Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}\n'),
  decisions: [], action: 'forward', at: 1000, ...over,
});

const openError = (run: () => unknown): string => sidecarErrorMessage(run, 'SIDECAR_ERR_REPORT_SINK');

describe('transcript writer', () => {
  it('should write a header, then one line per frame with its decisions but without their messages', async () => {
    const path = newPath();
    const decisions: Decision[] = [{ ruleId: 'no-echo', kind: 'tools', phase: 'request', effect: 'deny', enforced: true, reason: 'tool_not_allowed', message: 'tool "echo" says hi' }];
    const writer = openTranscript({ path, arguments: 'redacted', logger: quiet, policy: { name: 'p', revision: '3', digest: 'ab'.repeat(32), mode: 'enforce' } });
    writer.record(frame({ decisions, action: 'deny', invocationId: 'genesis-2' }));
    writer.record(frame({ direction: 'server-to-client', phase: 'response', kind: 'response', line: Buffer.from('{"jsonrpc":"2.0","id":1,"result":{}}\n'), at: 1010 }));
    assert.equal(writer.stats.queued, 2);
    await writer.close();
    assert.deepEqual({ written: writer.stats.written, dropped: writer.stats.dropped, failures: writer.stats.failures, queued: writer.stats.queued }, { written: 2, dropped: 0, failures: 0, queued: 0 });

    assert.equal(statSync(path).mode & 0o777, 0o600, 'a transcript is the proxy user\'s alone');
    const [header, request, response] = linesOf(path);
    assert.deepEqual(header, { type: 'header', format: TRANSCRIPT_FORMAT, version: 1, arguments: 'redacted', policy: { name: 'p', revision: '3', digest: `sha256:${'ab'.repeat(32)}`, mode: 'enforce' } });
    assert.deepEqual(request, {
      type: 'frame', at: 1000, direction: 'client-to-server', phase: 'request', kind: 'request', method: 'tools/call', id: '1', action: 'deny', invocationId: 'genesis-2',
      decisions: [{ ruleId: 'no-echo', kind: 'tools', phase: 'request', effect: 'deny', enforced: true, reason: 'tool_not_allowed' }],
      bytes: frame().line.length, frame: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } },
    });
    assert.equal(response!['kind'], 'response');
    assert.equal(response!['method'], 'tools/call');
    assert.ok(!readFileSync(path, 'utf8').includes('says hi'), 'a decision message is never written');
  });

  it('should append a new recording to an existing transcript, cutting off a torn last line first', async () => {
    const path = newPath();
    const first = openTranscript({ path, arguments: 'redacted', logger: quiet });
    first.record(frame());
    await first.close();
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"type":"frame","at":12`); // a proxy killed mid-line
    const warnings: string[] = [];
    const second = openTranscript({ path, arguments: 'digest', logger: { warn: (_d, message) => warnings.push(message), error() {} } });
    second.record(frame());
    await second.close();
    assert.deepEqual(linesOf(path).map((line) => line['type']), ['header', 'frame', 'header', 'frame']);
    assert.match(warnings.join('\n'), /incomplete line/);
  });

  it('should refuse, at start, a path it cannot append to or a file that is not a transcript', () => {
    assert.match(openError(() => openTranscript({ path: join(dir, 'missing', 't.ndjson'), arguments: 'digest', logger: quiet })), /transcript .*missing.*ENOENT/);
    const directory = join(dir, 'a-directory');
    mkdirSync(directory);
    assert.match(openError(() => openTranscript({ path: directory, arguments: 'digest', logger: quiet })), /EISDIR/);
    const other = newPath();
    writeFileSync(other, 'precious data\n');
    assert.match(openError(() => openTranscript({ path: other, arguments: 'digest', logger: quiet })), /not a transcript; refusing to append/);
    assert.equal(readFileSync(other, 'utf8'), 'precious data\n');
  });

  it('should never throw from record, drop what comes after close, and count both', async () => {
    const writer = openTranscript({ path: newPath(), arguments: 'redacted', logger: quiet });
    writer.record({} as TranscriptFrame);
    await writer.close();
    writer.record(frame());
    assert.equal(writer.stats.dropped, 2);
    assert.equal(writer.stats.written, 0);
  });

  it('should drop frames past its byte bound without blocking, and mark the gap in the file', async () => {
    const path = newPath();
    const errors: string[] = [];
    const bytes = frame().line.length;
    const writer = openTranscript({ path, arguments: 'redacted', logger: { warn() {}, error: (_d, message) => errors.push(message) }, maxQueuedBytes: bytes * 2 });
    for (let i = 0; i < 5; i++) writer.record(frame({ id: String(i) })); // in one turn: 2 queued, 3 dropped
    await writer.flush();
    writer.record(frame({ id: '9' }));
    await writer.close();
    assert.deepEqual({ written: writer.stats.written, dropped: writer.stats.dropped }, { written: 3, dropped: 3 });
    assert.deepEqual(linesOf(path).map((line) => line['type'] === 'gap' ? `gap ${line['dropped']}` : line['type']), ['header', 'frame', 'frame', 'gap 3', 'frame']);
    assert.equal(errors.length, 1, 'logged once per burst');
  });

  it('should still record a frame larger than its byte bound when nothing else is queued', async () => {
    const writer = openTranscript({ path: newPath(), arguments: 'redacted', logger: quiet, maxQueuedBytes: 10 });
    writer.record(frame());
    writer.record(frame({ id: '2' }));
    await writer.close();
    assert.deepEqual({ written: writer.stats.written, dropped: writer.stats.dropped }, { written: 1, dropped: 1 });
  });

  it('should record a frame that is not JSON as its text, secrets redacted', async () => {
    const path = newPath();
    const writer = openTranscript({ path, arguments: 'redacted', logger: quiet });
    writer.record(frame({ line: Buffer.from('not json AKIAIOSFODNN7EXAMPLE\n') }));
    await writer.close();
    const text = readFileSync(path, 'utf8');
    assert.ok(!text.includes('AKIAIOSFODNN7EXAMPLE'));
    assert.equal(linesOf(path)[1]!['text'], 'not json [REDACTED:aws-access-key]');
  });
});

describe('transcript secrets', () => {
  const secrets = {
    apiKey: 'sk-live-51HxQ9Xq7yZ',
    bearer: 'abc123def456ghi789',
    aws: 'AKIAIOSFODNN7EXAMPLE',
    github: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
    jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    password: 'hunter2-sekrit',
    pem: 'MIIEowIBAAKCAQEAsecretkeybody',
  };
  const args = { url: 'https://api.example.com', api_key: secrets.apiKey, headers: { Authorization: `Bearer ${secrets.bearer}` }, note: `use ${secrets.aws}` };
  const result = [
    `token ${secrets.github}`, `jwt ${secrets.jwt}`, `DB_PASSWORD=${secrets.password}`,
    `-----BEGIN RSA PRIVATE KEY-----\n${secrets.pem}\n-----END RSA PRIVATE KEY-----`,
  ].join('\n');
  const steps = [call(1, 'http_get', args), textResult(1, result), { from: 'server' as const, message: { jsonrpc: '2.0', method: 'notifications/message', params: { data: `leak ${secrets.aws}` } } }];

  for (const mode of ['redacted', 'digest'] as const) {
    it(`should never write a secret of the arguments or the results (arguments: ${mode}), whatever the policy`, async () => {
      const path = newPath();
      await recordSession(path, undefined, steps, { arguments: mode });
      const bytes = readFileSync(path, 'utf8');
      for (const [name, secret] of Object.entries(secrets)) assert.ok(!bytes.includes(secret), `${name} is in the transcript`);
      assert.ok(bytes.includes('https://api.example.com') === (mode === 'redacted'), 'arguments kept only when asked');
    });
  }

  it('should replace the arguments by their digest, taken after redaction as the execution report takes it', async () => {
    const path = newPath();
    await recordSession(path, undefined, steps.slice(0, 1), { arguments: 'digest' });
    const recorded = (linesOf(path)[1]!['frame'] as { params: { arguments: unknown; name: string } }).params;
    const redactSecrets = await loadSecretRedactor();
    assert.equal(recorded.name, 'http_get');
    assert.equal(recorded.arguments, argumentsDigest(redactSecrets(args).value));
    assert.notEqual(recorded.arguments, argumentsDigest(args));
  });

  it('should write recorded arguments that hash to the report\'s argumentsDigest', async () => {
    const path = newPath();
    await recordSession(path, undefined, steps.slice(0, 1), { arguments: 'redacted' });
    const recorded = (linesOf(path)[1]!['frame'] as { params: { arguments: unknown } }).params.arguments;
    const redactSecrets = await loadSecretRedactor();
    assert.equal(argumentsDigest(recorded), argumentsDigest(redactSecrets(args).value));
  });

  it('should record a frame a redact rule rewrote as delivered, its markers as placeholders, then redact it again', async () => {
    const path = newPath();
    const policy = await compile(policyYaml('secrets', '  - id: secrets\n    redact: { detectors: all }\n'));
    await recordSession(path, policy, steps.slice(0, 2));
    const response = linesOf(path)[2]!;
    assert.equal(response['action'], 'replace');
    assert.deepEqual((response['decisions'] as Decision[]).map((d) => [d.ruleId, d.reason, d.changes]), [['secrets', 'secret_redacted', 4]]);
    assert.match(JSON.stringify(response['frame']), /ghp_REDACTEDREDACTED/);
    assert.doesNotMatch(JSON.stringify(response['frame']), /\[REDACTED:/, 'the rule\'s markers became placeholders');
    assert.equal(response['bytes'], Buffer.byteLength(`${JSON.stringify(textResult(1, result).message)}\n`), 'the size is still the received frame\'s');
  });

  // Issue 12: the transcript recorded the server's line, and a secret split across content[]
  // items, which the rule had caught, was in the file.
  const AWS = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
  const split: Step[] = [
    call(1, 'read_file', { path: '/workspace/a' }),
    { from: 'server', message: { jsonrpc: '2.0', id: 1, result: {
      content: [{ type: 'text', text: `key ${AWS.slice(0, 6)}` }, { type: 'text', text: `${AWS.slice(6)} ok` }],
      structuredContent: { items: [{ type: 'text', part: `id EMP-12` }, { type: 'text', part: `3456 and ${AWS.slice(0, 3)}` }, { type: 'text', part: AWS.slice(3) }] },
    } } },
    { from: 'server', message: { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: [{ line: AWS.slice(0, 5) }, { line: AWS.slice(5) }] } } },
    { from: 'server', message: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p1', progress: 1, message: `using ${AWS}` } } },
  ];
  const rules = (mode: string) => `  - id: secrets\n    mode: ${mode}\n    redact: { detectors: all, patterns: [{ name: employee-id, pattern: "EMP-[0-9]{6}" }] }\n`;

  for (const mode of ['enforce', 'observe'] as const) {
    it(`should hold no piece of a secret split across items, objects or notifications (redact rule: ${mode})`, async () => {
      const path = newPath();
      const policy = await compile(policyYaml('secrets', rules(mode)));
      await recordSession(path, policy, split);
      const bytes = readFileSync(path, 'utf8');
      for (const piece of [AWS, AWS.slice(4), AWS.slice(5), AWS.slice(6)]) assert.ok(!bytes.includes(piece), `${piece} is in the transcript (${mode})`);
      const frames = linesOf(path).slice(2);
      assert.deepEqual(frames.map((f) => [f['kind'], f['action'], (f['decisions'] as Decision[]).map((d) => [d.phase, d.effect, d.enforced])]), [
        ['response', mode === 'enforce' ? 'replace' : 'forward', [['response', 'rewrite', mode === 'enforce']]],
        ['notification', mode === 'enforce' ? 'replace' : 'forward', [['request', 'rewrite', mode === 'enforce']]],
        ['notification', mode === 'enforce' ? 'replace' : 'forward', [['request', 'rewrite', mode === 'enforce']]],
      ]);
      // What only the policy's custom pattern knows is out of the file only when the rule took it out.
      assert.equal(bytes.includes('EMP-12'), mode === 'observe');
    });
  }

  it('should let a replayed redact rule find the secrets of frames recorded as delivered again', async () => {
    const path = newPath();
    const yaml = policyYaml('secrets', '  - id: secrets\n    redact: { detectors: all }\n');
    await recordSession(path, await compile(yaml), split);
    const policyPath = join(dir, 'secrets.yaml');
    writeFileSync(policyPath, yaml);
    const { code, out } = await replay('--transcript', path, '--policy', policyPath, '--json');
    assert.equal(code, 0);
    const summary = (JSON.parse(out) as { summary: Record<string, Record<string, number>> }).summary;
    assert.deepEqual(summary['redact'], { newly: 0, noLonger: 0, unchanged: 3, nowEnforced: 0, noLongerEnforced: 0 });
  });

  it('should record a list a hide rule filtered as received: a replay must see what it hid', async () => {
    const path = newPath();
    const policy = await compile(policyYaml('hide', '  - id: hide-admin\n    hide: { tools: ["admin_*"] }\n'));
    const tools = [{ name: 'read_file', inputSchema: { type: 'object' } }, { name: 'admin_reset', inputSchema: { type: 'object' } }];
    await recordSession(path, policy, [
      { from: 'client', message: { jsonrpc: '2.0', id: 1, method: 'tools/list' } },
      { from: 'server', message: { jsonrpc: '2.0', id: 1, result: { tools } } },
    ]);
    const response = linesOf(path)[2]!;
    assert.equal(response['action'], 'replace');
    assert.deepEqual((response['frame'] as { result: { tools: unknown } }).result.tools, tools);
  });
});
