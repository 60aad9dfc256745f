// CEL `server` and `era`: the engine passes the governed server's name and the protocol version the
// session negotiated (FrameContext.server / .era); the pump sets them, the era from the server's
// initialize result; a 2026-07-28 request's own `_meta` version takes precedence.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { parsePolicyText } from '../../../../components/policy/document/index.js';
import { evaluateFrame } from '../../../../components/policy/index.js';
import { compileLoadedPolicy } from '../../../../components/policy/engine/build.js';
import { createRulesFromSpec } from '../../../../components/policy/rules/index.js';
import { createPump } from '../../../../components/pump/index.js';
import { createNdjsonChannel } from '../../../../components/transport/index.js';
import { captureLogs } from '../../../helpers/log-capture.js';
import { policyText } from '../rejections.js';

const denyWhen = (cel: string) => compileLoadedPolicy(parsePolicyText(policyText({ rules: [{ id: 'cel-rule', when: { cel }, tools: { deny: ['*'] } }] }), 'cel.yaml'), createRulesFromSpec);

const call = (meta?: Record<string, unknown>): Buffer =>
  Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'send', arguments: {}, ...(meta && { _meta: meta }) } })}\n`);
const actionOf = (policy: ReturnType<typeof denyWhen>, server: string | undefined, era: string | undefined, meta?: Record<string, unknown>): string =>
  evaluateFrame(policy, 'client-to-server', 'request', 'tools/call', call(meta), 0, undefined, false, 0, undefined, undefined, undefined, server, era).action.kind;

describe('CEL server and era, as the engine passes them', () => {
  it('server: the name passed, null when none', () => {
    const policy = denyWhen('server == "server-github"');
    assert.equal(actionOf(policy, 'server-github', undefined), 'deny');
    assert.equal(actionOf(policy, 'server-files', undefined), 'forward');
    assert.equal(actionOf(denyWhen('server == null'), undefined, undefined), 'deny');
  });

  it('era: the negotiated version, unless the request names its own (2026-07-28 _meta); null when neither', () => {
    const policy = denyWhen('era == "2025-06-18"');
    assert.equal(actionOf(policy, undefined, '2025-06-18'), 'deny');
    assert.equal(actionOf(policy, undefined, '2025-03-26'), 'forward');
    assert.equal(actionOf(policy, undefined, '2025-06-18', { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }), 'forward', 'the request\'s own version wins');
    assert.equal(actionOf(denyWhen('era == null'), undefined, undefined), 'deny');
    assert.equal(actionOf(denyWhen('era >= "2025-06-18"'), undefined, '2025-11-25'), 'deny', 'versions are dates: they compare as strings');
  });
});

describe('CEL server and era through the pump', () => {
  function setup(cel: string, serverName: string | undefined) {
    const clientIn = new PassThrough(), clientOut = new PassThrough(), serverStdout = new PassThrough(), serverStdin = new PassThrough();
    createPump({
      client: createNdjsonChannel(clientIn, clientOut, { maxFrameBytes: 1 << 20 }),
      server: createNdjsonChannel(serverStdout, serverStdin, { maxFrameBytes: 1 << 20 }),
      logger: captureLogs().logger,
      events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
      policy: { current: denyWhen(cel) },
      ...(serverName !== undefined && { serverName }),
    });
    let toServer = '', toClient = '';
    serverStdin.on('data', (chunk: Buffer) => (toServer += chunk));
    clientOut.on('data', (chunk: Buffer) => (toClient += chunk));
    const lines = (text: string): any[] => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    return { clientIn, serverStdout, sentToServer: () => lines(toServer), sentToClient: () => lines(toClient) };
  }

  it('era: a call before initialize sees null; after the server\'s initialize result, the version it negotiated', async () => {
    const s = setup('era == "2025-06-18"', undefined);
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send"}}\n');
    await tick();
    assert.deepEqual(s.sentToServer().map((f) => f.id), [1], 'no era yet: the rule does not apply');
    s.serverStdout.write('{"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n');
    s.clientIn.write('{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}\n');
    await tick();
    s.serverStdout.write('{"jsonrpc":"2.0","id":2,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}\n');
    await tick();
    s.clientIn.write('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"send"}}\n');
    await tick();
    assert.deepEqual(s.sentToServer().map((f) => f.id), [1, 2], 'the call under the negotiated era is denied');
    assert.ok(s.sentToClient().some((f) => f.id === 3), 'answered by the proxy itself');
  });

  it('server: the name the session was given', async () => {
    const denied = setup('server == "server-github"', 'server-github');
    denied.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send"}}\n');
    const passed = setup('server == "server-github"', 'server-files');
    passed.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send"}}\n');
    await tick();
    assert.deepEqual(denied.sentToServer(), []);
    assert.deepEqual(passed.sentToServer().map((f) => f.id), [1]);
  });
});
