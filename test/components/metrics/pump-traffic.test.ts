import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createMetrics } from '../../../components/metrics/index.js';
import { CONTINUE, type Rule } from '../../../components/policy/index.js';
import { combineObservers, createPump } from '../../../components/pump/index.js';
import { createNdjsonChannel } from '../../../components/transport/index.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { policyFromRules } from '../../helpers/test-policy.js';
import { sample } from './exposition.js';

// A rule that denies tools/call of the tool named `delete`.
const noDelete: Rule = {
  id: 'no-delete', kind: 'tools', mode: 'enforce', direction: 'client-to-server', phase: 'request', methods: ['tools/call'],
  evaluate: (frame) => ((frame.body() as { params?: { name?: string } }).params?.name === 'delete'
    ? { effect: 'deny', reason: 'tool_not_allowed', message: 'no deleting', category: 'forbidden' }
    : CONTINUE),
};

// Two pumps (two sessions) over in-memory streams, sharing one metrics object, as HTTP mode will.
function session(metrics: ReturnType<typeof createMetrics>) {
  const clientIn = new PassThrough();
  const serverStdout = new PassThrough();
  const serverStdin = new PassThrough();
  const clientOut = new PassThrough();
  const received: string[] = [];
  clientOut.on('data', (chunk: Buffer) => received.push(...chunk.toString().split('\n').filter(Boolean)));
  serverStdin.resume();
  createPump({
    client: createNdjsonChannel(clientIn, clientOut, { maxFrameBytes: 1 << 20 }),
    server: createNdjsonChannel(serverStdout, serverStdin, { maxFrameBytes: 1 << 20 }),
    logger: captureLogs().logger,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
    policy: { current: policyFromRules([noDelete]) },
    // Beside another observer, as the runtime combines them with reports and transcripts.
    observer: combineObservers([{ onFrame: () => 'other', onRequestEnd: () => undefined }, metrics.observer]),
  });
  return { client: (message: object) => clientIn.write(`${JSON.stringify(message)}\n`), server: (message: object) => serverStdout.write(`${JSON.stringify(message)}\n`), received };
}

describe('metrics on a pump', () => {
  it('should move as traffic flows through pumps: frames, decisions, in flight, durations', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = session(metrics);
    const b = session(metrics);
    const call = (id: number, name: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });

    a.client(call(1, 'read'));
    b.client(call(1, 'read'));
    b.client(call(2, 'delete'));
    a.client({ jsonrpc: '2.0', method: 'notifications/initialized' });
    a.client({ jsonrpc: '2.0', id: 3, method: 'vendor/secret-method-name' });
    await tick();
    let body = (await metrics.render()).body;
    const c2s = { direction: 'client-to-server' };
    assert.equal(sample(body, 'mcp_sidecar_frames_total', { ...c2s, kind: 'request', method: 'tools/call' }), 3);
    assert.equal(sample(body, 'mcp_sidecar_frames_total', { ...c2s, kind: 'request', method: 'other' }), 1);
    assert.ok(!body.includes('vendor/secret-method-name'));
    assert.equal(sample(body, 'mcp_sidecar_frames_total', { ...c2s, kind: 'notification', method: 'notifications/initialized' }), 1);
    assert.equal(sample(body, 'mcp_sidecar_policy_decisions_total', { rule: 'no-delete', effect: 'deny', enforced: 'true' }), 1);
    assert.equal(sample(body, 'mcp_sidecar_invocations_in_flight'), 3, 'two reads and the vendor call; the delete was answered at once');
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_count', { method: 'tools/call', outcome: 'blocked' }), 1);

    a.server({ jsonrpc: '2.0', id: 1, result: { content: [] } });
    b.server({ jsonrpc: '2.0', id: 1, error: { code: -1, message: 'no' } });
    a.server({ jsonrpc: '2.0', id: 3, result: {} });
    await tick();
    body = (await metrics.render()).body;
    assert.equal(sample(body, 'mcp_sidecar_frames_total', { direction: 'server-to-client', kind: 'response', method: 'tools/call' }), 2);
    assert.equal(sample(body, 'mcp_sidecar_invocations_in_flight'), 0);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_count', { method: 'tools/call', outcome: 'forwarded' }), 1);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_count', { method: 'tools/call', outcome: 'upstream_error' }), 1);
    assert.equal(sample(body, 'mcp_sidecar_invocation_duration_seconds_count', { method: 'other', outcome: 'forwarded' }), 1);
    assert.equal(a.received.length + b.received.length, 4, 'the proxy still forwards and answers as before');
  });
});
