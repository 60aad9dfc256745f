import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { startAdminEndpoint, upstreamReadiness } from '../../../components/admin-endpoint/index.js';
import { readEnvelope } from '../../../components/framing/index.js';
import { createMetrics } from '../../../components/metrics/index.js';
import { createGovernor } from '../../../components/proxy-process-governor/index.js';
import { createSessionRecovery } from '../../../components/session-recovery/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { waitFor } from '../../helpers/processes.js';
import { sample } from '../metrics/exposition.js';
import { tempDir } from '../../helpers/temp-dir.js';

const FIXTURE = resolve('test/fixtures/governor/mcp-server.js');

// A real governed server that crashes on its first tools/call, an admin endpoint reading the
// governor the way the runtime wires it, and a fake clock holding the restart until told.
describe('admin endpoint over a restarting server', () => {
  it('should flip /readyz to 503 while the server restarts and back to 200 once the session is recovered, with the upstream metrics', async () => {
    const clock = new FakeClock();
    const logs = captureLogs('info');
    const frames: Array<Record<string, unknown>> = [];
    // Wired as the runtime wires it: the session is carried across the restart by session recovery.
    const recovery = createSessionRecovery({ logger: logs.logger });
    const governor = createGovernor({
      executable: process.execPath,
      argv: ['node', FIXTURE],
      env: { PATH: process.env.PATH, CRASH_ON_CALL: '1', STATE_FILE: join(tempDir('readyz'), 'calls') },
      maxFrameBytes: 1 << 20,
      restart: { maxRestarts: 3, backoffBaseMs: 100, backoffMaxMs: 1000, backoffJitter: 0, stableAfterMs: 60_000, queueLimit: 4, queueTimeoutMs: 5000 },
      stop: { stdinCloseGraceMs: 500, killTimeoutMs: 500 },
      logger: logs.logger,
      onFatal: () => {},
      onServerStart: recovery.onServerStart,
      clock,
    });
    const channel = recovery.wrap(governor.channel);
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.trackUpstream(governor);
    const endpoint = await startAdminEndpoint({
      listen: { host: '127.0.0.1', port: 0 }, metrics, readiness: () => upstreamReadiness(governor.state), version: '1', logger: logs.logger,
    });
    const get = (path: string): Promise<Response> => fetch(`http://127.0.0.1:${endpoint.address.port}${path}`);
    const upstream = async (): Promise<{ up?: number; ready?: number; restarts?: number }> => {
      const body = await (await get('/metrics')).text();
      return { up: sample(body, 'mcp_sidecar_upstream_up'), ready: sample(body, 'mcp_sidecar_upstream_ready'), restarts: sample(body, 'mcp_sidecar_upstream_restarts_total') };
    };
    const send = (message: object): void => {
      const line = Buffer.from(`${JSON.stringify(message)}\n`);
      channel.send(line, readEnvelope(line) as never);
    };
    try {
      channel.start({
        onFrame: (line) => frames.push(JSON.parse(line.toString())),
        onOversized: () => {}, onEnd: () => {}, onWriteError: () => {}, onCongested: () => {}, onDrained: () => {}, onReset: () => {}, onLocalReply: () => {},
      });
      send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
      await waitFor(() => governor.state === 'ready', 5000, 'the server to answer initialize');
      assert.equal((await get('/readyz')).status, 200);
      assert.deepEqual(await upstream(), { up: 1, ready: 1, restarts: 0 });

      send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: {} } }); // the server dies on it
      // (The other pending timer is the 60 s "stayed up" one.)
      const backoff = () => clock.pending().find((timer) => timer.ms === 100);
      await waitFor(() => backoff() !== undefined, 5000, 'the backoff timer');
      const restarting = await get('/readyz');
      assert.equal(restarting.status, 503);
      assert.deepEqual(await restarting.json(), { ready: false, reason: 'the MCP server exited and is being restarted' });
      assert.deepEqual(await upstream(), { up: 0, ready: 0, restarts: 0 });
      assert.equal((await get('/healthz')).status, 200, 'the proxy itself is alive');

      clock.advance(backoff()!.ms);
      await waitFor(() => governor.state === 'ready', 5000, 'the session to be recovered');
      assert.equal((await get('/readyz')).status, 200);
      assert.deepEqual(await upstream(), { up: 1, ready: 1, restarts: 1 });
    } finally {
      await governor.stop();
      await endpoint.close();
    }
    assert.equal(upstreamReadiness(governor.state).ready, false);
  });
});
