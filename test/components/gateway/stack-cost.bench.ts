// What a namespaced call costs through the whole gateway stack in process, against the same call
// through the one-server stack (not a test, not the bench): the pump, then either session recovery
// over the server (one-server, the pump's circuit breaker on), or the gateway over that service's
// guards (its own breaker) over session recovery. Both servers answer in memory, in rounds of 64
// in flight like the bench's `inflight` phase; no pipes, no syscalls, so what differs is the proxy's
// own JavaScript and its garbage. Each process measures one stack (separate heaps); run them
// alternately, in CPU time:
//   for i in 1 2 3; do for s in proxy gateway; do node --import tsx test/components/gateway/stack-cost.bench.ts $s; done; done
import { CircuitBreaker, DEFAULT_CIRCUIT_SETTINGS } from '../../../components/circuit-breaker/index.js';
import { systemClock } from '../../../components/clock/index.js';
import { readEnvelope, type Envelope } from '../../../components/framing/index.js';
import { createGatewayChannel, guardServiceChannel } from '../../../components/gateway/index.js';
import { createLogger } from '../../../components/logging/index.js';
import { createPump } from '../../../components/pump/index.js';
import { createSessionRecovery } from '../../../components/session-recovery/index.js';
import type { FrameChannel, FrameChannelHandlers } from '../../../components/transport/index.js';

const stack = process.argv[2] === 'gateway' ? 'gateway' : 'proxy';
const IN_FLIGHT = 64;
const CALLS = Number(process.argv[3] ?? 300_000);
const logger = createLogger({ level: 'silent' });

/** A server in memory: answers what it was sent when told to (a round), each answer read as the server's channel reads it. */
const initializeIds = new Set<string>();
function memoryServer(): FrameChannel & { answerAll(): void } {
  let handlers: FrameChannelHandlers | undefined;
  let pending: string[] = [];
  return {
    start: (h) => void (handlers = h),
    send(line, envelope) {
      // The id as the proxy forwarded it (its envelope), the method from the line only for the handshake.
      pending.push(envelope?.id ?? (readEnvelope(line) as Envelope).id!);
      if (envelope === undefined || envelope.method === 'initialize') initializeIds.add(pending[pending.length - 1]!);
    },
    answerAll() {
      const requests = pending;
      pending = [];
      // One chunk, as a pipe delivers a round's answers; each line a view of it.
      const lines = requests.map((id) => {
        const result = initializeIds.delete(id)
          ? '{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"bench","version":"1"}}'
          : '{"content":[{"type":"text","text":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]}';
        return `{"jsonrpc":"2.0","id":${id},"result":${result}}\n`;
      });
      const chunk = Buffer.from(lines.join(''));
      let at = 0;
      for (const text of lines) {
        const line = chunk.subarray(at, at + text.length);
        at += text.length;
        handlers!.onFrame(line, readEnvelope(line) as Envelope);
      }
    },
    pause() {}, resume() {}, drained: () => Promise.resolve(), endOutput() {}, close() {},
  };
}

const server = memoryServer();
const recovery = createSessionRecovery({ logger });
const recovered = recovery.wrap(server);
const breaker = (): CircuitBreaker => new CircuitBreaker(systemClock, DEFAULT_CIRCUIT_SETTINGS);
const upstream: FrameChannel = stack === 'proxy'
  ? recovered
  : createGatewayChannel({
    services: [{ name: 'bench', channel: guardServiceChannel({ name: 'bench', channel: recovered, clock: systemClock, logger, requestTimeoutMs: 0, breaker: breaker() }) }],
    separator: '.', logger, clock: systemClock, serverInfo: { name: 'g', version: '1' },
  });

let clientHandlers: FrameChannelHandlers | undefined;
let answered = 0;
const client: FrameChannel = {
  start: (h) => void (clientHandlers = h),
  send: () => void answered++,
  pause() {}, resume() {}, drained: () => Promise.resolve(), endOutput() {}, close() {},
};
createPump({ client, server: upstream, logger, events: {}, breaker: stack === 'proxy' ? breaker() : undefined });

const toolName = stack === 'gateway' ? 'bench.echo' : 'echo';
let nextId = 100_000;
/** A round's 64 requests as one chunk from the client (built before the clock starts). */
function chunkOfRound(): Buffer {
  let text = '';
  for (let k = 0; k < IN_FLIGHT; k++) text += `{"jsonrpc":"2.0","id":${nextId++},"method":"tools/call","params":{"name":"${toolName}","arguments":{"text":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}}\n`;
  return Buffer.from(text);
}
/** One round: the chunk's requests read as the client channel reads them, then the server's 64 answers. */
function round(chunk: Buffer): void {
  let at = 0;
  while (at < chunk.length) {
    const end = chunk.indexOf(0x0a, at) + 1;
    const line = chunk.subarray(at, end);
    at = end;
    clientHandlers!.onFrame(line, readEnvelope(line) as Envelope);
  }
  server.answerAll();
}

// The handshake, then warm-up, then the measured calls (their frames built first).
clientHandlers!.onFrame(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}\n'));
server.answerAll();
clientHandlers!.onFrame(Buffer.from('{"jsonrpc":"2.0","method":"notifications/initialized"}\n'));
for (let i = 0; i < 20_000 / IN_FLIGHT; i++) round(chunkOfRound());
const rounds = Math.ceil(CALLS / IN_FLIGHT);
const chunks = Array.from({ length: rounds }, chunkOfRound);
const before = answered;
const start = process.cpuUsage();
for (const chunk of chunks) round(chunk);
const { user, system } = process.cpuUsage(start);
const calls = answered - before;
if (calls !== rounds * IN_FLIGHT) throw new Error(`${calls} answers for ${CALLS} calls`);
console.log(`${stack}: ${(((user + system) * 1e3) / calls).toFixed(0)} ns CPU per call (${calls} calls, client frames built and read in both)`);
