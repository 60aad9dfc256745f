import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openTranscript } from '../../../components/transcript/index.js';
import { call, compile, policyYaml, quiet, recordSession, replay, tempDir, textResult, writeTemp, type Step } from './session.js';

const dir = tempDir();
const BASE_RULES = `  - id: client-methods
    methods: { from: client, allow: [initialize, ping, "notifications/*", "tools/*"] }
  - id: secrets
    redact: { detectors: all }
`;
const NO_DELETE = `  - id: no-delete
    tools: { deny: ["delete_*"] }
`;
const base = policyYaml('base', BASE_RULES);
const strict = policyYaml('strict', BASE_RULES + NO_DELETE);
const basePath = writeTemp(dir, 'base.yaml', base);
const strictPath = writeTemp(dir, 'strict.yaml', strict);

const session: Step[] = [
  call(1, 'read_file', { path: '/workspace/a' }), textResult(1, 'key AKIAIOSFODNN7EXAMPLE'),
  call(2, 'delete_file', { path: '/workspace/a' }), textResult(2, 'deleted'),
  call(3, 'delete_file', { path: '/workspace/b' }), textResult(3, 'deleted'),
  { from: 'client', message: { jsonrpc: '2.0', method: 'notifications/initialized' } },
];

async function transcriptUnder(yaml: string, steps: readonly Step[] = session, options: Parameters<typeof recordSession>[3] = {}): Promise<string> {
  const path = writeTemp(dir, 't.ndjson', '');
  await recordSession(path, yaml === '' ? undefined : await compile(yaml), steps, options);
  return path;
}

interface JsonOutput {
  summary: Record<string, { newly: number; noLonger: number; unchanged: number; nowEnforced: number; noLongerEnforced: number }>;
  differences: Array<{ category: string; change: string; rule: { id: string; kind: string; enforced: boolean }; target: { type: string; name: string }; invocations: Array<{ line: number; method: string; id?: string; newlyAllowed?: boolean }> }>;
  notes: Record<string, number | null>;
  [key: string]: unknown;
}
const json = (out: string): JsonOutput => JSON.parse(out) as JsonOutput;

describe('replay', () => {
  it('should report the invocations a rule added would newly deny, grouped by rule and tool', async () => {
    const transcript = await transcriptUnder(base);
    const { code, out, err } = await replay('--transcript', transcript, '--policy', strictPath);
    assert.equal(code, 0, err);
    assert.equal(err, '');
    assert.match(out, /1 run, 7 frames, 4 invocations/);
    assert.match(out, /^denied\s+2\s+0\s+0\s+0\s+0$/m);
    assert.match(out, /^redacted\s+0\s+0\s+1\s+0\s+0$/m);
    assert.match(out, /newly denied \(2 invocations\)\n {2}rule no-delete \(tools, enforced\)\n {4}tool delete_file\n {6}line 4: tools\/call id 2\n {6}line 6: tools\/call id 3\n/);
    // Their responses were recorded; under the candidate they would not exist: nothing else changes.
    assert.doesNotMatch(out, /^no longer/m);
  });

  it('should report the denies a removed rule would no longer make, with their responses not recorded', async () => {
    const transcript = await transcriptUnder(strict);
    const { code, out } = await replay('--transcript', transcript, '--policy', basePath, '--json');
    assert.equal(code, 0);
    const result = json(out);
    assert.deepEqual(result.summary['deny'], { newly: 0, noLonger: 2, unchanged: 0, nowEnforced: 0, noLongerEnforced: 0 });
    assert.deepEqual(result.differences, [{
      category: 'deny', change: 'noLonger', rule: { id: 'no-delete', kind: 'tools', enforced: true }, target: { type: 'tool', name: 'delete_file' },
      invocations: [{ line: 4, method: 'tools/call', id: '2', newlyAllowed: true }, { line: 5, method: 'tools/call', id: '3', newlyAllowed: true }],
    }]);
    assert.equal(result.notes['responsesNotRecorded'], 2);
    const text = await replay('--transcript', transcript, '--policy', basePath);
    assert.match(text.out, /no longer denied \(2 invocations\)[\s\S]*line 4: tools\/call id 2, newly allowed \(response not recorded\)/);
    assert.match(text.out, /2 requests the recording denied would be let through/);
  });

  it('should find the recorded secrets again: a redact rule replayed is unchanged, not "no longer redacted"', async () => {
    const transcript = await transcriptUnder(base);
    const result = json((await replay('--transcript', transcript, '--policy', basePath, '--json')).out);
    assert.deepEqual(result.summary['redact'], { newly: 0, noLonger: 0, unchanged: 1, nowEnforced: 0, noLongerEnforced: 0 });
    assert.deepEqual(result.differences, []);
    assert.match((await replay('--transcript', transcript, '--policy', basePath)).out, /no differences[\s\S]*the candidate is the policy the frames were recorded under/);
  });

  it('should replay rate limits at the recorded times, the same way every time', async () => {
    const start = 1_767_225_600_000;
    const steps = [0, 100, 200, 300, 400].flatMap((ms, i): Step[] => [{ ...call(i + 1, 'search'), at: start + ms }, { ...textResult(i + 1, 'ok'), at: start + ms + 1 }]);
    const limited = writeTemp(dir, 'limited.yaml', policyYaml('limited', `${BASE_RULES}  - id: search-rate\n    rateLimit: { tools: [search], capacity: 2, refillPerSecond: 1 }\n`));
    const transcript = await transcriptUnder(base, steps);
    const first = await replay('--transcript', transcript, '--policy', limited, '--json');
    const result = json(first.out);
    assert.deepEqual(result.summary['rate_limited'], { newly: 3, noLonger: 0, unchanged: 0, nowEnforced: 0, noLongerEnforced: 0 });
    assert.deepEqual(result.differences[0]!.invocations.map((i) => i.id), ['3', '4', '5']);
    assert.equal((await replay('--transcript', transcript, '--policy', limited, '--json')).out, first.out);
    // A second spaced a second apart: the bucket refills in time, nothing is limited.
    const slow = await transcriptUnder(base, [0, 1000, 2000, 3000].map((ms, i) => ({ ...call(i + 1, 'search'), at: start + ms })));
    assert.equal(json((await replay('--transcript', slow, '--policy', limited, '--json')).out).summary['rate_limited']!.newly, 0);
  });

  it('should replay the in-flight limit from when the responses were recorded', async () => {
    const limited = writeTemp(dir, 'in-flight.yaml', policyYaml('in-flight', BASE_RULES, 'limits: { maxInFlight: 1 }\n'));
    const overlapping = await transcriptUnder(base, [call(1, 'search'), call(2, 'search'), textResult(1, 'a'), textResult(2, 'b')]);
    const result = json((await replay('--transcript', overlapping, '--policy', limited, '--json')).out);
    assert.deepEqual(result.differences.map((d) => [d.category, d.change, d.rule.id, d.invocations.map((i) => i.id)]), [['rate_limited', 'newly', 'limits.maxInFlight', ['2']]]);
    const sequential = await transcriptUnder(base, [call(1, 'search'), textResult(1, 'a'), call(2, 'search'), textResult(2, 'b')]);
    assert.deepEqual(json((await replay('--transcript', sequential, '--policy', limited, '--json')).out).differences, []);
  });

  it('should pair a response with the latest request of its id, when ids are used again', async () => {
    const transcript = await transcriptUnder(base, [call(1, 'read_file'), textResult(1, 'AKIAIOSFODNN7EXAMPLE'), call(1, 'delete_file'), textResult(1, 'done')]);
    const result = json((await replay('--transcript', transcript, '--policy', strictPath, '--json')).out);
    assert.equal(result['invocations'], 2);
    assert.deepEqual(result.summary['redact'], { newly: 0, noLonger: 0, unchanged: 1, nowEnforced: 0, noLongerEnforced: 0 });
    assert.deepEqual(result.differences.map((d) => [d.change, d.target.name, d.invocations.map((i) => i.line)]), [['newly', 'delete_file', [4]]]);
  });

  it('should say it cannot evaluate argument rules on arguments recorded as digests, not pretend they pass', async () => {
    const paths = writeTemp(dir, 'paths.yaml', policyYaml('paths', `${BASE_RULES}  - id: workspace-paths\n    arguments:\n      tool: "*"\n      properties: { /path: { type: string, pathPrefix: /elsewhere/ } }\n      required: [/path]\n`));
    const digested = await transcriptUnder(base, session, { arguments: 'digest' });
    const { out } = await replay('--transcript', digested, '--policy', paths);
    assert.match(out, /^denied\s+0\s+0\s+0\s+0\s+0$/m);
    assert.match(out, /3 invocations had their arguments recorded as digests: argument rules and limits.maxDepth were not evaluated on them/);
    // With the arguments recorded, the same candidate denies all three.
    const redacted = await transcriptUnder(base);
    assert.equal(json((await replay('--transcript', redacted, '--policy', paths, '--json')).out).summary['deny']!.newly, 3);
  });

  it('should give the same bytes for the same transcript and policy, text and JSON', async () => {
    const transcript = await transcriptUnder(base);
    for (const extra of [[], ['--json']]) {
      const runs = await Promise.all([1, 2].map(() => replay('--transcript', transcript, '--policy', strictPath, ...extra)));
      assert.equal(runs[0]!.out, runs[1]!.out);
    }
  });

  it('should print a stable JSON document', async () => {
    const transcript = await transcriptUnder(base);
    const result = json((await replay('--transcript', transcript, '--policy', strictPath, '--json', '--fail-on', 'new-denies')).out);
    assert.deepEqual(Object.keys(result), ['format', 'version', 'transcript', 'candidate', 'recorded', 'runs', 'frames', 'invocations', 'summary', 'newDenials', 'differences', 'notes', 'failOn']);
    assert.equal(result['format'], 'mcp-sidecar-replay');
    assert.equal(result['transcript'], transcript);
    assert.deepEqual(Object.keys(result['candidate'] as object), ['file', 'name', 'revision', 'digest', 'mode']);
    assert.deepEqual((result['recorded'] as Array<{ name: string }>).map((p) => p.name), ['base']);
    assert.deepEqual(Object.keys(result.summary), ['deny', 'rate_limited', 'redact', 'rewrite']);
    assert.deepEqual(result.notes, { framesNotRecorded: 0, argumentsNotEvaluated: 0, responsesNotRecorded: 0, unpairedResponses: 0, tornLine: null });
    assert.equal(result['newDenials'], 2);
    assert.deepEqual(result['failOn'], { condition: 'new-denies', triggered: true });
  });

  it('should exit 1 under --fail-on new-denies only when an invocation would newly be denied or rate-limited', async () => {
    const failing = await replay('--transcript', await transcriptUnder(base), '--policy', strictPath, '--fail-on', 'new-denies');
    assert.equal(failing.code, 1);
    assert.match(failing.err, /--fail-on new-denies: 2 invocations would newly be denied or rate-limited/);
    assert.equal((await replay('--transcript', await transcriptUnder(strict), '--policy', basePath, '--fail-on=new-denies')).code, 0);
    assert.equal((await replay('--transcript', await transcriptUnder(base), '--policy', strictPath)).code, 0, 'without --fail-on, differences are not a failure');
  });

  it('should show a deny that becomes enforced (observe to enforce), and count it as a new deny', async () => {
    const observed = await transcriptUnder(strict.replace('mode: enforce', 'mode: observe'));
    const enforcing = await replay('--transcript', observed, '--policy', strictPath, '--fail-on', 'new-denies');
    assert.equal(enforcing.code, 1);
    assert.match(enforcing.out, /^denied\s+0\s+0\s+2\s+2\s+0$/m);
    assert.match(enforcing.out, /denied, now enforced \(2 invocations\)\n {2}rule no-delete \(tools, enforced\)\n {4}tool delete_file\n {6}line 4/);
    const back = await replay('--transcript', await transcriptUnder(strict), '--policy', writeTemp(dir, 'observe.yaml', strict.replace('mode: enforce', 'mode: observe')), '--json', '--fail-on', 'new-denies');
    assert.equal(back.code, 0);
    const result = json(back.out);
    assert.deepEqual(result.summary['deny'], { newly: 0, noLonger: 0, unchanged: 2, nowEnforced: 0, noLongerEnforced: 2 });
    assert.deepEqual(result.differences.map((d) => [d.category, d.change, d.rule.id, d.invocations.map((i) => i.newlyAllowed ?? false)]), [
      ['deny', 'noLongerEnforced', 'no-delete', [true, true]],
      ['redact', 'noLongerEnforced', 'secrets', [false]], // a global observe makes every rule a would-have
    ]);
  });

  it('should name every policy the frames were recorded under, reloads included', async () => {
    const path = writeTemp(dir, 'reload.ndjson', '');
    const writer = openTranscript({ path, arguments: 'redacted', logger: quiet, policy: { name: 'p', revision: '1', digest: 'a'.repeat(64), mode: 'enforce' } });
    writer.recordPolicy({ name: 'p', revision: '2', digest: 'b'.repeat(64), mode: 'observe' });
    await writer.close();
    const { out } = await replay('--transcript', path, '--policy', basePath);
    assert.match(out, /^recorded under p revision 1 \(enforce, sha256:a{64}\), then p revision 2 \(observe, sha256:b{64}\)$/m);
    assert.match(out, /0 frames, 0 invocations/);
  });

  it('should replay each frame with its session and caller: ids pair per session, conditions see the identity', async () => {
    const acme = { tenantId: 'acme' };
    const other = { tenantId: 'other' };
    const steps: Step[] = [
      { ...call(1, 'delete_file'), session: 's1', identity: acme },
      { ...call(1, 'delete_file'), session: 's2', identity: other },
      { ...textResult(1, 'AKIAIOSFODNN7EXAMPLE'), session: 's2', identity: other },
      { ...textResult(1, 'done'), session: 's1', identity: acme },
    ];
    const transcript = await transcriptUnder(base, steps);
    assert.match(readFileSync(transcript, 'utf8'), /"session":"s1","identity":\{"tenantId":"acme"\}/);
    const acmeOnly = writeTemp(dir, 'acme.yaml', policyYaml('acme', `${BASE_RULES}  - id: no-delete-acme\n    when: { identity: { tenantId: [acme] } }\n    tools: { deny: ["delete_*"] }\n`));
    const result = json((await replay('--transcript', transcript, '--policy', acmeOnly, '--json')).out);
    assert.deepEqual(result.differences.map((d) => [d.rule.id, d.invocations.map((i) => i.line)]), [['no-delete-acme', [2]]]);
    assert.deepEqual(result.summary['redact'], { newly: 0, noLonger: 0, unchanged: 1, nowEnforced: 0, noLongerEnforced: 0 }, 'the s2 response pairs with the s2 request');
  });

  it('should replay every recording of a file, each with fresh rate-limit buckets', async () => {
    const path = writeTemp(dir, 'two-runs.ndjson', '');
    await recordSession(path, await compile(base), [call(1, 'search'), call(2, 'search')], { start: 1000 });
    await recordSession(path, await compile(base), [call(1, 'search'), call(2, 'search')], { start: 1000 });
    const once = writeTemp(dir, 'once.yaml', policyYaml('once', `${BASE_RULES}  - id: once\n    rateLimit: { tools: [search], capacity: 1, refillPerSecond: 0.001 }\n`));
    const result = json((await replay('--transcript', path, '--policy', once, '--json')).out);
    assert.equal(result['runs'], 2);
    assert.deepEqual(result.differences[0]!.invocations.map((i) => i.line), [3, 6]);
  });
});

describe('replay input errors', () => {
  const valid = (async () => transcriptUnder(base))();
  const withLines = async (edit: (lines: string[]) => string[], name = 'edited.ndjson'): Promise<string> => {
    const lines = readFileSync(await valid, 'utf8').trimEnd().split('\n');
    return writeTemp(dir, name, `${edit(lines).join('\n')}\n`);
  };

  it('should name the missing transcript', async () => {
    const missing = join(dir, 'nope.ndjson');
    const { code, out, err } = await replay('--transcript', missing, '--policy', basePath);
    assert.equal(code, 2);
    assert.equal(out, '');
    assert.equal(err, `replay: cannot read the transcript ${missing}: ENOENT: no such file or directory, open '${missing}'\n`);
  });

  it('should name the line that is not JSON, or not what the format says', async () => {
    const broken = await withLines((lines) => [...lines.slice(0, 2), '{"type":"frame", oops', ...lines.slice(2)]);
    const notJson = await replay('--transcript', broken, '--policy', basePath);
    assert.equal(notJson.code, 2);
    assert.match(notJson.err, new RegExp(`^replay: ${broken.replaceAll('.', '\\.')}:3: not JSON: `));
    const wrong = await withLines((lines) => [lines[0]!, lines[1]!.replace('"client-to-server"', '"sideways"'), ...lines.slice(2)]);
    assert.match((await replay('--transcript', wrong, '--policy', basePath)).err, /:2: direction must be one of client-to-server, server-to-client, found "sideways"\n$/);
    const headless = await withLines((lines) => lines.slice(1));
    assert.match((await replay('--transcript', headless, '--policy', basePath)).err, /:1: a transcript starts with a header line/);
    const future = await withLines((lines) => [lines[0]!.replace('"version":1', '"version":2'), ...lines.slice(1)]);
    assert.match((await replay('--transcript', future, '--policy', basePath)).err, /:1: transcript version 2 is not supported \(this mcp-sidecar reads version 1\)/);
    const empty = writeTemp(dir, 'empty.ndjson', '');
    assert.match((await replay('--transcript', empty, '--policy', basePath)).err, /empty\.ndjson:1: the transcript is empty/);
  });

  it('should skip a torn last line (a killed proxy) with a warning and a note', async () => {
    const torn = writeTemp(dir, 'torn.ndjson', readFileSync(await valid, 'utf8'));
    appendFileSync(torn, '{"type":"frame","at":17672');
    const { code, out, err } = await replay('--transcript', torn, '--policy', strictPath);
    assert.equal(code, 0);
    assert.match(out, /line 9 was cut short/);
    assert.match(err, /torn\.ndjson:9: the last line was cut short and was skipped/);
    assert.match(out, /7 frames/);
  });

  it('should refuse an unknown flag, a missing flag, a bad --fail-on, and name the bad policy', async () => {
    const transcript = await valid;
    const cases: Array<[string[], RegExp]> = [
      [['--transcript', transcript, '--policy', basePath, '--frobnicate'], /^replay: unknown option --frobnicate\nusage: mcp-sidecar replay/],
      [['--transcript', transcript], /^replay: give the candidate policy: --policy <file>/],
      [['--policy', basePath], /^replay: give the transcript: --transcript <file>/],
      [['--transcript', transcript, '--policy', basePath, 'extra'], /^replay: unexpected argument "extra"/],
      [['--transcript', transcript, '--policy', basePath, '--fail-on', 'everything'], /^replay: --fail-on accepts new-denies, not "everything"/],
      [['--transcript', transcript, '--policy'], /^replay: --policy needs a value/],
      [['--transcript', transcript, '--policy', join(dir, 'none.yaml')], /^replay: .*none\.yaml: ENOENT/],
      [['--transcript', transcript, '--policy', writeTemp(dir, 'bad.yaml', 'apiVersion: mcp-sidecar/v1\nkind: Policy\n')], /^replay: The policy file is not a valid policy: .*bad\.yaml: 1 error\n.*bad\.yaml:1:1: metadata: required key is missing/],
    ];
    for (const [args, message] of cases) {
      const { code, out, err } = await replay(...args);
      assert.equal(code, 2, args.join(' '));
      assert.equal(out, '');
      assert.match(err, message);
    }
    const help = await replay('--help');
    assert.equal(help.code, 0);
    assert.match(help.out, /^usage: mcp-sidecar replay --transcript <file> --policy <candidate\.yaml>/);
  });
});

// A transcript the writer did not produce still replays if it follows the format (docs/replay.md).
describe('replay of a hand-written transcript', () => {
  it('should accept the documented fields, in any order, and ignore unknown ones', async () => {
    const path = join(dir, 'hand.ndjson');
    writeFileSync(path, [
      '{"version":1,"format":"mcp-sidecar-transcript","type":"header","arguments":"redacted","policy":null,"comment":"by hand"}',
      '{"type":"frame","at":0,"direction":"client-to-server","phase":"request","kind":"request","method":"tools/call","id":"\\"a\\"","action":"forward","decisions":[],"bytes":0,"frame":{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"delete_file"}}}',
      '',
    ].join('\n'));
    const result = json((await replay('--transcript', path, '--policy', strictPath, '--json')).out);
    assert.deepEqual(result.differences.map((d) => [d.rule.id, d.invocations[0]!.id]), [['no-delete', '"a"']]);
    assert.deepEqual(result['recorded'], [null]);
  });
});
