// The gateway's per-call cost (not a test, not the bench): a namespaced tools/call routed to its
// service and its answer restored to the client's id, against what the one-server path already
// pays for the same frames (reading the answer's envelope). Run:
//   node --import tsx test/components/gateway/remap-cost.bench.ts
import { performance } from 'node:perf_hooks';
import { systemClock } from '../../../components/clock/index.js';
import { readEnvelope, type Envelope } from '../../../components/framing/index.js';
import { createGatewayChannel } from '../../../components/gateway/index.js';
import { createLogger } from '../../../components/logging/index.js';
import type { FrameChannelHandlers } from '../../../components/transport/index.js';

const CALLS = 200_000;
const text = (bytes: number): string => 'x'.repeat(bytes);

function measure(resultBytes: number): void {
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
  const request = Buffer.from('{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"fs.read_file","arguments":{"path":"/tmp/a.txt"}}}\n');
  const requestEnvelope = readEnvelope(request) as Envelope;
  // The TypeScript SDK's order: the id last, after the result.
  const answerFor = (id: string) => Buffer.from(`{"result":{"content":[{"type":"text","text":"${text(resultBytes)}"}]},"jsonrpc":"2.0","id":${id}}\n`);

  const gatewayRun = (): number => {
    const start = performance.now();
    for (let i = 0; i < CALLS; i++) {
      gateway.send(request, requestEnvelope);
      const id = lastSent!.envelope!.key!;
      serviceHandlers!.onFrame(answerFor(id));
    }
    return ((performance.now() - start) * 1e6) / CALLS;
  };
  // The baseline: building the same answer and reading its envelope, as the one-server pump does.
  const baselineRun = (): number => {
    const start = performance.now();
    for (let i = 0; i < CALLS; i++) readEnvelope(answerFor(String(i + 1)));
    return ((performance.now() - start) * 1e6) / CALLS;
  };
  gatewayRun(); baselineRun(); // warm up
  const samples = Array.from({ length: 5 }, () => [gatewayRun(), baselineRun()] as const);
  const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const gatewayNs = median(samples.map(([g]) => g));
  const baselineNs = median(samples.map(([, b]) => b));
  console.log(`result ${resultBytes} B: gateway round trip ${gatewayNs.toFixed(0)} ns/call, answer envelope alone ${baselineNs.toFixed(0)} ns/call, remapping adds ${(gatewayNs - baselineNs).toFixed(0)} ns/call (${delivered} delivered)`);
}

for (const bytes of [16, 4096, 65536]) measure(bytes);
