// Reports in gateway mode carry the service (`server`): the pump's observation tells each request's
// service from the same resolver the rules use, only in gateway mode; the report writes it in its
// canonical place; the schema takes it in format 2 only; and with --proxy nothing changes.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { systemClock } from '../../../components/clock/index.js';
import { canonicalText, createInvocationReports, loadReportSchema, sha256Digest, type Reporter, type ReportInput } from '../../../components/execution-report/index.js';
import { invocationText } from '../../../components/execution-report/report-text.js';
import type { InvocationInput } from '../../../components/execution-report/input.js';
import { createNamespaceResolver, type Rule, type ServiceResolver } from '../../../components/policy/index.js';
import { createPump, type ObservedFrame } from '../../../components/pump/index.js';
import { createNdjsonChannel } from '../../../components/transport/index.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { policyFromRules } from '../../helpers/test-policy.js';

/** A pump whose observer records every frame, and the invocation reports its frames become. */
function observedPump(serverName: string | ServiceResolver, rules: Rule[] = []) {
  const clientIn = new PassThrough(), clientOut = new PassThrough(), serverStdout = new PassThrough(), serverStdin = new PassThrough();
  const frames: ObservedFrame[] = [];
  const reports: ReportInput[] = [];
  const reporter = { report: (input: ReportInput) => void reports.push(input) } as unknown as Reporter;
  const reportObserver = createInvocationReports({ reporter, policy: () => undefined, generation: () => 0, arguments: 'digest', redactSecrets: (value) => ({ value, changes: 0 }) });
  createPump({
    client: createNdjsonChannel(clientIn, clientOut, { maxFrameBytes: 1 << 20 }),
    server: createNdjsonChannel(serverStdout, serverStdin, { maxFrameBytes: 1 << 20 }),
    logger: captureLogs().logger,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
    policy: rules.length === 0 ? undefined : { current: policyFromRules(rules) },
    clock: { ...systemClock, now: () => 1000 },
    serverName,
    observer: {
      onFrame: (frame) => {
        frames.push(frame);
        return reportObserver.onFrame(frame);
      },
      onRequestEnd: (end) => reportObserver.onRequestEnd(end as Parameters<typeof reportObserver.onRequestEnd>[0]),
    },
  });
  return { clientIn, serverStdout, frames, reports };
}

const GATEWAY = createNamespaceResolver('.', ['fs', 'memory'], 'gateway');
const invocations = (reports: ReportInput[]) => reports.filter((r): r is InvocationInput => r.kind === 'invocation');

describe('the service of a gateway invocation', () => {
  it('should tell each request its service in gateway mode, and a report carry it as `server`', async () => {
    const s = observedPump(GATEWAY);
    s.clientIn.write([
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fs.read_file","arguments":{"path":"a"}}}',
      '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"memory.echo","arguments":{"text":"b"}}}',
      '{"jsonrpc":"2.0","id":3,"method":"tools/list"}',
      '{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"file:///a"}}',
      '{"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"nowhere.p"}}',
      '',
    ].join('\n'));
    await tick();
    for (const id of [1, 2, 3, 4, 5]) s.serverStdout.write(`{"jsonrpc":"2.0","id":${id},"result":{}}\n`);
    await tick();
    const requests = s.frames.filter((f) => f.kind === 'request');
    assert.deepEqual(requests.map((f) => [f.id, f.service]), [['1', 'fs'], ['2', 'memory'], ['3', ''], ['4', ''], ['5', '']]);
    // Answers are not attributed: their request's report carries the service.
    assert.ok(s.frames.filter((f) => f.kind === 'response').every((f) => !('service' in f)));
    // The body parsed to tell the service is handed on, so the report does not parse the call again.
    assert.deepEqual((requests[0]!.body as { params: { name: string } }).params.name, 'fs.read_file');
    assert.deepEqual(invocations(s.reports).map((r) => [r.requestId, r.target?.name, r.server]), [
      ['1', 'fs.read_file', 'fs'], ['2', 'memory.echo', 'memory'], ['3', undefined, ''], ['4', 'file:///a', ''], ['5', 'nowhere.p', ''],
    ]);
  });

  it('should read the service from what an enforced rewrite forwards, as the gateway routes it', async () => {
    const renameToMemory: Rule = {
      id: 'rename', kind: 'test', mode: 'enforce', direction: 'client-to-server', phase: 'request', methods: ['tools/call'],
      evaluate: (frame) => ({ effect: 'rewrite', reason: 'renamed', changes: 1, body: { ...(frame.body() as object), params: { name: 'memory.echo' } } }),
    };
    const s = observedPump(GATEWAY, [renameToMemory]);
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fs.read_file"}}\n');
    await tick();
    const [request] = s.frames;
    assert.equal(request!.action, 'replace');
    assert.equal(request!.service, 'memory');
    assert.equal(request!.body, undefined, 'the rewritten body is not the frame as received: not handed on');
  });

  it('should leave a --proxy observation and its report without a service', async () => {
    const s = observedPump('server-filesystem');
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file"}}\n');
    await tick();
    s.serverStdout.write('{"jsonrpc":"2.0","id":1,"result":{}}\n');
    await tick();
    assert.ok(s.frames.every((f) => !('service' in f)));
    const [report] = invocations(s.reports);
    assert.equal(report!.server, undefined);
    assert.ok(!invocationText(report!, { seq: 1, invocationId: 'x-1', prevDigest: null }, true).includes('"server"'));
  });
});

describe('`server` in the report line', () => {
  const base: InvocationInput = {
    kind: 'invocation', direction: 'client-to-server', method: 'tools/call', target: { type: 'tool', name: 'fs.read_file' }, requestId: '7',
    argumentsDigest: sha256Digest('{}'), policy: { name: 'none', revision: 'builtin', digest: sha256Digest('{}') }, mode: 'observe', decisions: [], outcome: 'forwarded', generation: 0,
  };
  const chain = { seq: 3, invocationId: 'genesis-3', prevDigest: null };
  /** The reference: the line's canonical JSON, written by the generic writer. */
  const reference = (input: InvocationInput): string => {
    const { kind: _kind, startedAt: _s, durationMs: _d, ...fields } = input;
    return canonicalText({ ...fields, kind: 'invocation', seq: chain.seq, invocationId: chain.invocationId, prevDigest: chain.prevDigest });
  };

  for (const server of ['fs', '', 'a-b_c.9', 'quote"d']) {
    it(`should write server ${JSON.stringify(server)} where the canonical key order puts it`, () => {
      const input = { ...base, server };
      assert.equal(invocationText(input, chain, true), reference(input));
    });
  }

  it('should write a line without it exactly as before', () => {
    assert.equal(invocationText(base, chain, true), reference(base));
  });

  it('should take `server` in format 2 and refuse it in format 1', async () => {
    const { invocationReport2Schema, invocationReportSchema } = await loadReportSchema();
    const line = JSON.parse(reference({ ...base, server: 'fs' })) as Record<string, unknown>;
    const chained = { ...line, digest: sha256Digest('x'), timing: { startedAt: '2026-01-01T00:00:00.000Z' } };
    assert.equal(invocationReport2Schema.safeParse(chained).success, true);
    assert.equal(invocationReport2Schema.safeParse({ ...chained, server: 7 }).success, false);
    const v1 = { ...chained, schema: 'MiddlewareExecutionReportV1', schemaVersion: 1 };
    const withoutServer = Object.fromEntries(Object.entries(v1).filter(([key]) => key !== 'server'));
    assert.equal(invocationReportSchema.safeParse(withoutServer).success, true, JSON.stringify(invocationReportSchema.safeParse(withoutServer).error?.issues));
    assert.equal(invocationReportSchema.safeParse(v1).success, false);
  });
});
