import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  argumentsDigest, canonicalText, createReportChain, digestOf, responseDigest, type ReportDecision, type ReportInput,
} from '../../../components/execution-report/index.js';
import { canonicalJson } from '../../../components/policy/index.js';
import { POLICY, transcript } from './reports.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const sha = (text: string | Buffer): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;


const ALPHABET = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u007f', 'é', '€', '✓', '😀', '\ud800', '\udfff', '\u2028'];

function generator(next: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const text = (): string => Array.from({ length: Math.floor(next() * 8) }, () => pick(ALPHABET)).join('');
  const maybe = <T>(make: () => T): T | undefined => (next() < 0.5 ? make() : undefined);
  const json = (depth: number): unknown => {
    const kind = depth > 2 ? Math.floor(next() * 4) : Math.floor(next() * 6);
    switch (kind) {
      case 0: return text();
      case 1: return pick([0, -0, 1.5, -2e-7, 1e21, 123456789.123, Number.MAX_SAFE_INTEGER]);
      case 2: return pick([true, false]);
      case 3: return null;
      case 4: return Array.from({ length: Math.floor(next() * 3) }, () => json(depth + 1));
      default: return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [text(), json(depth + 1)]));
    }
  };
  const decision = (): ReportDecision => ({
    ruleId: text() || 'r', kind: pick(['tools', 'redact']), phase: pick(['request', 'response'] as const), effect: pick(['deny', 'rewrite'] as const),
    enforced: next() < 0.5, reason: text() || 'why', changes: maybe(() => Math.floor(next() * 5)),
  });
  return (): ReportInput => next() < 0.2
    ? {
      kind: 'lifecycle', event: pick(['spawn', 'exit', 'restart', 'fatal', 'refused'] as const), generation: Math.floor(next() * 3),
      detail: { command: maybe(text), exitCode: maybe(() => pick([0, 1, null])), signal: maybe(() => pick(['SIGKILL', null])), attempt: maybe(() => 2), reason: maybe(text) },
      pid: maybe(() => 77), dropped: maybe(() => 3),
    }
    : {
      kind: 'invocation', direction: pick(['client-to-server', 'server-to-client'] as const), method: text(), generation: Math.floor(next() * 3),
      target: maybe(() => ({ type: pick(['tool', 'prompt', 'resource'] as const), name: text() })), requestId: maybe(() => JSON.stringify(text())),
      argumentsDigest: maybe(() => sha(text())), arguments: maybe(() => json(0)), responseDigest: maybe(() => sha(text())),
      policy: next() < 0.5 ? POLICY : { name: text() || 'p', revision: text(), digest: sha('p') }, mode: pick(['observe', 'enforce'] as const),
      decisions: Array.from({ length: Math.floor(next() * 3) }, decision), outcome: pick(['forwarded', 'blocked', 'timeout'] as const),
      identity: maybe(() => ({ tenantId: maybe(text), userId: maybe(text), agentId: maybe(text) })), dropped: maybe(() => 1),
    };
}

describe('digests', () => {
  it('should give the same argumentsDigest whatever the key order, at every depth', () => {
    const a = argumentsDigest({ path: '/tmp', options: { depth: 2, follow: true }, list: [{ b: 1, a: 2 }] });
    const b = argumentsDigest({ list: [{ a: 2, b: 1 }], options: { follow: true, depth: 2 }, path: '/tmp' });
    assert.equal(a, b);
    assert.equal(a, sha('{"list":[{"a":2,"b":1}],"options":{"depth":2,"follow":true},"path":"/tmp"}'));
    assert.notEqual(argumentsDigest({ list: [1, 2] }), argumentsDigest({ list: [2, 1] }), 'array order counts');
  });

  it('should never throw on arguments JSON.parse produced: 1e400 is Infinity, written as null', () => {
    const parsed = JSON.parse('{"n":1e400}') as unknown;
    assert.equal(argumentsDigest(parsed), sha('{"n":null}'));
    assert.equal(canonicalText({ a: undefined, b: 1 }), '{"b":1}');
  });

  it('should hash a response\'s bytes exactly as given, and any other value as its canonical JSON', () => {
    const bytes = Buffer.from('{"jsonrpc":"2.0","id":1,"result":{"b":1,"a":2}}');
    assert.equal(responseDigest(bytes), sha(bytes));
    assert.equal(responseDigest({ b: 1, a: 2 }), sha('{"a":2,"b":1}'));
  });

  it('should leave digest, signature and timing out of a report\'s digest', () => {
    const report = { schema: 'x', seq: 1 };
    const expected = sha('{"schema":"x","seq":1}');
    assert.equal(digestOf(report), expected);
    assert.equal(digestOf({ ...report, digest: 'sha256:00', signature: { value: 'v' }, timing: { startedAt: 'now' } }), expected);
  });
});

describe('the fast report writer', () => {
  it('should write exactly the canonical JSON of the report (without digest, signature, timing), for 3000 generated reports', () => {
    const next = seededRandom(20261121);
    const input = generator(next);
    const chain = createReportChain({ clock: () => 0, sessionSeed: 'fuzz' });
    for (let i = 0; i < 3000; i++) {
      const { line, digest } = chain.append(input());
      const parsed = JSON.parse(line) as Record<string, unknown>;
      const { digest: stored, signature: _s, timing: _t, ...body } = parsed;
      const canonical = canonicalJson(body);
      assert.ok(line.startsWith(canonical.slice(0, -1)), `line ${i}: ${line}\ncanonical: ${canonical}`);
      assert.equal(stored, digest);
      assert.equal(digestOf(parsed), digest, `line ${i}`);
    }
  });

  it('should record only the fields of the schema: a decision\'s message and unknown input keys never reach the line', () => {
    const line = createReportChain().append(transcript()[3]!).line;
    assert.ok(!line.includes('the words for people'), line);
    const extra = createReportChain().append({ ...transcript()[1]!, secret: 'x' } as unknown as ReportInput).line;
    assert.ok(!extra.includes('secret'), extra);
  });
});
