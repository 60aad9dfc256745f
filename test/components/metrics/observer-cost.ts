// What the metrics observer costs the frame path: ns per call, on pre-built frames (what the
// pump hands over), after warm-up. Not a test; run it by hand:
//   node --import tsx test/components/metrics/observer-cost.ts
import { createMetrics } from '../../../components/metrics/index.js';
import { decision, ended, observed } from './exposition.js';

const ROUNDS = 5;
const N = 1_000_000;

const metrics = createMetrics({ defaultMetrics: false });
const { observer } = metrics;
const request = observed();
const response = observed({ direction: 'server-to-client', phase: 'response', kind: 'response' });
const notification = observed({ kind: 'notification', method: 'notifications/progress', id: undefined });
const unknown = observed({ kind: 'notification', method: 'vendor/custom-thing', id: undefined });
const denied = observed({ decisions: [decision('no-writes', 'deny', false)] });

function measure(name: string, body: () => void): void {
  for (let i = 0; i < N; i++) body(); // warm-up
  const results: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) body();
    results.push(Number(process.hrtime.bigint() - start) / N);
  }
  results.sort((a, b) => a - b);
  console.log(`${name.padEnd(62)} ${results[Math.floor(ROUNDS / 2)]!.toFixed(1).padStart(7)} ns (median of ${ROUNDS} x ${N})`);
}

let sink = 0;
measure('baseline (an empty call)', () => void (sink += request.at));
measure('onFrame: a notification (known method)', () => void observer.onFrame(notification));
measure('onFrame: a notification (method counted as other)', () => void observer.onFrame(unknown));
measure('onFrame: a response', () => void observer.onFrame(response));
measure('a request with a would-deny decision, and its end', () => observer.onRequestEnd(ended(observer.onFrame(denied), denied)));
measure('onRequestEnd alone (clock read; longest bucket search)', () => observer.onRequestEnd(ended(0, request)));
measure('a whole call: request, response, end (2 frames)', () => {
  const trace = observer.onFrame(request);
  observer.onFrame(response);
  observer.onRequestEnd(ended(trace, request));
});
const t = process.hrtime.bigint();
for (let i = 0; i < 1000; i++) await metrics.render();
console.log(`render() with this traffic: ${(Number(process.hrtime.bigint() - t) / 1000 / 1e3).toFixed(1)} µs per scrape`);
if (sink === 42) console.log(sink);
