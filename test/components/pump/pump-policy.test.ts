import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { Rule, Verdict } from '../../../components/policy/index.js';
import { createPump, type DecisionEvent } from '../../../components/pump/index.js';
import { createNdjsonChannel } from '../../../components/transport/index.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { policyFromRules } from '../../helpers/test-policy.js';

type PolicyOptions = Parameters<typeof policyFromRules>[1];

function setup(rules: Rule[], options: PolicyOptions = {}) {
  const clientIn = new PassThrough(), clientOut = new PassThrough(), serverStdout = new PassThrough(), serverStdin = new PassThrough();
  const decisions: DecisionEvent[] = [];
  const pump = createPump({
    client: createNdjsonChannel(clientIn, clientOut, { maxFrameBytes: 1 << 20 }),
    server: createNdjsonChannel(serverStdout, serverStdin, { maxFrameBytes: 1 << 20 }),
    logger: captureLogs().logger,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {}, onDecisions: (event) => decisions.push(event) },
    policy: { current: policyFromRules(rules, options) },
  });
  let toServer = '', toClient = '';
  serverStdin.on('data', (chunk: Buffer) => (toServer += chunk));
  clientOut.on('data', (chunk: Buffer) => (toClient += chunk));
  return { pump, clientIn, serverStdout, decisions, toServer: () => toServer, toClient: () => toClient };
}

const lines = (text: string): any[] => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const deny = (reason: string, extra: Partial<Extract<Verdict, { effect: 'deny' }>> = {}): Verdict => ({ effect: 'deny', reason, message: `because ${reason}`, category: 'forbidden', ...extra });
const rule = (over: Partial<Rule> & Pick<Rule, 'evaluate'>): Rule => ({ id: 'r1', kind: 'test', mode: 'enforce', direction: 'client-to-server', phase: 'request', methods: ['*'], ...over });

const CALL = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"rm"}}\n';

describe('pump with a policy', () => {
  it('should answer a denied request with an error naming the rule and reason, and not forward it', async () => {
    const s = setup([rule({ id: 'no-rm', methods: ['tools/call'], evaluate: () => deny('tool_not_allowed') })]);
    s.clientIn.write(CALL + '{"jsonrpc":"2.0","id":8,"method":"ping"}\n');
    await tick();
    assert.equal(s.toServer(), '{"jsonrpc":"2.0","id":8,"method":"ping"}\n');
    const [reply] = lines(s.toClient());
    assert.deepEqual([reply.id, reply.error.code, reply.error.data.category, reply.error.data.ruleId, reply.error.data.reason], [7, -32010, 'forbidden', 'no-rm', 'tool_not_allowed']);
    assert.equal(s.pump.pendingCount, 1, 'only ping is in flight');
    assert.deepEqual(s.decisions.map((d) => [d.method, d.id, d.decisions[0]!.enforced]), [['tools/call', '7', true]]);
  });

  it('should answer with a tool result marked isError when the rule asks for it', async () => {
    const s = setup([rule({ evaluate: () => deny('tool_not_allowed', { reply: 'tool-error' }) })]);
    s.clientIn.write(CALL);
    await tick();
    const [reply] = lines(s.toClient());
    assert.equal(reply.result.isError, true);
    assert.match(reply.result.content[0].text, /Denied by policy \(rule r1, tool_not_allowed\)/);
  });

  it('should give a rate-limited request a retryable error with retryAfterMs', async () => {
    const s = setup([rule({ evaluate: () => deny('rate_limited', { category: 'transient_error', retryAfterMs: 250 }) })]);
    s.clientIn.write(CALL);
    await tick();
    const [reply] = lines(s.toClient());
    assert.deepEqual([reply.error.code, reply.error.data.category, reply.error.data.retryable, reply.error.data.retryAfterMs], [-32011, 'transient_error', true, 250]);
  });

  it('should forward the original bytes in observe mode and still report the would-deny', async () => {
    const s = setup([rule({ evaluate: () => deny('tool_not_allowed') })], { mode: 'observe' });
    s.clientIn.write(CALL);
    await tick();
    assert.equal(s.toServer(), CALL);
    assert.equal(s.toClient(), '');
    assert.deepEqual(s.decisions[0]!.decisions.map((d) => [d.ruleId, d.effect, d.enforced]), [['r1', 'deny', false]]);
  });

  it('should drop a denied notification', async () => {
    const s = setup([rule({ methods: ['notifications/*'], evaluate: () => deny('method_not_allowed') })]);
    s.clientIn.write('{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}\n');
    await tick();
    assert.equal(s.toServer(), '');
    assert.equal(s.toClient(), '');
    assert.equal(s.decisions.length, 1);
  });

  it('should answer a denied server request to the server, never reaching the client', async () => {
    const s = setup([rule({ direction: 'server-to-client', methods: ['sampling/*'], evaluate: () => deny('method_not_allowed') })]);
    s.serverStdout.write('{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{}}\n{"jsonrpc":"2.0","method":"notifications/message","params":{}}\n');
    await tick();
    assert.equal(s.toClient(), '{"jsonrpc":"2.0","method":"notifications/message","params":{}}\n');
    const [reply] = lines(s.toServer());
    assert.deepEqual([reply.id, reply.error.code, reply.error.data.ruleId], ['s1', -32010, 'r1']);
  });

  it('should rewrite a response by the method of the request it answers', async () => {
    const hide = rule({
      direction: 'server-to-client', phase: 'response', methods: ['tools/list'],
      evaluate: (frame) => {
        const body = frame.body() as { result: { tools: Array<{ name: string }> } };
        return { effect: 'rewrite', reason: 'hidden_from_list', changes: 1, body: { ...body, result: { tools: body.result.tools.filter((t) => t.name !== 'admin') } } };
      },
    });
    const s = setup([hide]);
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n');
    await tick();
    s.serverStdout.write('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"admin"}]}}\n');
    await tick();
    assert.deepEqual(lines(s.toClient())[0].result.tools, [{ name: 'echo' }]);
    assert.equal(s.pump.stats.rewrittenByPolicy, 1);
  });

  it('should refuse requests over limits.maxInFlight with a transient error', async () => {
    const s = setup([rule({ methods: ['never'], evaluate: () => ({ effect: 'continue' }) })], { maxInFlight: 1 });
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    await tick();
    assert.equal(s.toServer(), '{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    const [reply] = lines(s.toClient());
    assert.deepEqual([reply.id, reply.error.data.ruleId, reply.error.data.reason, reply.error.data.category], [2, 'limits.maxInFlight', 'too_many_in_flight', 'transient_error']);
  });

  it('should refuse a whole batch when a rule denies one of its requests', async () => {
    const s = setup([rule({ methods: ['tools/call'], evaluate: () => deny('tool_not_allowed') })]);
    s.clientIn.write('[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x"}}]\n');
    await tick();
    assert.equal(s.toServer(), '');
    const [replies] = lines(s.toClient());
    assert.deepEqual(replies.map((r: any) => [r.id, r.error.data.reason]), [[1, 'batch_refused'], [2, 'tool_not_allowed']]);
  });
});

describe('pump with a policy: responses that could slip past it', () => {
  const redact = rule({
    direction: 'server-to-client', phase: 'response', methods: ['tools/call'],
    evaluate: (frame) => {
      const body = frame.body() as { result: { content: Array<{ text: string }> } };
      return { effect: 'rewrite', reason: 'secret_redacted', changes: 1, body: { ...body, result: { content: [{ text: '[REDACTED]' }] } } };
    },
  });

  it('should still redact the late response to a cancelled request', async () => {
    const s = setup([redact]);
    s.clientIn.write('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"slow"}}\n{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}\n');
    await tick();
    assert.equal(s.pump.pendingCount, 0, 'no longer awaited');
    s.serverStdout.write('{"jsonrpc":"2.0","id":5,"result":{"content":[{"text":"secret"}]}}\n');
    await tick();
    assert.deepEqual(lines(s.toClient())[0].result.content, [{ text: '[REDACTED]' }]);
  });

  it('should drop a response that answers nothing in flight, since no rule can tell what it answers', async () => {
    const s = setup([redact]);
    s.serverStdout.write('{"jsonrpc":"2.0","id":99,"result":{"content":[{"text":"secret"}]}}\n');
    await tick();
    assert.equal(s.toClient(), '');
  });

  it('should pass each member of a response batch through the rules of what it answers', async () => {
    const s = setup([redact]);
    s.clientIn.write('[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}},{"jsonrpc":"2.0","id":2,"method":"ping"}]\n');
    await tick();
    s.serverStdout.write('[{"jsonrpc":"2.0","id":1,"result":{"content":[{"text":"secret"}]}},{"jsonrpc":"2.0","id":2,"result":{}}]\n');
    await tick();
    const [batch] = lines(s.toClient());
    assert.deepEqual(batch, [{ jsonrpc: '2.0', id: 1, result: { content: [{ text: '[REDACTED]' }] } }, { jsonrpc: '2.0', id: 2, result: {} }]);
    assert.equal(s.pump.pendingCount, 0);
  });

  it('should give response rules the tool the answered tools/call named, only when a rule asks (needsTool)', async () => {
    const seen: Array<string | undefined> = [];
    const watch = (needsTool: boolean) => rule({ phase: 'response', direction: 'server-to-client', methods: ['tools/call'], needsTool, evaluate: (frame) => (seen.push(frame.tool), { effect: 'continue' }) });
    const asked = setup([watch(true)]);
    asked.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{}}}\n{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":7}}\n');
    await tick();
    asked.serverStdout.write('{"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n{"jsonrpc":"2.0","id":2,"result":{"content":[]}}\n');
    await tick();
    assert.deepEqual(seen, ['search', undefined], 'the name, or undefined when it is not a string');
    seen.length = 0;
    const unasked = setup([watch(false)]);
    unasked.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}}\n');
    await tick();
    unasked.serverStdout.write('{"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n');
    await tick();
    assert.deepEqual(seen, [undefined], 'not read when no rule needs it');
  });

  it('should give rules one session object per pump, the same for every frame of it', async () => {
    const sessions: Array<object | undefined> = [];
    const watch = rule({ methods: ['ping'], evaluate: (frame) => (sessions.push(frame.session), { effect: 'continue' }) });
    const [a, b] = [setup([watch]), setup([watch])];
    a.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    b.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    await tick();
    assert.equal(sessions.length, 3);
    assert.ok(sessions[0] !== undefined && sessions[0] === sessions[1], 'one object for one session');
    assert.notEqual(sessions[2], sessions[0], 'another for another session');
  });
});
