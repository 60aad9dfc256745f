import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  argumentsDigest, canonicalText, createReportChain, digestOf, responseDigest, type ReportInput,
} from '../../../components/execution-report/index.js';
import { canonicalJson } from '../../../components/policy/document/index.js';
import { generator, transcript } from './reports.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const sha = (text: string | Buffer): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

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
