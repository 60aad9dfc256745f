// Session recovery's onRecovered hook: told what a restarted server answered the replayed
// initialize (the gateway lets a left-out service join on it), after the held frames are released.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StartedServer } from '../../../components/proxy-process-governor/index.js';
import { createSessionRecovery, type RecoveredSession } from '../../../components/session-recovery/index.js';
import type { FrameChannelHandlers } from '../../../components/transport/index.js';
import { captureLogs } from '../../helpers/log-capture.js';

const INITIALIZE = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
const line = (message: object): Buffer => Buffer.from(`${JSON.stringify(message)}\n`);
const RESULT = { protocolVersion: '2025-06-18', capabilities: { tools: { listChanged: true } }, serverInfo: { name: 's', version: '1' } };

function harness(hook: ((recovered: RecoveredSession) => void) | undefined) {
  const logs = captureLogs('info');
  const recovery = createSessionRecovery({ logger: logs.logger, ...(hook === undefined ? {} : { onRecovered: hook }) });
  const order: string[] = [];
  let inner!: FrameChannelHandlers;
  const channel = recovery.wrap({
    start: (handlers) => void (inner = handlers),
    send: () => {}, pause: () => {}, resume: () => {}, drained: () => Promise.resolve(), endOutput: () => {}, close: () => {},
  });
  channel.start({
    onFrame: (bytes) => {
      const frame = JSON.parse(bytes.toString()) as { method?: string; id?: unknown };
      order.push(`client ${String(frame.method ?? frame.id)}`);
    },
    onOversized: () => {}, onEnd: () => {}, onWriteError: () => {}, onCongested: () => {}, onDrained: () => {},
    onReset: () => {},
  });
  const serverWrites = (message: object): void => inner.onFrame(line(message));
  const restart = (generation: number, released = true): void => {
    inner.onReset!('exited', new Set());
    const server: StartedServer = {
      generation,
      send: (bytes) => void order.push(`server ${String((JSON.parse(bytes.toString()) as { method?: string }).method)}`),
      release: () => {
        order.push('release');
        return released;
      },
    };
    recovery.onServerStart(server);
  };
  // The first server: the client's initialize, answered with tools.listChanged.
  channel.send(line(INITIALIZE), { kind: 'request', id: '0', key: '0', method: 'initialize' });
  serverWrites({ jsonrpc: '2.0', id: 0, result: RESULT });
  order.length = 0;
  return { logs, order, serverWrites, restart };
}

describe('session recovery: onRecovered', () => {
  it('is told the replay\'s result and the list_changed already sent, after the held frames are released', () => {
    const told: RecoveredSession[] = [];
    const h = harness((recovered) => {
      h.order.push('told');
      told.push(recovered);
    });
    h.restart(1);
    h.serverWrites({ jsonrpc: '2.0', id: 'mcp-sidecar:recovery:1', result: { ...RESULT, capabilities: { prompts: {} } } });
    assert.deepEqual(h.order, ['server initialize', 'server notifications/initialized', 'release', 'client notifications/tools/list_changed', 'told']);
    assert.deepEqual(told, [{ result: { ...RESULT, capabilities: { prompts: {} } }, listChangedSent: ['notifications/tools/list_changed'] }]);
  });

  it('is not told of an error answer, nor when the server could not be released', () => {
    const told: RecoveredSession[] = [];
    const errored = harness((recovered) => void told.push(recovered));
    errored.restart(1);
    errored.serverWrites({ jsonrpc: '2.0', id: 'mcp-sidecar:recovery:1', error: { code: -32603, message: 'no' } });
    const stopping = harness((recovered) => void told.push(recovered));
    stopping.restart(1, false);
    stopping.serverWrites({ jsonrpc: '2.0', id: 'mcp-sidecar:recovery:1', result: RESULT });
    const notAnObject = harness((recovered) => void told.push(recovered));
    notAnObject.restart(1);
    notAnObject.serverWrites({ jsonrpc: '2.0', id: 'mcp-sidecar:recovery:1', result: [1] });
    assert.deepEqual(told, []);
  });

  it('a hook that throws is logged; the session goes on', async () => {
    const h = harness(() => {
      throw new Error('hook bug');
    });
    h.restart(1);
    h.serverWrites({ jsonrpc: '2.0', id: 'mcp-sidecar:recovery:1', result: RESULT });
    h.serverWrites({ jsonrpc: '2.0', id: 7, result: {} });
    assert.deepEqual(h.order.slice(-1), ['client 7'], 'later frames still reach the client');
    await new Promise((resolve) => setImmediate(resolve)); // pino writes on
    assert.ok(h.logs.entries.some((e) => e['msg'] === 'a hook failed on a recovered session'));
  });
});
