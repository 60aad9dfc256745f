// The gateway's per-call cost (not a test, not the bench): a namespaced tools/call routed to its
// service and its answer restored to the client's id, against what the one-server path already
// pays for the same frames (the request's envelope handed along, the answer built and its
// envelope read). Client ids as the bench client writes them (six digits, counting up), or as a
// UUID string (no gateway id has its length: the answer is copied). Run:
//   node --import tsx test/components/gateway/remap-cost.bench.ts [result bytes…]
import { systemClock } from '../../../components/clock/index.js';
import { readEnvelope, type Envelope } from '../../../components/framing/index.js';
import { createGatewayChannel } from '../../../components/gateway/index.js';
import { createLogger } from '../../../components/logging/index.js';
import type { FrameChannelHandlers } from '../../../components/transport/index.js';

const text = (bytes: number): string => 'x'.repeat(bytes);
// About the same time per size: fewer calls when each copies more.
const callsFor = (resultBytes: number): number => Math.max(5_000, Math.min(200_000, Math.floor(2e9 / (resultBytes + 4096) / 4)));

type IdStyle = 'counter' | 'uuid';

function measure(resultBytes: number, idStyle: IdStyle): void {
  const calls = callsFor(resultBytes);
  let serviceHandlers: FrameChannelHandlers | undefined;
  let lastSent: { line: Buffer; envelope: Envelope | undefined } | undefined;
  let delivered = 0;
  const service = {
    start: (h: FrameChannelHandlers) => void (serviceHandlers = h),
    send: (line: Buffer, envelope?: Envelope) => void (lastSent = { line, envelope }),
    pause() {}, resume() {}, drained: () => Promise.resolve(), endOutput() {}, close() {},
  };
  const gateway = createGatewayChannel({
    services: [{ name: 'fs', channel: service }, { name: 'web', channel: { ...service, start: () => {} } }],
    separator: '.', logger: createLogger({ level: 'silent' }), clock: systemClock, serverInfo: { name: 'g', version: '1' },
  });
  gateway.start({ onFrame: () => void delivered++, onOversized() {}, onEnd() {}, onWriteError() {}, onCongested() {}, onDrained() {}, onLocalReply() {} });
  let sequence = 100_000;
  const nextClientId = (): string => (idStyle === 'counter'
    ? String(sequence++)
    : `"${(sequence++).toString(16).padStart(8, '0')}-7d3c-4f5e-9a1b-2c3d4e5f6a7b"`);
  const requestFor = (id: string) => Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"fs.read_file","arguments":{"path":"/tmp/a.txt"}}}\n`);
  // The TypeScript SDK's order: the id last, after the result.
  const answerFor = (id: string) => Buffer.from(`{"result":{"content":[{"type":"text","text":"${text(resultBytes)}"}]},"jsonrpc":"2.0","id":${id}}\n`);
  // What the pump hands the channel with a request (read before the gateway, in both paths).
  const envelopeFor = (id: string): Envelope => ({ kind: 'request', id, key: idStyle === 'counter' ? id : JSON.stringify(JSON.parse(id)), method: 'tools/call' });

  // Whole loops are timed, in CPU time (the machine may be shared: time spent descheduled is not
  // counted); a timer read per call would cost more than what is measured. The baseline loop
  // builds the same frames and reads the answer's envelope, as the one-server pump does.
  const cpuNsPerCall = (since: NodeJS.CpuUsage): number => {
    const { user, system } = process.cpuUsage(since);
    return ((user + system) * 1e3) / calls;
  };
  const gatewayLoop = (): number => {
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) {
      const id = nextClientId();
      gateway.send(requestFor(id), envelopeFor(id));
      serviceHandlers!.onFrame(answerFor(lastSent!.envelope!.id!));
    }
    return cpuNsPerCall(start);
  };
  const baselineLoop = (): number => {
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) {
      const id = nextClientId();
      requestFor(id);
      envelopeFor(id);
      readEnvelope(answerFor(id));
    }
    return cpuNsPerCall(start);
  };
  gatewayLoop(); baselineLoop(); // warm up
  const samples = Array.from({ length: 5 }, () => [gatewayLoop(), baselineLoop()] as const);
  const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const gatewayNs = median(samples.map(([g]) => g));
  const baselineNs = median(samples.map(([, b]) => b));
  console.log(`result ${resultBytes} B, ${idStyle} ids: gateway round trip ${gatewayNs.toFixed(0)} ns CPU/call, the same frames without it ${baselineNs.toFixed(0)} ns/call, the gateway adds ${(gatewayNs - baselineNs).toFixed(0)} ns/call (${delivered} delivered)`);
}

const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
for (const bytes of sizes.length > 0 ? sizes : [16, 4096, 65536]) {
  for (const idStyle of ['counter', 'uuid'] as const) measure(bytes, idStyle);
}
