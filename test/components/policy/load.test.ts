import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RE2JS } from 're2js';
import { isSidecarError } from '../../../components/errors/index.js';
import { canonicalJson, loadPolicyFile, parsePolicyText, PolicyInvalidError, type PolicyDocument } from '../../../components/policy/document/index.js';

const HEAD = ['apiVersion: mcp-sidecar/v1', 'kind: Policy', 'metadata: { name: p, revision: 1 }'];
const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;
const policy = (...lines: string[]): string => yaml(...HEAD, ...lines);

/** The errors of a file that must not load, formatted as the loader prints them. */
function errorsOf(text: string): string[] {
  try {
    parsePolicyText(text, 'p.yaml');
  } catch (error) {
    assert.ok(error instanceof PolicyInvalidError, `a PolicyInvalidError, got ${String(error)}`);
    return error.message.split('\n').slice(1);
  }
  assert.fail('the policy loaded');
}

const KINDS = 'methods, tools, prompts, resources, hide, arguments, rateLimit, redact, deadline, pins';
const RULE_KEYS = `id, description, mode, when, unless, tests, ${KINDS}`;
const TOP_KEYS = 'apiVersion, kind, metadata, mode, governor, limits, rules';
const SIZE = 'a size in bytes from 1024 to 1073741824 (a number, optionally with KiB, MiB or GiB)';
const POINTER = 'a JSON pointer such as "/path", "/options/depth" or "/paths/*" (with "~0" for "~", "~1" for "/", and "*" for each element of an array, but not first)';
const DOCUMENT = 'a policy document (a mapping with apiVersion: mcp-sidecar/v1, kind: Policy, metadata and rules)';

const FULL = yaml(
  'apiVersion: mcp-sidecar/v1',
  'kind: Policy',
  'metadata: { name: full, revision: 7, description: every rule kind }',
  'mode: observe',
  'governor:',
  '  allow: ["node servers/"]',
  '  executableSha256: ' + 'AB'.repeat(32),
  '  passEnv: [AWS_*, DATABASE_URL]',
  '  setEnv: { MODE: read-only }',
  '  maxRestarts: 3',
  'limits:',
  '  maxDepth: 64',
  '  maxInFlight: 32',
  '  maxFrameBytes: { "tools/call": 1MiB, "resources/read": 512KiB, "prompts/get": "16777216", "*": 4096 }',
  'rules:',
  '  - id: client-methods',
  '    methods: { allow: [initialize, ping, "notifications/*", "tools/*"] }',
  '  - id: server-methods',
  '    methods: { from: server, deny: [sampling/createMessage] }',
  '  - id: read-only-tools',
  '    description: only reading',
  '    tools: { allow: ["read_*", "list_*"], deny: [read_secret], reply: tool-error }',
  '  - id: prompts',
  '    prompts: { deny: ["admin_*"] }',
  '  - id: workspace-resources',
  '    resources: { allow: ["file:///workspace/*"] }',
  '  - id: hide-admin',
  '    hide: { tools: ["admin_*"], prompts: [debug] }',
  '  - id: workspace-paths',
  '    mode: enforce',
  '    arguments:',
  '      tool: read_file',
  '      properties:',
  '        /path: { type: string, pathPrefix: /workspace/, maxLength: 4096, pattern: "^[^\\\\x00]*$" }',
  '        /options/depth: { type: integer, minimum: 0, maximum: 8 }',
  '        /a~1b~0c: { enum: [x, 1, null] }',
  '      required: [/path]',
  '      forbidden: [/options/follow_symlinks]',
  '  - id: call-rate',
  '    rateLimit: { tools: ["*"], capacity: 20, refillPerSecond: 0.5 }',
  '  - id: secrets',
  '    mode: observe',
  '    redact:',
  '      detectors: [jwt, github-token]',
  '      patterns: [{ name: employee-id, pattern: "EMP-[0-9]{6}" }]',
  '      in: [tools/call]',
);

const FULL_EXPECTED: PolicyDocument = {
  apiVersion: 'mcp-sidecar/v1',
  kind: 'Policy',
  metadata: { name: 'full', revision: '7', description: 'every rule kind' },
  mode: 'observe',
  governor: {
    allow: ['node servers/'],
    executableSha256: 'ab'.repeat(32),
    passEnv: ['AWS_*', 'DATABASE_URL'],
    setEnv: { MODE: 'read-only' },
    maxRestarts: 3,
  },
  limits: {
    maxDepth: 64,
    maxInFlight: 32,
    maxFrameBytes: { 'tools/call': 1048576, 'resources/read': 524288, 'prompts/get': 16777216, '*': 4096 },
  },
  rules: [
    { id: 'client-methods', methods: { from: 'client', allow: ['initialize', 'ping', 'notifications/*', 'tools/*'] } },
    { id: 'server-methods', methods: { from: 'server', deny: ['sampling/createMessage'] } },
    { id: 'read-only-tools', description: 'only reading', tools: { allow: ['read_*', 'list_*'], deny: ['read_secret'], reply: 'tool-error' } },
    { id: 'prompts', prompts: { deny: ['admin_*'] } },
    { id: 'workspace-resources', resources: { allow: ['file:///workspace/*'] } },
    { id: 'hide-admin', hide: { tools: ['admin_*'], prompts: ['debug'] } },
    {
      id: 'workspace-paths',
      mode: 'enforce',
      arguments: {
        tool: 'read_file',
        properties: {
          '/path': { type: 'string', pathPrefix: '/workspace/', maxLength: 4096, pattern: '^[^\\x00]*$' },
          '/options/depth': { type: 'integer', minimum: 0, maximum: 8 },
          '/a~1b~0c': { enum: ['x', 1, null] },
        },
        required: ['/path'],
        forbidden: ['/options/follow_symlinks'],
        reply: 'error',
      },
    },
    { id: 'call-rate', rateLimit: { tools: ['*'], per: 'tool', capacity: 20, refillPerSecond: 0.5 } },
    { id: 'secrets', mode: 'observe', redact: { detectors: ['jwt', 'github-token'], patterns: [{ name: 'employee-id', pattern: 'EMP-[0-9]{6}' }], in: ['tools/call'] } },
  ],
};

describe('parsePolicyText: a valid policy', () => {
  it('should parse every rule kind to the normalized document (sizes in bytes, revision a string, defaults applied)', () => {
    const loaded = parsePolicyText(FULL, 'policies/full.yaml');
    assert.deepEqual(loaded.document, FULL_EXPECTED);
    assert.equal(loaded.source, 'policies/full.yaml');
  });

  it('should apply the defaults to a minimal policy', () => {
    const { document } = parsePolicyText(yaml('apiVersion: mcp-sidecar/v1', 'kind: Policy', 'metadata: { name: min, revision: "2024-06-01.a" }'), 'min.yaml');
    assert.deepEqual(document, {
      apiVersion: 'mcp-sidecar/v1', kind: 'Policy', metadata: { name: 'min', revision: '2024-06-01.a' }, mode: 'enforce', governor: {}, limits: {}, rules: [],
    });
  });

  it('should default methods.from, tools.reply, arguments.reply and rateLimit.per', () => {
    const { document } = parsePolicyText(policy(
      'rules:',
      '  - { id: m, methods: { allow: [ping] } }',
      '  - { id: t, tools: { deny: [x] } }',
      '  - { id: a, arguments: { tool: t, required: [/x] } }',
      '  - { id: r, rateLimit: { methods: ["*"], capacity: 1, refillPerSecond: 1 } }',
    ), 'p.yaml');
    assert.deepEqual(document.rules, [
      { id: 'm', methods: { from: 'client', allow: ['ping'] } },
      { id: 't', tools: { deny: ['x'], reply: 'error' } },
      { id: 'a', arguments: { tool: 't', required: ['/x'], reply: 'error' } },
      { id: 'r', rateLimit: { methods: ['*'], per: 'tool', capacity: 1, refillPerSecond: 1 } },
    ]);
  });

  it('should freeze the document all the way down', () => {
    const { document } = parsePolicyText(FULL, 'full.yaml');
    assert.ok(Object.isFrozen(document));
    assert.ok(Object.isFrozen(document.rules));
    assert.ok(Object.isFrozen(document.rules[6]));
    assert.ok(Object.isFrozen((document.rules[6] as { arguments: { properties: object } }).arguments.properties));
    assert.ok(Object.isFrozen(document.limits.maxFrameBytes));
  });

  it('should digest the canonical JSON, the same however the file spells the same policy', () => {
    const a = parsePolicyText(policy('limits: { maxFrameBytes: { "*": 1MiB } }', 'rules: [{ id: x, hide: { tools: [a] } }]'), 'a.yaml');
    const b = parsePolicyText(yaml(
      '# the same policy, written differently',
      'kind: Policy',
      'rules:',
      '  - hide:',
      '      tools: [a]',
      '    id: x',
      'limits:',
      '  maxFrameBytes:',
      '    "*": 1048576',
      'metadata: { revision: "1", name: p }',
      'mode: enforce',
      'apiVersion: mcp-sidecar/v1',
    ), 'b.yaml');
    assert.match(a.digest, /^[0-9a-f]{64}$/);
    assert.equal(a.digest, b.digest);
    assert.equal(a.digest, createHash('sha256').update(canonicalJson(a.document)).digest('hex'));
    assert.notEqual(a.digest, parsePolicyText(policy('mode: observe'), 'c.yaml').digest);
  });

  it('should accept a catastrophic-backtracking pattern such as (a+)+$, because RE2 matches it in linear time', () => {
    const { document } = parsePolicyText(policy(
      'rules:',
      '  - id: a',
      '    arguments: { tool: t, properties: { /s: { pattern: "(a+)+$" } } }',
    ), 'p.yaml');
    const pattern = (document.rules[0] as { arguments: { properties: Record<string, { pattern: string }> } }).arguments.properties['/s']!.pattern;
    // In JavaScript's backtracking RegExp this input takes exponential time; RE2 returns (no match) at once.
    assert.equal(RE2JS.compile(pattern).test(`${'a'.repeat(100_000)}!`), false);
    assert.equal(RE2JS.compile(pattern).test('aaa'), true);
  });
});

describe('parsePolicyText: errors, each with its file, line, column, path, what was expected and what was found', () => {
  it('should reject an unknown top-level key', () => {
    assert.deepEqual(errorsOf(policy('rulez: []')), [`p.yaml:4:1: rulez: unknown key "rulez" (expected one of: ${TOP_KEYS})`]);
  });

  it('should reject an unknown key inside a rule, pointing at the key', () => {
    assert.deepEqual(errorsOf(policy('rules:', '  - id: a', '    match: x', '    tools: { allow: [x] }')), [
      `p.yaml:6:5: rules[0].match: unknown key "match" (expected one of: ${RULE_KEYS})`,
    ]);
  });

  it('should reject an unknown key inside a rule kind', () => {
    assert.deepEqual(errorsOf(policy('rules:', '  - id: a', '    tools: { allow: [x], allowed: [y] }')), [
      'p.yaml:6:26: rules[0].tools.allowed: unknown key "allowed" (expected one of: allow, deny, reply)',
    ]);
  });

  it('should reject a rule with two kinds', () => {
    assert.deepEqual(errorsOf(policy('rules:', '  - id: a', '    tools: { allow: [x] }', '    hide: { tools: [y] }')), [
      `p.yaml:5:5: rules[0]: expected exactly one rule kind (one of: ${KINDS}), found 2 kinds: tools, hide`,
    ]);
  });

  it('should reject a rule with no kind', () => {
    assert.deepEqual(errorsOf(policy('rules:', '  - id: a', '    description: does nothing')), [
      `p.yaml:5:5: rules[0]: expected exactly one rule kind (one of: ${KINDS}), found none`,
    ]);
  });

  it('should reject a wrong apiVersion and kind', () => {
    assert.deepEqual(errorsOf(yaml('apiVersion: mcp-sidecar/v2', 'kind: Polcy', 'metadata: { name: p, revision: 1 }')), [
      'p.yaml:1:13: apiVersion: expected "mcp-sidecar/v1", found "mcp-sidecar/v2"',
      'p.yaml:2:7: kind: expected "Policy", found "Polcy"',
    ]);
  });

  it('should reject missing required keys, pointing at the mapping that lacks them', () => {
    assert.deepEqual(errorsOf(yaml('apiVersion: mcp-sidecar/v1', 'kind: Policy', 'metadata: { revision: 1 }')), [
      'p.yaml:3:11: metadata.name: required key is missing (expected a string)',
    ]);
    assert.deepEqual(errorsOf(yaml('# no header', 'mode: enforce')), [
      'p.yaml:2:1: apiVersion: required key is missing (expected "mcp-sidecar/v1")',
      'p.yaml:2:1: kind: required key is missing (expected "Policy")',
      'p.yaml:2:1: metadata: required key is missing (expected a mapping)',
    ]);
  });

  it('should reject a bad mode, at the top and in a rule', () => {
    assert.deepEqual(errorsOf(policy('mode: block', 'rules:', '  - id: a', '    mode: shadow', '    hide: { tools: [x] }')), [
      'p.yaml:4:7: mode: expected one of: "observe", "enforce", found "block"',
      'p.yaml:7:11: rules[0].mode: expected one of: "observe", "enforce", found "shadow"',
    ]);
  });

  it('should reject a duplicate rule id, pointing at the second one', () => {
    assert.deepEqual(errorsOf(policy('rules:', '  - id: a', '    hide: { tools: [x] }', '  - id: a', '    hide: { tools: [y] }')), [
      'p.yaml:7:9: rules[1].id: duplicate rule id "a" (first used by rules[0])',
    ]);
  });

  it('should reject a bad rule id', () => {
    assert.deepEqual(errorsOf(policy('rules:', '  - id: Read Only', '    hide: { tools: [x] }')), [
      'p.yaml:5:9: rules[0].id: expected an id of lower-case letters, digits, ".", "_" and "-", starting with a letter or digit, found "Read Only"',
    ]);
  });

  it('should reject a bad size string, a size out of range, and a size that is not whole', () => {
    assert.deepEqual(errorsOf(policy('limits:', '  maxFrameBytes:', '    tools/call: 1 parsec', '    "*": 10', '    ping: 1.5', '    x: 2GiB')), [
      `p.yaml:6:17: limits.maxFrameBytes["tools/call"]: expected ${SIZE}, found "1 parsec"`,
      `p.yaml:7:10: limits.maxFrameBytes["*"]: expected ${SIZE}, found the number 10`,
      `p.yaml:8:11: limits.maxFrameBytes.ping: expected ${SIZE}, found the number 1.5`,
      `p.yaml:9:8: limits.maxFrameBytes.x: expected ${SIZE}, found "2GiB"`,
    ]);
  });

  it('should reject a property key and required/forbidden entries that are not JSON pointers', () => {
    assert.deepEqual(errorsOf(policy(
      'rules:',
      '  - id: a',
      '    arguments:',
      '      tool: read_file',
      '      properties:',
      '        path: { type: string }',
      '      required: [/path, "/a~2"]',
      '      forbidden: [x]',
    )), [
      `p.yaml:9:9: rules[0].arguments.properties.path: expected ${POINTER}, found "path"`,
      `p.yaml:10:25: rules[0].arguments.required[1]: expected ${POINTER}, found "/a~2"`,
      `p.yaml:11:19: rules[0].arguments.forbidden[0]: expected ${POINTER}, found "x"`,
    ]);
  });

  it('should take * for each element of an array, but not as the first segment (the arguments are an object)', () => {
    assert.deepEqual(errorsOf(policy(
      'rules:',
      '  - id: a',
      '    arguments:',
      '      tool: read_multiple_files',
      '      properties:',
      '        /paths/*: { type: string }',
      '        /edits/*/path: { type: string }',
      '        /*: { type: string }',
      '      required: ["/*/path", /grid/*/*, "/*x", /a*]',
    )), [
      `p.yaml:11:9: rules[0].arguments.properties["/*"]: expected ${POINTER}, found "/*"`,
      `p.yaml:12:18: rules[0].arguments.required[0]: expected ${POINTER}, found "/*/path"`,
    ]);
  });

  it('should reject a pattern RE2 cannot compile, with RE2\'s reason (lookahead is JavaScript, not RE2)', () => {
    assert.deepEqual(errorsOf(policy(
      'rules:',
      '  - id: a',
      '    arguments: { tool: t, properties: { /s: { pattern: "(?=x)y" } } }',
      '  - id: b',
      '    redact: { detectors: all, patterns: [{ name: n, pattern: "a(" }] }',
    )), [
      'p.yaml:6:56: rules[0].arguments.properties["/s"].pattern: expected a regular expression in RE2 syntax, found "(?=x)y" (error parsing regexp: invalid or unsupported Perl syntax: `(?=`)',
      'p.yaml:8:62: rules[1].redact.patterns[0].pattern: expected a regular expression in RE2 syntax, found "a(" (error parsing regexp: missing closing ): `a(`)',
    ]);
  });

  it('should reject rule kinds without what they need', () => {
    assert.deepEqual(errorsOf(policy(
      'rules:',
      '  - { id: a, methods: { from: client } }',
      '  - { id: b, hide: {} }',
      '  - { id: c, rateLimit: { tools: [x], methods: [y], capacity: 0, refillPerSecond: 0 } }',
      '  - { id: d, redact: { detectors: [jwt, pem] } }',
      '  - { id: e, redact: { detectors: [] } }',
      '  - { id: f, arguments: { tool: t, properties: { /n: { minimum: 5, maximum: 1 } } } }',
    )), [
      'p.yaml:5:23: rules[0].methods: expected at least one of: allow, deny, found none',
      'p.yaml:6:20: rules[1].hide: expected at least one of: tools, prompts, resources, found none',
      'p.yaml:7:25: rules[2].rateLimit: expected exactly one of: tools, methods, found 2 keys: tools, methods',
      'p.yaml:7:63: rules[2].rateLimit.capacity: expected a whole number ≥ 1, found the number 0',
      'p.yaml:7:83: rules[2].rateLimit.refillPerSecond: expected a number > 0, found the number 0',
      'p.yaml:8:35: rules[3].redact.detectors: expected "all" or a non-empty list of detectors (private-key, aws-access-key, github-token, jwt, bearer-token, password-assignment), found 1 unknown detector: "pem"',
      'p.yaml:9:35: rules[4].redact.detectors: expected "all" or a non-empty list of detectors (private-key, aws-access-key, github-token, jwt, bearer-token, password-assignment), found an empty list',
      'p.yaml:10:77: rules[5].arguments.properties["/n"].maximum: expected a maximum ≥ minimum (5), found the number 1',
    ]);
  });

  it('should reject YAML syntax errors, duplicate keys and unknown tags', () => {
    assert.deepEqual(errorsOf(yaml('apiVersion: mcp-sidecar/v1', 'kind: Policy', 'metadata: { name: p, revision: 1')), [
      'p.yaml:4:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
    assert.deepEqual(errorsOf(policy('kind: Policy')), ['p.yaml:4:1: duplicate key "kind" (keys in a mapping must be unique)']);
    assert.deepEqual(errorsOf(policy('mode: !shadow observe')), ['p.yaml:4:7: invalid YAML: Unresolved tag: !shadow']);
    assert.deepEqual(errorsOf(policy('? [a, b]', ': x')), ['p.yaml:4:3: invalid YAML: expected a mapping key that is a plain value, found a list']);
  });

  it('should refuse an alias bomb ("billion laughs") instead of expanding it', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    assert.deepEqual(errorsOf(yaml(...lines)), ['p.yaml:1:1: invalid YAML: Excessive alias count indicates a resource exhaustion attack']);
  });

  it('should reject an empty file, and a file with only comments', () => {
    assert.deepEqual(errorsOf(''), [`p.yaml:1:1: expected ${DOCUMENT}, found an empty file`]);
    assert.deepEqual(errorsOf('# nothing yet\n'), [`p.yaml:1:1: expected ${DOCUMENT}, found an empty file`]);
  });

  it('should reject a file that is not a mapping', () => {
    assert.deepEqual(errorsOf('- a\n- b\n'), [`p.yaml:1:1: expected ${DOCUMENT}, found a list`]);
    assert.deepEqual(errorsOf('# a comment\nhello\n'), [`p.yaml:2:1: expected ${DOCUMENT}, found "hello"`]);
  });

  it('should report every error in a file at once, in file order, as a SidecarError with the list as data', () => {
    const text = yaml(
      'apiVersion: mcp-sidecar/v1',
      'kind: Policy',
      'metadata: { name: p, revision: 1 }',
      'mode: block',
      'limits: { maxFrameBytes: { "*": huge } }',
      'rules:',
      '  - id: a',
      '    tools: { allow: [x], reply: silent }',
      '  - id: a',
      '    match: x',
    );
    let caught: unknown;
    try {
      parsePolicyText(text, 'policies/x.yaml');
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof PolicyInvalidError);
    assert.ok(isSidecarError(caught));
    assert.equal(caught.code, 'SIDECAR_ERR_POLICY_INVALID');
    assert.equal(caught.file, 'policies/x.yaml');
    assert.deepEqual(caught.errors.map((e) => [e.line, e.column, e.path]), [
      [4, 7, 'mode'],
      [5, 33, 'limits.maxFrameBytes["*"]'],
      [8, 33, 'rules[0].tools.reply'],
      [9, 5, 'rules[1]'],
      [9, 9, 'rules[1].id'],
      [10, 5, 'rules[1].match'],
    ]);
    assert.equal(caught.message, [
      'The policy file is not a valid policy: policies/x.yaml: 6 errors',
      'policies/x.yaml:4:7: mode: expected one of: "observe", "enforce", found "block"',
      `policies/x.yaml:5:33: limits.maxFrameBytes["*"]: expected ${SIZE}, found "huge"`,
      'policies/x.yaml:8:33: rules[0].tools.reply: expected one of: "error", "tool-error", found "silent"',
      `policies/x.yaml:9:5: rules[1]: expected exactly one rule kind (one of: ${KINDS}), found none`,
      'policies/x.yaml:9:9: rules[1].id: duplicate rule id "a" (first used by rules[0])',
      `policies/x.yaml:10:5: rules[1].match: unknown key "match" (expected one of: ${RULE_KEYS})`,
    ].join('\n'));
  });

  it('should reject sections of the wrong type, each once', () => {
    assert.deepEqual(errorsOf(yaml('apiVersion: mcp-sidecar/v1', 'kind: Policy', 'metadata: 5', 'rules: hello', 'limits: []')), [
      'p.yaml:3:11: metadata: expected a mapping, found the number 5',
      'p.yaml:4:8: rules: expected a list, found "hello"',
      'p.yaml:5:9: limits: expected a mapping, found an empty list',
    ]);
  });

  it('should point an empty value at its key', () => {
    assert.deepEqual(errorsOf(policy('rules:', '  - id: a', '    tools:')), ['p.yaml:6:5: rules[0].tools: expected a mapping, found an empty value']);
  });

  it('should reject a revision that is neither a string nor a whole number', () => {
    assert.deepEqual(errorsOf(yaml('apiVersion: mcp-sidecar/v1', 'kind: Policy', 'metadata: { name: p, revision: 1.5 }')), [
      'p.yaml:3:32: metadata.revision: expected a revision: a string or a whole number, found the number 1.5',
    ]);
  });
});

describe('loadPolicyFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-load-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('should read and parse a file, naming it as given', () => {
    const file = join(dir, 'full.yaml');
    writeFileSync(file, FULL);
    const loaded = loadPolicyFile(file);
    assert.equal(loaded.source, file);
    assert.deepEqual(loaded.document, FULL_EXPECTED);
    assert.equal(loaded.digest, parsePolicyText(FULL, 'elsewhere.yaml').digest);
  });

  it('should name the file in every error', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, policy('rulez: []'));
    assert.throws(() => loadPolicyFile(file), (error: unknown) => error instanceof PolicyInvalidError && error.errors[0]?.file === file
      && error.message.includes(`\n${file}:4:1: rulez: unknown key "rulez"`));
  });

  it('should throw SIDECAR_ERR_POLICY_UNREADABLE for a file that cannot be read', () => {
    const file = join(dir, 'missing.yaml');
    assert.throws(() => loadPolicyFile(file), (error: unknown) => isSidecarError(error) && error.code === 'SIDECAR_ERR_POLICY_UNREADABLE'
      && error.message === `The policy file cannot be read: ${file}: ENOENT: no such file or directory, open '${file}'`);
  });
});
