// One reading (issue 12), the differential property: every frame the proxy forwards under a
// policy reads as exactly one frame, with the method, tool name and arguments the policy
// judged, to (a) JSON.parse per `\n` line, (b) a universal-newline reader (Python's
// TextIOWrapper, and Python's exact integers), (c) Go's encoding/json matching member names
// without case (Unicode simple folding, last one wins), and (d) a strict UTF-8 decoder
// (test/fuzz/readers.ts). Seeded frames, valid and mutated, through the pump in process with a
// real compiled policy (test/fixtures/one-reading/policy.yaml). ONE_READING_SEED=<n> replays a run.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { describeFailure, runPumpFuzz, type FuzzReport } from '../../fuzz/engine.js';
import { KNOWN_GAPS } from '../../fuzz/known-bugs.js';
import { policyFromFile } from '../../fuzz/pump-harness.js';
import { checkForwarded, goFold } from '../../fuzz/readers.js';
import { CORPUS_FILE } from '../../fuzz/corpus.js';

const SEED = Number(process.env.ONE_READING_SEED ?? 20_126);
const FRAMES = 20_000;
const POLICY = CORPUS_FILE.replace(/corpus\.json$/, 'policy.yaml');
const kinds = (text: string): string[] => checkForwarded(Buffer.from(text)).map((v) => v.kind);

describe('the readers the property is checked with', () => {
  // The oracle must see what it is there to see: each reader flags the form it models.
  test('a clean frame, and a CRLF one, read one way', () => {
    assert.deepEqual(kinds('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"path":"/a","é":1}}}\n'), []);
    assert.deepEqual(kinds('{"jsonrpc":"2.0","id":1,"method":"ping"}\r\n'), []);
    assert.deepEqual(kinds('[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]\n'), []);
  });
  test('a CR inside the line is two lines to a universal-newline reader', () => {
    assert.deepEqual(kinds('{"jsonrpc":"2.0",\r"id":1,"method":"ping"}\n'), ['universal-newlines']);
  });
  test("Go's encoding/json matches names without case, the last one winning", () => {
    assert.ok(kinds('{"jsonrpc":"2.0","id":1,"Method":"tools/call"}\n').includes('go-field'));
    assert.ok(kinds('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"path":"/a","Path":"/b"}}}\n').includes('go-field'));
    assert.ok(kinds('{"jsonrpc":"2.0","id":1,"method":"tools/call","paramſ":{"name":"x"}}\n').includes('go-field'));
    assert.deepEqual(kinds('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestid":5}}\n'), ['go-field-lowercase']);
    assert.deepEqual(kinds('{"jsonrpc":"2.0","id":1,"method":"x","params":{"arguments":{"straße":1,"STRAẞE":2}}}\n'), ['go-field-sharp-s']);
    assert.deepEqual(kinds('{"jsonrpc":"2.0","id":1,"result":{"content":[],"iserror":true}}\n'), ['go-field-lowercase']);
  });
  test('Unicode simple folding, as Go folds names', () => {
    assert.equal(goFold('paramſ'), goFold('PARAMS'));
    assert.equal(goFold('\u212Aey'), goFold('key'));
    assert.equal(goFold('ẞ'), goFold('ß'));
    assert.equal(goFold('µ'), goFold('Μ'));
    assert.notEqual(goFold('ß'), goFold('ss'));
    assert.notEqual(goFold('İd'), goFold('id'));
  });
  test('lone surrogates, invalid UTF-8, numbers peers read differently', () => {
    assert.deepEqual(kinds('{"jsonrpc":"2.0","id":1,"method":"x","params":{"t":"\\ud800"}}\n'), ['go-value']);
    assert.deepEqual(checkForwarded(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"x","params":{"t":"\xff"}}\n', 'latin1')).map((v) => v.kind), ['utf8']);
    assert.deepEqual(kinds('{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":1e400}}\n'), ['go-number']);
    assert.deepEqual(kinds('{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":9007199254740993}}\n'), ['python-int']);
    assert.deepEqual(kinds('{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1,}}\n'), ['json-parse']);
  });
  test('what the policy judged is compared', () => {
    const line = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}}\n');
    assert.deepEqual(checkForwarded(line, () => ({ method: 'tools/call', body: { method: 'tools/call', params: { name: 'delete_file', arguments: { a: 1 } } } })).map((v) => v.kind), ['judged']);
    assert.deepEqual(checkForwarded(line, () => undefined, { requireJudged: true }).map((v) => v.kind), ['unjudged']);
  });
});

describe('one reading: what the proxy forwards under a policy reads one way', () => {
  let report: FuzzReport;
  before(async () => {
    console.log(`one-reading differential: seed ${SEED} (ONE_READING_SEED=${SEED} replays it)`);
    const policy = await policyFromFile(POLICY);
    report = await runPumpFuzz({ seed: SEED, frames: FRAMES, seconds: 60, variants: [{ name: 'policy', policy }] });
  });

  test(`${FRAMES} seeded frames: every forwarded one read alike by every reader and as the policy judged it`, (t) => {
    t.diagnostic(`seed ${SEED}: ${report.frames.client} client and ${report.frames.server} server frames in ${report.seconds} s; forwarded ${JSON.stringify(report.forwarded)}, refused ${JSON.stringify(report.refused)}; ${report.judged} compared with the policy's reading`);
    assert.deepEqual(report.failures.map((f) => describeFailure(f, SEED)), []);
    assert.ok(report.frames.client + report.frames.server >= FRAMES);
    // A good share of each: the property is checked on many forwarded frames, and the mutations are not all refused.
    assert.ok(report.forwarded.client >= report.frames.client * 0.25, `forwarded ${report.forwarded.client} of ${report.frames.client} client frames`);
    assert.ok(report.refused.client >= report.frames.client * 0.25, `refused ${report.refused.client} of ${report.frames.client} client frames`);
    assert.ok(report.judged >= report.forwarded.client * 0.5, `${report.judged} forwarded frames compared with what the policy judged`);
  });

  for (const [kind, why] of Object.entries(KNOWN_GAPS)) {
    test(`no forwarded frame reads differently: ${kind}`, { todo: why }, () => {
      const gap = report.gaps[kind];
      assert.equal(gap?.count ?? 0, 0, `${gap?.count} forwarded frames (seed ${SEED}); minimal: ${gap?.minimal ?? '(did not shrink)'}; first: ${gap?.example}`);
    });
  }
});
