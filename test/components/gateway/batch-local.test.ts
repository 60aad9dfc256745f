// A gateway-made error for a member of a client batch goes into the batch's array, yet the pump
// ends and counts it as its own local reply (encodeLocalReply): its report has the outcome it has
// alone (blocked, upstream_exited), answeredLocally counts it, and the array's answer for it is
// delivered once, not ended twice, not dropped as an orphan under a policy.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGatewayChannel } from '../../../components/gateway/index.js';
import { createPump, type RequestEnd } from '../../../components/pump/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { policyFromRules } from '../../helpers/test-policy.js';
import { memoryChannel } from '../pump/memory-channel.js';

type Json = Record<string, any>;

function setup(withPolicy: boolean) {
  const clock = new FakeClock();
  const logs = captureLogs();
  const fs = memoryChannel();
  const web = memoryChannel();
  const gateway = createGatewayChannel({
    services: [{ name: 'fs', channel: fs }, { name: 'web', channel: web }],
    separator: '.', logger: logs.logger, clock, serverInfo: { name: 'gateway', version: '1' },
  });
  const client = memoryChannel();
  const ends: RequestEnd[] = [];
  const pump = createPump({
    client, server: gateway, logger: logs.logger, clock, policy: withPolicy ? { current: policyFromRules([]) } : undefined,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
    observer: { onFrame: () => 1, onRequestEnd: (end) => void ends.push(end) },
  });
  const toClient = (): Json[] => client.sent.map(({ line }) => JSON.parse(line) as Json);
  const outcomes = (): Record<string, string> => Object.fromEntries(ends.map((end) => [String(end.request.id), end.outcome]));
  return { pump, gateway, client, fs, web, toClient, outcomes, ends };
}

const call = (id: number, name: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });

for (const withPolicy of [false, true]) {
  describe(`gateway batch errors as the pump's local replies (${withPolicy ? 'under a policy' : 'no policy'})`, () => {
    it('a member with no route is blocked and counted; its sibling is forwarded', () => {
      const s = setup(withPolicy);
      s.client.push(JSON.stringify([call(1, 'nowhere.x'), call(2, 'fs.read')]));
      assert.equal(s.pump.stats.answeredLocally, 1, 'the refused member counted once, as a local reply');
      assert.equal(s.outcomes()['1'], 'blocked');
      assert.equal(s.client.sent.length, 0, 'the array waits for its other member');
      const forwarded = JSON.parse(s.fs.sent.at(-1)!.line) as Json;
      s.fs.push(JSON.stringify({ jsonrpc: '2.0', id: forwarded['id'], result: { content: [] } }));
      const [batch] = s.toClient();
      assert.ok(Array.isArray(batch), 'one array');
      assert.deepEqual(batch.map((member: Json) => member['id']), [1, 2]);
      assert.equal(batch[0]['error']['data']['code'], 'SIDECAR_ERR_GATEWAY_NO_ROUTE');
      assert.deepEqual(batch[1]['result'], { content: [] });
      assert.equal(s.outcomes()['2'], 'forwarded');
      assert.equal(s.ends.length, 2, 'each request ended exactly once');
      assert.equal(s.pump.stats.answeredLocally, 1, 'the array itself is not counted again');
      assert.equal(s.pump.stats.internalErrors, 0);
      assert.equal(s.pump.pendingCount, 0);
    });

    it('a member whose service goes down is upstream_exited and counted; the other service\'s member is answered', () => {
      const s = setup(withPolicy);
      s.client.push(JSON.stringify([call(1, 'fs.read'), call(2, 'web.fetch')]));
      s.gateway.serviceDown('fs', 'past its restarts');
      assert.equal(s.outcomes()['1'], 'upstream_exited');
      assert.equal(s.pump.stats.answeredLocally, 1);
      const forwarded = JSON.parse(s.web.sent.at(-1)!.line) as Json;
      s.web.push(JSON.stringify({ jsonrpc: '2.0', id: forwarded['id'], result: { ok: true } }));
      const [batch] = s.toClient();
      assert.equal(batch[0]['id'], 1);
      assert.equal(batch[0]['error']['data']['code'], 'SIDECAR_ERR_UPSTREAM_EXITED');
      assert.deepEqual(batch[1]['result'], { ok: true });
      assert.equal(s.outcomes()['2'], 'forwarded');
      assert.equal(s.ends.length, 2);
      assert.equal(s.pump.stats.internalErrors, 0);
    });

    it('a batch of only refused members is written at once, each member counted', () => {
      const s = setup(withPolicy);
      s.client.push(JSON.stringify([call(1, 'a.x'), call(2, 'b.y')]));
      const [batch] = s.toClient();
      assert.deepEqual(batch.map((member: Json) => member['error']['data']['code']), ['SIDECAR_ERR_GATEWAY_NO_ROUTE', 'SIDECAR_ERR_GATEWAY_NO_ROUTE']);
      assert.deepEqual(s.outcomes(), { 1: 'blocked', 2: 'blocked' });
      assert.equal(s.pump.stats.answeredLocally, 2);
      assert.equal(s.pump.pendingCount, 0);
    });

    it('alone, the same refusal takes the pump\'s one local reply with the same outcome and count', () => {
      const s = setup(withPolicy);
      s.client.push(JSON.stringify(call(1, 'nowhere.x')));
      assert.equal(s.outcomes()['1'], 'blocked');
      assert.equal(s.pump.stats.answeredLocally, 1);
      assert.equal(s.toClient()[0]['error']['data']['code'], 'SIDECAR_ERR_GATEWAY_NO_ROUTE');
    });
  });
}
