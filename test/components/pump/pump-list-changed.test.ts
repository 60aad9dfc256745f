// The proxy's own list_changed after a policy change (Pump.policyChanged): sent for each kind of
// list the client has received a successful answer to in this session, through the route a server
// notification takes (the rules judge it, observers record it), and nothing for the rest.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadPolicyFile } from '../../../components/policy/document/index.js';
import type { Rule } from '../../../components/policy/index.js';
import { createPump, type ObservedFrame, type PolicyHolder } from '../../../components/pump/index.js';
import { createPolicyHolder } from '../../../components/runtime/policy-holder.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { policyFromRules } from '../../helpers/test-policy.js';
import { memoryChannel } from './memory-channel.js';

const TOOLS_CHANGED = 'notifications/tools/list_changed';
const PROMPTS_CHANGED = 'notifications/prompts/list_changed';
const RESOURCES_CHANGED = 'notifications/resources/list_changed';

/** `null`: no policy at all; absent: a policy with no rules (one a reload could replace). */
function setup(given?: PolicyHolder | null) {
  const policy = given === null ? undefined : given ?? { current: policyFromRules([]) };
  const client = memoryChannel(), server = memoryChannel();
  const frames: ObservedFrame[] = [];
  const logs = captureLogs('info');
  const pump = createPump({
    client, server, logger: logs.logger, policy,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
    observer: { onFrame: (frame) => void frames.push(frame), onRequestEnd: () => undefined },
  });
  let nextId = 1;
  /** The client asks `method`, the server answers with `answer` (a result, or an error). */
  const exchange = (method: string, answer: 'result' | 'error' = 'result'): void => {
    const id = nextId++;
    client.push(JSON.stringify({ jsonrpc: '2.0', id, method }));
    server.push(answer === 'result'
      ? JSON.stringify({ jsonrpc: '2.0', id, result: {} })
      : JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: 'no' } }));
  };
  /** The methods of the notifications the client was sent. */
  const notified = (): string[] => client.sent.map((s) => JSON.parse(s.line)).filter((m) => !Array.isArray(m) && m.id === undefined).map((m) => m.method);
  return { pump, client, server, frames, logs, exchange, notified };
}

describe('the proxy\'s list_changed after a policy change', () => {
  it('should send one tools/list_changed to a client that listed tools, and nothing for the kinds it never listed', () => {
    const s = setup();
    s.exchange('tools/list');
    s.exchange('tools/call');
    s.pump.policyChanged();
    assert.deepEqual(s.notified(), [TOOLS_CHANGED]);
    const [sent] = s.client.sent.slice(-1);
    assert.equal(sent!.line, `{"jsonrpc":"2.0","method":"${TOOLS_CHANGED}"}\n`);
    assert.deepEqual([sent!.envelope?.kind, sent!.envelope?.method], ['notification', TOOLS_CHANGED], 'handed over with its envelope, as every frame to the client is');
    assert.equal(s.server.sent.length, 2, 'the server is told nothing');
  });

  it('should tell each kind the client listed once, resource templates and resources as one kind', () => {
    const s = setup();
    s.exchange('prompts/list');
    s.exchange('resources/templates/list');
    s.exchange('resources/list');
    s.exchange('tools/list');
    s.pump.policyChanged();
    assert.deepEqual(s.notified(), [TOOLS_CHANGED, PROMPTS_CHANGED, RESOURCES_CHANGED]);
  });

  it('should send nothing to a client that listed nothing, or whose list requests were answered with errors', () => {
    const s = setup();
    s.pump.policyChanged();
    s.exchange('tools/list', 'error');
    s.exchange('ping');
    s.pump.policyChanged();
    assert.deepEqual(s.notified(), []);
    assert.equal(s.pump.stats.framesFromServer, 2, 'counts only what the server sent');
  });

  it('should not count a list the policy refused to the client', () => {
    const denyLists: Rule = {
      id: 'no-lists', kind: 'test', mode: 'enforce', direction: 'server-to-client', phase: 'response', methods: ['tools/list'],
      evaluate: () => ({ effect: 'deny', reason: 'method_not_allowed', message: 'no', category: 'forbidden' }),
    };
    const s = setup({ current: policyFromRules([denyLists]) });
    s.exchange('tools/list');
    assert.equal(JSON.parse(s.client.sent[0]!.line).error.data.ruleId, 'no-lists');
    s.pump.policyChanged();
    assert.deepEqual(s.notified(), []);
  });

  it('should count a list answered inside a server batch', () => {
    const s = setup();
    s.client.push('{"jsonrpc":"2.0","id":"a","method":"prompts/list"}');
    s.server.push('[{"jsonrpc":"2.0","id":"a","result":{"prompts":[]}}]');
    s.pump.policyChanged();
    assert.deepEqual(s.notified(), [PROMPTS_CHANGED]);
  });

  it('should send it again on each later change, and nothing once the session is stopping', () => {
    const s = setup();
    s.exchange('tools/list');
    s.pump.policyChanged();
    s.pump.policyChanged();
    assert.deepEqual(s.notified(), [TOOLS_CHANGED, TOOLS_CHANGED]);
    s.pump.refuseNewRequests('SIDECAR_ERR_SHUTTING_DOWN', 'stopping');
    s.pump.policyChanged();
    assert.deepEqual(s.notified(), [TOOLS_CHANGED, TOOLS_CHANGED]);
  });

  it('should have observers record it as a notification to the client, and the rules judge it like the server\'s own', () => {
    const dropListChanged: Rule = {
      id: 'quiet', kind: 'test', mode: 'enforce', direction: 'server-to-client', phase: 'request', methods: [PROMPTS_CHANGED],
      evaluate: () => ({ effect: 'deny', reason: 'method_not_allowed', message: 'no', category: 'forbidden' }),
    };
    const s = setup({ current: policyFromRules([dropListChanged]) });
    s.exchange('tools/list');
    s.exchange('prompts/list');
    s.pump.policyChanged();
    assert.deepEqual(s.notified(), [TOOLS_CHANGED], 'the policy in force drops prompts\' list_changed, as it would the server\'s');
    const observed = s.frames.filter((f) => f.kind === 'notification').map((f) => [f.direction, f.method, f.action]);
    assert.deepEqual(observed, [['server-to-client', TOOLS_CHANGED, 'forward'], ['server-to-client', PROMPTS_CHANGED, 'deny']]);
    assert.ok(s.logs.entries.some((r) => r.msg === 'the policy changed: the client is told to list again'));
  });

  it('should keep nothing and send nothing without a policy (no reload can change a list)', () => {
    const s = setup(null);
    s.exchange('tools/list');
    s.pump.policyChanged();
    assert.deepEqual(s.notified(), []);
  });
});

describe('list_changed on a reload, every session of one policy holder', () => {
  it('should tell each session that listed once per accepted reload, none after a rejected one, none after the session unsubscribed', async () => {
    const file = join(tempDir('list-changed'), 'live.yaml');
    copyFileSync('policies/readonly.yaml', file);
    // A fake clock: the file watcher's debounce never fires by itself; reloads here are the test's.
    const holder = await createPolicyHolder(loadPolicyFile(file), undefined, captureLogs('info').logger, new FakeClock());
    try {
      const listed = setup(holder), silent = setup(holder), gone = setup(holder);
      const subscriptions = [listed, silent, gone].map((s) => holder.onChange(() => s.pump.policyChanged()));
      listed.exchange('tools/list');
      gone.exchange('tools/list');
      silent.exchange('tools/call');
      subscriptions[2]!();

      // Writers no longer hidden: revision 2.
      writeFileSync(file, readFileSync('policies/readonly.yaml', 'utf8').replace('revision: 1', 'revision: 2').replace(/  - id: hide-writers[\s\S]*?move_\*"\] }\n/, ''));
      assert.equal(await holder.reload('test'), true);
      assert.equal(holder.current.revision, '2');
      assert.deepEqual(listed.notified(), [TOOLS_CHANGED]);
      assert.deepEqual(silent.notified(), [], 'a session that never listed tools is not told');
      assert.deepEqual(gone.notified(), [], 'a session that ended is not told');

      assert.equal(await holder.reload('the same file again'), true);
      writeFileSync(file, 'this: is: not: yaml: [');
      assert.equal(await holder.reload('a broken file'), false);
      assert.equal(holder.current.revision, '2');
      assert.deepEqual(listed.notified(), [TOOLS_CHANGED], 'neither an unchanged nor a rejected reload tells anyone');
    } finally {
      holder.close();
    }
  });
});
