import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReportChain, digestOf, type ExecutionReport, type InvocationInput } from '../../../components/execution-report/index.js';
import { chainLines, fakeClock, POLICY, transcript } from './reports.js';

const parse = (line: string): ExecutionReport => JSON.parse(line) as ExecutionReport;

describe('report chain', () => {
  it('should give byte-identical lines for the same transcript, clock and ids', () => {
    const first = chainLines(transcript());
    const second = chainLines(transcript());
    assert.deepEqual(second, first);
    assert.equal(first.length, transcript().length);
  });

  it('should give, as bytes, exactly the line it gives as a string, with long and non-ASCII content', () => {
    const inputs = transcript().map((input, i) => (input.kind === 'invocation' && i % 2 === 0
      ? { ...input, arguments: { text: `é ✓ 😀 ${'z'.repeat(40_000 * i)}` }, method: 'tools/call ✓' }
      : input));
    const asText = createReportChain({ clock: fakeClock() });
    const asBytes = createReportChain({ clock: fakeClock() });
    for (const input of inputs) {
      const line = asText.append(input).line;
      const encoded = asBytes.appendBytes(input);
      assert.equal(encoded.bytes.toString(), line);
      assert.equal(encoded.digest, parse(line).digest);
      assert.equal(encoded.digest, digestOf(parse(line)));
    }
    assert.equal(asBytes.lastDigest, asText.lastDigest);
  });

  it('should give the same digests with different clocks: only timing differs', () => {
    const early = chainLines(transcript(), { clock: fakeClock(Date.UTC(2020, 0, 1), 1) }).map(parse);
    const late = chainLines(transcript(), { clock: fakeClock(Date.UTC(2031, 5, 6), 500) }).map(parse);
    for (const [i, report] of early.entries()) {
      const other = late[i]!;
      assert.equal(report.digest, other.digest, `report ${i}`);
      assert.notDeepEqual(report.timing, other.timing);
      const { timing: _a, ...rest } = report;
      const { timing: _b, ...otherRest } = other;
      assert.deepEqual(rest, otherRest);
    }
  });

  it('should number reports from 1 and link each to the digest of the one before, from null', () => {
    const reports = chainLines(transcript()).map(parse);
    assert.equal(reports[0]!.prevDigest, null);
    for (const [i, report] of reports.entries()) {
      assert.equal(report.seq, i + 1);
      assert.equal(report.digest, digestOf(report));
      if (i > 0) assert.equal(report.prevDigest, reports[i - 1]!.digest);
    }
  });

  it('should give deterministic invocation ids, <seed>-<seq>: "genesis" for a new chain, the previous digest\'s start when continuing', () => {
    const reports = chainLines(transcript().slice(0, 3)).map(parse);
    assert.deepEqual(reports.map((r) => r.invocationId), ['genesis-1', 'genesis-2', 'genesis-3']);
    const last = reports[2]!;
    const continued = createReportChain({ prevDigest: last.digest, nextSeq: 4, clock: fakeClock() });
    const next = parse(continued.append(transcript()[1]!).line);
    assert.equal(next.seq, 4);
    assert.equal(next.prevDigest, last.digest);
    assert.equal(next.invocationId, `${last.digest.slice(7, 19)}-4`);
    assert.equal(parse(createReportChain({ sessionSeed: 'pod-7' }).append(transcript()[1]!).line).invocationId, 'pod-7-1');
    assert.equal(parse(createReportChain({ ids: (seq) => `id${seq * 10}` }).append(transcript()[1]!).line).invocationId, 'id10');
    assert.equal(parse(createReportChain().append({ ...transcript()[1]!, invocationId: 'given' }).line).invocationId, 'given');
  });

  it('should write the timing block last, from the injected clock, and keep the pid out of the digest', () => {
    let now = Date.UTC(2026, 2, 3, 4, 5, 6, 7);
    const chain = createReportChain({ clock: () => now, sessionSeed: 's' });
    const started = parse(chain.append({ ...transcript()[1]!, startedAt: now - 12 }).line);
    assert.deepEqual(started.timing, { startedAt: '2026-03-03T04:05:05.995Z', finishedAt: '2026-03-03T04:05:06.007Z', durationMs: 12 });
    now += 1000;
    const spawn = parse(chain.append(transcript()[0]!).line);
    assert.deepEqual(spawn.timing, { startedAt: '2026-03-03T04:05:07.007Z', pid: 4242 });
    const other = parse(createReportChain({ prevDigest: started.digest, nextSeq: 2, sessionSeed: 's' }).append({ ...transcript()[0]!, pid: 1 } as never).line);
    assert.equal(other.digest, spawn.digest, 'another pid, another time: the same digest');
  });

  it('should refuse a malformed starting point and non-integer counts', () => {
    assert.throws(() => createReportChain({ prevDigest: 'abc' }), /prevDigest/);
    assert.throws(() => createReportChain({ nextSeq: 0 }), /nextSeq/);
    assert.throws(() => createReportChain().append({ ...transcript()[1]!, generation: 1.5 }), /generation must be an integer/);
  });

  it('should keep the policy text per policy object, and follow a reload', () => {
    const chain = createReportChain();
    const a = parse(chain.append(transcript()[1]!).line);
    const reloaded = { ...POLICY, revision: '4' };
    const b = parse(chain.append({ ...(transcript()[1] as InvocationInput), policy: reloaded }).line);
    assert.equal(a.kind === 'invocation' && a.policy.revision, '3');
    assert.equal(b.kind === 'invocation' && b.policy.revision, '4');
  });
});
