// Which server a `policy test` case's frame belongs to, and a rule's `tests:` `server`: a gateway's
// services resolved from the frame as the running gateway resolves them (createNamespaceResolver
// over the same names), a case's `server` for what the bytes do not place, the one server's
// executable name with --proxy; the worked example, policies/tests/examples/gateway.yaml.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildPolicy } from '../../../components/policy/index.js';
import { loadPolicyFile } from '../../../components/policy/document/index.js';
import { parseCasesDocument } from '../../../components/policy-test/index.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { runCases } from '../../helpers/policy-test-command.js';

const POLICY_HEADER = 'apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: per-server, revision: 1 }\nmode: enforce\nrules:\n';
const call = (id: number, name: string) => `{ jsonrpc: "2.0", id: ${id}, method: tools/call, params: { name: ${name}, arguments: {} } }`;

describe('policy test: the server a frame belongs to', () => {
  const dir = tempDir('policy-test-server');
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const gatewayPolicy = write('gateway.yaml', `${POLICY_HEADER}  - id: fs-read-only
    when: { server: [fs] }
    tools: { allow: ["fs.read_*"] }
  - id: memory-no-sampling
    when: { server: [memory] }
    methods: { from: server, deny: [sampling/createMessage] }
  - id: memory-answers-redacted
    when: { cel: 'server == "memory"' }
    redact: { detectors: [github-token], in: [tools/call] }
`);

  it('passes every case of the worked example, policies/tests/examples/gateway.cases.yaml (its rules\' own tests run at load)', async () => {
    const result = await runCases('policies/tests/examples/gateway.yaml', 'policies/tests/examples/gateway.cases.yaml');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /as frames of a gateway over everything, fs, memory \(separator "\."\)/);
    assert.match(result.stdout, /11 of 11 cases passed/);
  });

  it('fails a case that expects the wrong decision, saying what the gateway\'s rules gave', async () => {
    const cases = write('wrong.cases.yaml', `gateway: { services: [fs, memory] }
cases:
  - name: an fs write is said to pass
    frame: ${call(1, 'fs.write_file')}
    expect: forward
  - name: a memory write is said to be refused
    frame: ${call(2, 'memory.write_note')}
    expect: { deny: fs-read-only }
`);
    const result = await runCases(gatewayPolicy, cases);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /FAIL an fs write is said to pass\n\s+expected forward, got deny by fs-read-only \(tool_not_allowed\)\n/);
    assert.match(result.stdout, /FAIL a memory write is said to be refused\n\s+expected deny by fs-read-only, got forward\n/);
    assert.match(result.stdout, /0 of 2 cases passed, 2 failed/);
  });

  it('resolves by the separator the gateway uses, read from its servers file', async () => {
    const servers = write('servers.yaml', 'separator: "__"\nservers:\n  - { name: fs, command: node fs.js }\n  - { name: memory, command: node memory.js }\n');
    const cases = write('file.cases.yaml', `gateway: { servers: ${JSON.stringify(servers)} }
cases:
  - { name: fs__write_file is fs's, frame: ${call(1, 'fs__write_file')}, expect: { deny: fs-read-only } }
  - { name: "fs.write_file is in no namespace with __ (undecided)", frame: ${call(2, 'fs.write_file')}, expect: { deny: fs-read-only } }
  - { name: memory__write_file is memory's, frame: ${call(3, 'memory__write_file')}, expect: { forward: true, decisions: [] } }
`);
    const result = await runCases(gatewayPolicy, cases);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /over fs, memory \(separator "__"\)/);
  });

  it('places by a case\'s `server` what the bytes do not: a service\'s own request, a tools/call answer without its tool', async () => {
    const cases = write('placed.cases.yaml', `gateway: { services: [fs, memory] }
cases:
  - name: sampling from memory is refused
    from: server
    server: memory
    frame: { jsonrpc: "2.0", id: 1, method: sampling/createMessage, params: { messages: [], maxTokens: 1 } }
    expect: { deny: memory-no-sampling }
  - name: sampling from fs is not
    from: server
    server: fs
    frame: { jsonrpc: "2.0", id: 2, method: sampling/createMessage, params: { messages: [], maxTokens: 1 } }
    expect: { forward: true, decisions: [] }
  - name: sampling from an unnamed service is undecided, and the rule applies
    from: server
    frame: { jsonrpc: "2.0", id: 3, method: sampling/createMessage, params: { messages: [], maxTokens: 1 } }
    expect: { deny: memory-no-sampling }
  - name: a memory answer is redacted (the tool names its service)
    from: server
    answers: tools/call
    tool: memory.read_graph
    frame: { jsonrpc: "2.0", id: 4, result: { content: [{ type: text, text: "ghp_abcdefghijklmnopqrstuvwxyz0123456789" }] } }
    expect: { rewrite: [memory-answers-redacted], outputExcludes: [ghp_abcdefghijklmnopqrstuvwxyz0123456789] }
  - name: an fs answer is not
    from: server
    answers: tools/call
    tool: fs.read_file
    frame: { jsonrpc: "2.0", id: 5, result: { content: [{ type: text, text: "ghp_abcdefghijklmnopqrstuvwxyz0123456789" }] } }
    expect: { forward: true, decisions: [] }
  - name: an answer whose tool is not known, said to be fs's
    from: server
    answers: tools/call
    server: fs
    frame: { jsonrpc: "2.0", id: 6, result: { content: [{ type: text, text: "ghp_abcdefghijklmnopqrstuvwxyz0123456789" }] } }
    expect: { forward: true, decisions: [] }
`);
    const result = await runCases(gatewayPolicy, cases);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  it('fails a case whose `server` the gateway\'s routing contradicts, or that is none of its services', async () => {
    const cases = write('contradicted.cases.yaml', `gateway: { services: [fs, memory] }
cases:
  - { name: an fs call said to be memory's, server: memory, frame: ${call(1, 'fs.write_file')}, expect: forward }
  - { name: a merged list said to be fs's, server: fs, frame: { jsonrpc: "2.0", id: 2, method: tools/list }, expect: forward }
  - { name: a read said to go to a service the gateway lacks, server: web, frame: { jsonrpc: "2.0", id: 3, method: resources/read, params: { uri: "file:///a" } }, expect: forward }
  - { name: an fs call said to be fs's, server: fs, frame: ${call(4, 'fs.read_file')}, expect: forward }
  - { name: a call in no namespace said to be fs's, server: fs, frame: ${call(5, 'write_file')}, expect: forward }
`);
    const result = await runCases(gatewayPolicy, cases);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /FAIL an fs call said to be memory's\n\s+server: "memory", but the gateway routes this frame to "fs" by its name\n/);
    assert.match(result.stdout, /FAIL a merged list said to be fs's\n\s+server: "fs", but the gateway answers this frame itself or sends it to every service: it belongs to no one service\n/);
    assert.match(result.stdout, /FAIL a read said to go to a service the gateway lacks\n\s+server: "web" is not one of the gateway's services \(fs, memory\)\n/);
    assert.match(result.stdout, /PASS an fs call said to be fs's/);
    assert.match(result.stdout, /FAIL a call in no namespace said to be fs's\n\s+server: "fs", but the gateway places this frame neither by its name nor by what it remembers \(a name in no namespace is refused\): its service is undecided\n/);
    assert.match(result.stdout, /1 of 5 cases passed, 4 failed/);
  });

  it('with one server (--proxy), takes the executable\'s name from the file or the case; without one, as before (undecided)', async () => {
    const policy = write('proxy.yaml', `${POLICY_HEADER}  - id: github-no-writes
    when: { server: [server-github] }
    tools: { deny: ["create_*"] }
  - id: cel-names-the-server
    when: { cel: 'server == "server-slack"' }
    tools: { deny: ["*"] }
`);
    const named = write('proxy.cases.yaml', `server: server-github
cases:
  - { name: the file's server, frame: ${call(1, 'create_issue')}, expect: { deny: github-no-writes } }
  - { name: a case's own, server: server-filesystem, frame: ${call(2, 'create_issue')}, expect: { forward: true, decisions: [] } }
  - { name: CEL reads it, server: server-slack, frame: ${call(3, 'post')}, expect: { deny: cel-names-the-server } }
`);
    const namedResult = await runCases(policy, named);
    assert.equal(namedResult.code, 0, namedResult.stdout + namedResult.stderr);
    assert.match(namedResult.stdout, /, as frames of server server-github\n/);
    const unnamed = write('unnamed.cases.yaml', `cases:\n  - { name: no server known, frame: ${call(1, 'create_issue')}, expect: { deny: github-no-writes } }\n  - { name: CEL server is null, frame: ${call(2, 'post')}, expect: { forward: true, decisions: [] } }\n`);
    const unnamedResult = await runCases(policy, unnamed);
    assert.equal(unnamedResult.code, 0, unnamedResult.stdout + unnamedResult.stderr);
  });

  it('refuses a gateway that could not run, or one named with a server, exit 2', async () => {
    const bad = (text: string) => runCases(gatewayPolicy, write('bad.cases.yaml', `${text}\ncases:\n  - { name: x, frame: ${call(1, 'fs.read_file')}, expect: forward }\n`));
    const duplicate = await bad('gateway: { services: [fs, fs] }');
    assert.equal(duplicate.code, 2);
    assert.match(duplicate.stderr, /gateway\.services\.1: duplicate name "fs" \(services\[0\] has it\)/);
    const withSeparator = await bad('gateway: { services: [my.fs], separator: "." }');
    assert.match(withSeparator.stderr, /gateway\.services\.0: expected a namespace without the separator "\.", found "my\.fs"/);
    const both = await bad('server: node\ngateway: { services: [fs] }');
    assert.match(both.stderr, /`server` \(one server, --proxy\) and `gateway` \(--servers\) exclude each other/);
    const missing = await bad(`gateway: { servers: ${JSON.stringify(join(dir, 'absent.yaml'))} }`);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /absent\.yaml/);
  });

  it('reads the gateway and the cases of a file', () => {
    const file = parseCasesDocument(`gateway: { services: [fs] }\ncases:\n  - { name: a, server: fs, frame: {}, expect: forward }\n`, 'c.yaml');
    assert.deepEqual(file.gateway, { services: ['fs'], separator: '.' });
    assert.equal(file.cases[0]!.server, 'fs');
  });
});

describe('a rule\'s tests: name the server', () => {
  const dir = tempDir('rule-tests-server');
  const load = (rule: string) => {
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, `${POLICY_HEADER}${rule}`);
    return buildPolicy(loadPolicyFile(path));
  };

  it('evaluates a case with its server as the frame\'s service and CEL `server`', async () => {
    await load(`  - id: fs-read-only
    when: { server: [fs] }
    tools: { allow: ["fs.read_*"] }
    tests:
      - { input: { tool: fs.write_file, server: fs }, expect: deny }
      - { input: { tool: memory.write_note, server: memory }, expect: allow }
  - id: memory-by-cel
    when: { cel: 'server == "memory"' }
    tools: { deny: ["*"] }
    tests:
      - { input: { tool: memory.write_note, server: memory }, expect: deny }
      - { input: { tool: memory.write_note }, expect: allow }
`);
  });

  it('refuses the policy when a case names a server that makes the rule decide otherwise, saying which case', async () => {
    await assert.rejects(load(`  - id: fs-read-only
    when: { server: [fs] }
    tools: { allow: ["fs.read_*"] }
    tests:
      - { input: { tool: fs.write_file, server: memory }, expect: deny }
`), /fs-read-only.*tests\[0\] expects deny, but the rule gives allow/);
  });
});
