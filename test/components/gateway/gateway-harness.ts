// The gateway channel over in-memory services, for its unit tests: a fake pump records what
// reaches the client (frames with their envelopes, and the errors it was asked to answer).
import assert from 'node:assert/strict';
import type { ErrorCode } from '../../../components/errors/index.js';
import { readEnvelope, type Envelope } from '../../../components/framing/index.js';
import { createGatewayChannel, type GatewayChannel } from '../../../components/gateway/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { memoryChannel, type MemoryChannel } from '../pump/memory-channel.js';

export type Json = Record<string, any>;

export interface ClientFrame {
  readonly line: string;
  readonly envelope: Envelope | undefined;
}

// A gateway over in-memory services, started by a fake pump that records what reaches the client:
// frames (with the envelope handed along) and the errors it was asked to answer (onLocalReply).
export function harness(names: readonly string[] = ['fs', 'web'], fanOutTimeoutMs?: number) {
  const clock = new FakeClock();
  const logs = captureLogs('debug');
  const channels = new Map<string, MemoryChannel>(names.map((name) => [name, memoryChannel()]));
  const gateway: GatewayChannel = createGatewayChannel({
    services: names.map((name) => ({ name, channel: channels.get(name)! })),
    separator: '.', logger: logs.logger, clock, serverInfo: { name: 'mcp-sidecar-gateway', version: '9.9.9' },
    ...(fanOutTimeoutMs === undefined ? {} : { fanOutTimeoutMs }),
  });
  const toClient: ClientFrame[] = [];
  const localReplies: Array<{ id: string; key: string; code: ErrorCode; detail: string }> = [];
  let congestion = 0;
  gateway.start({
    onFrame: (line, envelope) => void toClient.push({ line: line.toString('utf8'), envelope }),
    onOversized: () => {},
    onEnd: () => {},
    onWriteError: () => {},
    onCongested: () => void congestion++,
    onDrained: () => void congestion--,
    onLocalReply: (target, code, detail) => void localReplies.push({ id: target.id, key: target.key, code, detail }),
  });
  const fromClient = (message: Json | string): void => {
    const bytes = Buffer.from(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
    const envelope = readEnvelope(bytes);
    assert.notEqual(envelope.kind, 'invalid');
    gateway.send(bytes, envelope as Envelope);
  };
  const service = (name: string) => channels.get(name)!;
  const sentTo = (name: string): Json[] => service(name).sent.map(({ line }) => JSON.parse(line) as Json);
  const lastSentTo = (name: string): Json => sentTo(name).at(-1)!;
  const clientMessages = (): Json[] => toClient.map(({ line }) => JSON.parse(line) as Json);
  return { gateway, clock, logs, service, sentTo, lastSentTo, fromClient, toClient, clientMessages, localReplies, congestion: () => congestion };
}

// Every frame handed to the client carries an envelope that says what its bytes say (the pump trusts it).
export function assertEnvelopesTrue(frames: readonly ClientFrame[]): void {
  for (const { line, envelope } of frames) {
    assert.ok(envelope, `an envelope travels with ${line}`);
    const read = readEnvelope(Buffer.from(line)) as Envelope;
    assert.equal(envelope.kind, read.kind, line);
    assert.equal(envelope.id, read.id, line);
    assert.equal(envelope.key, read.key, line);
    assert.ok(line.endsWith('\n'));
  }
}

export const INIT_PARAMS = { protocolVersion: '2025-06-18', capabilities: { sampling: {} }, clientInfo: { name: 'client', version: '1' } };

export function initialize(h: ReturnType<typeof harness>, answers: Record<string, Json | 'error'>): Json {
  h.fromClient({ jsonrpc: '2.0', id: 0, method: 'initialize', params: INIT_PARAMS });
  for (const [name, result] of Object.entries(answers)) {
    const id = h.lastSentTo(name)['id'];
    h.service(name).push(JSON.stringify(result === 'error'
      ? { jsonrpc: '2.0', id, error: { code: -32603, message: 'no' } }
      : { jsonrpc: '2.0', id, result }));
  }
  return h.clientMessages().at(-1)!;
}
