// Bounded copies (issue 19): a peer's id, method and target name longer than 256 characters are
// recorded truncated with the digest of the whole, so a report line stays small whatever the
// frame carries, and the file still verifies.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  createInvocationReports, createReportChain, createReporter, openReportFileSink, sha256Digest, verifyReportFiles,
} from '../../../components/execution-report/index.js';
import { boundedText, MAX_COPIED_CHARS } from '../../../components/execution-report/bounded-text.js';
import { mayHoldSecretsInJson, redactSecrets } from '../../../components/policy/rules/redact.js';
import type { ObservedFrame } from '../../../components/pump/index.js';
import { tempDir } from './reports.js';

const dir = tempDir();
const quiet = { error() {}, warn() {} };
// A report line without `arguments`: fields, digests, timing and three bounded copies.
const LINE_BOUND = 2048;

describe('bounded copies of a peer\'s text in reports', () => {
  it('should keep short text as it is and truncate long text with the digest of the whole', () => {
    assert.equal(boundedText('"abc"'), '"abc"');
    const exact = 'x'.repeat(MAX_COPIED_CHARS);
    assert.equal(boundedText(exact), exact);
    const long = `"${'é'.repeat(1000)}"`;
    assert.equal(boundedText(long), `"${'é'.repeat(127)}…[truncated: ${Buffer.byteLength(long)} bytes, ${sha256Digest(long)}]`);
    // Never half a surrogate pair.
    const astral = `"${'😀'.repeat(200)}"`;
    assert.equal(boundedText(astral).startsWith(`"${'😀'.repeat(63)}…`), true);
  });

  it('should write a report of a 1 MiB id, method and tool name as a line under 2 KiB, and verify', async () => {
    const path = join(dir, 'huge-id.ndjson');
    const sink = openReportFileSink({ path, fsync: 'never' }, quiet);
    const reporter = createReporter(createReportChain(), sink);
    const observer = createInvocationReports({ reporter, policy: () => undefined, generation: () => 0, arguments: 'digest', redactSecrets, mayHoldSecretsInJson });
    const id = `"${'i'.repeat(1024 * 1024)}"`;
    const name = 't'.repeat(1024 * 1024);
    const line = Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":{}}}\n`);
    const frame = { direction: 'client-to-server', phase: 'request', kind: 'request', method: 'tools/call', id, line, decisions: [], action: 'forward', at: 0 } as unknown as ObservedFrame;
    const trace = observer.onFrame(frame);
    await observer.onRequestEnd({ request: frame, trace, outcome: 'forwarded', at: 1 } as unknown as Parameters<typeof observer.onRequestEnd>[0]);
    await reporter.close();
    const [report] = readFileSync(path, 'utf8').split('\n');
    assert.ok(Buffer.byteLength(report!) < LINE_BOUND, `${Buffer.byteLength(report!)} bytes`);
    const parsed = JSON.parse(report!) as { requestId: string; target: { name: string } };
    assert.equal(parsed.requestId, boundedText(id));
    assert.match(parsed.requestId, new RegExp(`…\\[truncated: ${Buffer.byteLength(id)} bytes, ${sha256Digest(id)}\\]$`));
    assert.equal(parsed.target.name, boundedText(name));
    assert.equal((await verifyReportFiles([path])).ok, true);
  });
});
