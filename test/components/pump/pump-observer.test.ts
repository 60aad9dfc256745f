// The pump's observer: every frame once, each request's end exactly once, with the outcome a
// report records; and reading stops while an observer's promise is pending.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { systemClock } from '../../../components/clock/index.js';
import type { Rule, Verdict } from '../../../components/policy/index.js';
import { createPump, type ObservedFrame, type PumpObserver, type RequestEnd } from '../../../components/pump/index.js';
import { createNdjsonChannel } from '../../../components/transport/index.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { policyFromRules } from '../../helpers/test-policy.js';

function setup(rules: Rule[] = [], observer?: Partial<PumpObserver>) {
  const clientIn = new PassThrough(), clientOut = new PassThrough(), serverStdout = new PassThrough(), serverStdin = new PassThrough();
  const frames: ObservedFrame[] = [];
  const ends: RequestEnd[] = [];
  let clock = 1000;
  const pump = createPump({
    client: createNdjsonChannel(clientIn, clientOut, { maxFrameBytes: 1 << 20 }),
    server: createNdjsonChannel(serverStdout, serverStdin, { maxFrameBytes: 1 << 20 }),
    logger: captureLogs().logger,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
    policy: rules.length === 0 ? undefined : { current: policyFromRules(rules) },
    clock: { ...systemClock, now: () => clock },
    observer: {
      onFrame: (frame) => {
        frames.push(frame);
        return observer?.onFrame?.(frame) ?? `trace-${frames.length}`;
      },
      onRequestEnd: (end) => {
        ends.push(end);
        return observer?.onRequestEnd?.(end);
      },
    },
  });
  let toServer = '', toClient = '';
  serverStdin.on('data', (chunk: Buffer) => (toServer += chunk));
  clientOut.on('data', (chunk: Buffer) => (toClient += chunk));
  return {
    pump, clientIn, serverStdout, frames, ends, toServer: () => toServer, toClient: () => toClient,
    advance: (ms: number) => (clock += ms),
  };
}

const deny = (reason: string): Verdict => ({ effect: 'deny', reason, message: `because ${reason}`, category: 'forbidden' });
const rule = (over: Partial<Rule> & Pick<Rule, 'evaluate'>): Rule => ({ id: 'r1', kind: 'test', mode: 'enforce', direction: 'client-to-server', phase: 'request', methods: ['*'], ...over });
const summary = (ends: RequestEnd[]) => ends.map((e) => [e.request.method, e.request.id, e.outcome]);

describe('pump observer', () => {
  it('should observe a request and its response once each, and end the request with its trace, times and reply', async () => {
    const s = setup();
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}\n');
    await tick();
    s.advance(25);
    s.serverStdout.write('{"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n');
    await tick();
    assert.deepEqual(s.frames.map((f) => [f.direction, f.phase, f.kind, f.method, f.id, f.action]), [
      ['client-to-server', 'request', 'request', 'tools/call', '1', 'forward'],
      ['server-to-client', 'response', 'response', 'tools/call', '1', 'forward'],
    ]);
    assert.equal(s.ends.length, 1);
    const [end] = s.ends;
    assert.deepEqual([end!.trace, end!.outcome, end!.at - end!.request.at], ['trace-1', 'forwarded', 25]);
    assert.equal(end!.reply!.toString(), '{"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n');
    assert.equal(end!.response, s.frames[1]);
  });

  it('should give each way a request can end its outcome', async () => {
    const s = setup([
      rule({ id: 'no-rm', methods: ['tools/call'], evaluate: (f) => ((f.body() as any).params.name === 'rm' ? deny('tool_not_allowed') : { effect: 'continue' }) }),
      rule({ id: 'limit', kind: 'rateLimit', methods: ['prompts/get'], evaluate: () => deny('rate_limited') }),
    ]);
    s.clientIn.write([
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm"}}',
      '{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"p"}}',
      '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ok"}}',
      '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"slow"}}',
      '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"gone"}}',
      '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":4}}',
      '',
    ].join('\n'));
    await tick();
    s.serverStdout.write('{"jsonrpc":"2.0","id":3,"error":{"code":-32000,"message":"nope"}}\n');
    await tick();
    s.pump.failPending('SIDECAR_ERR_UPSTREAM_EXITED', 'the server exited');
    assert.deepEqual(summary(s.ends), [
      ['tools/call', '1', 'blocked'],
      ['prompts/get', '2', 'rate_limited'],
      ['tools/call', '4', 'cancelled'],
      ['tools/call', '3', 'upstream_error'],
      ['tools/call', '5', 'upstream_exited'],
    ]);
    const blocked = s.ends[0]!;
    assert.deepEqual(blocked.request.decisions.map((d) => [d.ruleId, d.effect, d.enforced]), [['no-rm', 'deny', true]]);
    assert.match(blocked.reply!.toString(), /"ruleId":"no-rm"/, 'the reply is the denial the client got');
    const exited = JSON.parse(s.ends[4]!.reply!.toString());
    assert.deepEqual([exited.id, typeof exited.error.code], [5, 'number'], 'the reply is the error the client got');
  });

  it('should end a late response to a cancelled request only once', async () => {
    const s = setup();
    s.clientIn.write('{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{}}\n{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}\n');
    await tick();
    s.serverStdout.write('{"jsonrpc":"2.0","id":9,"result":{}}\n');
    await tick();
    assert.deepEqual(summary(s.ends), [['tools/call', '9', 'cancelled']]);
    assert.equal(s.frames.filter((f) => f.kind === 'response').length, 1, 'the late response is still observed');
  });

  it('should track the server\'s own requests to their answer by the client', async () => {
    const s = setup();
    s.serverStdout.write('{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{}}\n{"jsonrpc":"2.0","id":"s2","method":"roots/list"}\n');
    await tick();
    s.clientIn.write('{"jsonrpc":"2.0","id":"s1","result":{"content":{}}}\n{"jsonrpc":"2.0","id":"s2","error":{"code":-1,"message":"no"}}\n');
    await tick();
    assert.deepEqual(s.ends.map((e) => [e.request.direction, e.request.method, e.outcome]), [
      ['server-to-client', 'sampling/createMessage', 'forwarded'],
      ['server-to-client', 'roots/list', 'upstream_error'],
    ]);
  });

  it('should end what is pending with the outcome the runtime gives (timeout, client_gone)', async () => {
    const s = setup();
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}\n');
    await tick();
    s.pump.failPending('SIDECAR_ERR_UPSTREAM_EXITED', 'stopped', 'timeout');
    assert.deepEqual(summary(s.ends), [['tools/call', '1', 'timeout']]);
  });

  it('should observe a batch member by member', async () => {
    const s = setup();
    s.clientIn.write('[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}]\n');
    await tick();
    assert.equal(s.toServer(), '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}]\n', 'forwarded as it came');
    s.serverStdout.write('[{"jsonrpc":"2.0","id":1,"result":{}}]\n');
    await tick();
    assert.deepEqual(s.frames.map((f) => [f.kind, f.method]), [['request', 'ping'], ['notification', 'notifications/x'], ['response', 'ping']]);
    assert.deepEqual(summary(s.ends), [['ping', '1', 'forwarded']]);
    assert.equal(s.toClient(), '[{"jsonrpc":"2.0","id":1,"result":{}}]\n');
  });

  it('should stop reading both sides while an observer\'s promise is pending, and go on after', async () => {
    let release!: () => void;
    const s = setup([], { onRequestEnd: () => new Promise<void>((resolve) => (release = resolve)) });
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    await tick();
    s.serverStdout.write('{"jsonrpc":"2.0","id":1,"result":{}}\n');
    await tick();
    s.clientIn.write('{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    await tick();
    assert.equal(s.toServer(), '{"jsonrpc":"2.0","id":1,"method":"ping"}\n', 'the second request waits');
    release();
    await tick();
    await tick();
    assert.match(s.toServer(), /"id":2/, 'reading resumed');
  });
});
