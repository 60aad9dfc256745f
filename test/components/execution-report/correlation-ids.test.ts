// A fanned-out gateway request's report names each service's id (`correlationIds`, by service
// name): the fast writer puts it, and its keys, where canonical JSON does; format 2 takes it and
// format 1 refuses it; the invocation observer carries it from the request's end as it is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalText, createInvocationReports, loadReportSchema, sha256Digest, type Reporter, type ReportInput } from '../../../components/execution-report/index.js';
import type { InvocationInput } from '../../../components/execution-report/input.js';
import { invocationText } from '../../../components/execution-report/report-text.js';
import type { ObservedFrame } from '../../../components/pump/index.js';

const base: InvocationInput = {
  kind: 'invocation', direction: 'client-to-server', method: 'tools/list', requestId: '2', server: '',
  policy: { name: 'none', revision: 'builtin', digest: sha256Digest('{}') }, mode: 'observe', decisions: [], outcome: 'forwarded', generation: 0,
};
const chain = { seq: 3, invocationId: 'genesis-3', prevDigest: null };

/** The reference: the line's canonical JSON, written by the generic writer. */
function reference(input: InvocationInput): string {
  const { kind: _kind, startedAt: _s, durationMs: _d, ...fields } = input;
  return canonicalText({ ...fields, kind: 'invocation', seq: chain.seq, invocationId: chain.invocationId, prevDigest: chain.prevDigest });
}

describe('`correlationIds` in the report line', () => {
  const cases: Array<Record<string, string>> = [
    { memory: '13', fs: '12' },
    { 'b-2': '7', B: '8', a_1: '9', 'a.0': '10', '9z': '11' },
    { only: '1' },
  ];
  for (const correlationIds of cases) {
    it(`should write ${JSON.stringify(correlationIds)} with its keys sorted, where the canonical key order puts it`, () => {
      const input = { ...base, correlationIds };
      const text = invocationText(input, chain, true);
      assert.equal(text, reference(input));
      assert.deepEqual(Object.keys((JSON.parse(text) as { correlationIds: object }).correlationIds), Object.keys(correlationIds).sort());
    });
  }

  it('should write a call\'s `correlationId` and a line with neither exactly as before', () => {
    assert.equal(invocationText({ ...base, correlationId: '42' }, chain, true), reference({ ...base, correlationId: '42' }));
    assert.equal(invocationText(base, chain, true), reference(base));
    assert.ok(!invocationText(base, chain, true).includes('correlation'));
  });

  it('should take `correlationIds` in format 2 and refuse it in format 1', async () => {
    const { invocationReport2Schema, invocationReportSchema } = await loadReportSchema();
    const line = JSON.parse(reference({ ...base, correlationIds: { fs: '12', memory: '13' } })) as Record<string, unknown>;
    const chained = { ...line, digest: sha256Digest('x'), timing: { startedAt: '2026-01-01T00:00:00.000Z' } };
    assert.equal(invocationReport2Schema.safeParse(chained).success, true, JSON.stringify(invocationReport2Schema.safeParse(chained).error?.issues));
    assert.equal(invocationReport2Schema.safeParse({ ...chained, correlationIds: { fs: 12 } }).success, false, 'ids are JSON text');
    assert.equal(invocationReport2Schema.safeParse({ ...chained, correlationIds: ['12'] }).success, false);
    const v1 = { ...chained, schema: 'MiddlewareExecutionReportV1', schemaVersion: 1 };
    const { server: _server, correlationIds: _ids, ...v1Without } = v1;
    assert.equal(invocationReportSchema.safeParse(v1Without).success, true, JSON.stringify(invocationReportSchema.safeParse(v1Without).error?.issues));
    assert.equal(invocationReportSchema.safeParse({ ...v1Without, correlationIds: { fs: '12' } }).success, false);
  });
});

describe('the invocation observer', () => {
  it('should report a request end\'s correlationIds as they are, and none when the end has none', () => {
    const reports: ReportInput[] = [];
    const reporter = { report: (input: ReportInput) => void reports.push(input) } as unknown as Reporter;
    const observer = createInvocationReports({ reporter, policy: () => undefined, generation: () => 0, arguments: 'digest', redactSecrets: (value) => ({ value, changes: 0 }) });
    const request = (id: string): ObservedFrame => ({ direction: 'client-to-server', kind: 'request', id, method: 'tools/list', decisions: [], action: 'forward', at: 1000, service: '' }) as unknown as ObservedFrame;
    const correlationIds = { fs: '12', memory: '13' };
    for (const [id, ids] of [['1', correlationIds], ['2', undefined]] as const) {
      const frame = request(id);
      const trace = observer.onFrame(frame);
      void observer.onRequestEnd({ trace, request: frame, outcome: 'forwarded', reply: undefined, response: undefined, at: 1001, ...(ids !== undefined && { correlationIds: ids }) });
    }
    const invocations = reports.filter((r): r is InvocationInput => r.kind === 'invocation');
    assert.deepEqual(invocations.map((r) => [r.requestId, r.correlationIds, r.correlationId]), [['1', correlationIds, undefined], ['2', undefined, undefined]]);
  });
});
