// mcp_sidecar_gateway_calls_total{service, outcome}: gateway mode's client requests by the service
// their name routed them to. A series of its own, so --proxy's exposition is what it was.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../../components/metrics/index.js';
import { MAX_SERVICE_LABELS } from '../../../components/metrics/metrics.js';
import type { ObservedFrame, RequestEnd } from '../../../components/pump/index.js';
import { ended, observed, sample, samples } from './exposition.js';

const CALLS = 'mcp_sidecar_gateway_calls_total';
const fixedClock = () => 1000;

/** One request observed and ended, as the pump does it. */
function call(metrics: ReturnType<typeof createMetrics>, request: ObservedFrame, outcome: RequestEnd['outcome'] = 'forwarded'): void {
  const trace = metrics.observer.onFrame(request);
  void metrics.observer.onRequestEnd(ended(trace, request, outcome));
}

describe('gateway calls by service', () => {
  it('should count each client request by its service and outcome, the gateway\'s own under ""', async () => {
    const metrics = createMetrics({ defaultMetrics: false, clock: fixedClock });
    call(metrics, observed({ service: 'fs' }));
    call(metrics, observed({ service: 'fs' }));
    call(metrics, observed({ service: 'fs' }), 'upstream_exited');
    call(metrics, observed({ service: 'memory' }), 'blocked');
    call(metrics, observed({ method: 'tools/list', service: '' }));
    // A service's own request to the client is not a call through the gateway.
    call(metrics, observed({ direction: 'server-to-client', method: 'sampling/createMessage', service: '' }));
    const body = (await metrics.render()).body;
    assert.equal(sample(body, CALLS, { service: 'fs', outcome: 'forwarded' }), 2);
    assert.equal(sample(body, CALLS, { service: 'fs', outcome: 'upstream_exited' }), 1);
    assert.equal(sample(body, CALLS, { service: 'memory', outcome: 'blocked' }), 1);
    assert.equal(sample(body, CALLS, { service: '', outcome: 'forwarded' }), 1);
    assert.equal(samples(body, CALLS).length, 4, 'no series for what never happened');
  });

  it('should leave --proxy\'s exposition as it was: no gateway samples, every other series the same', async () => {
    const proxy = createMetrics({ defaultMetrics: false, clock: fixedClock });
    const gateway = createMetrics({ defaultMetrics: false, clock: fixedClock });
    const traffic: Array<[Partial<ObservedFrame>, RequestEnd['outcome']]> = [
      [{ method: 'tools/call' }, 'forwarded'], [{ method: 'tools/list' }, 'forwarded'], [{ method: 'tools/call' }, 'upstream_error'],
    ];
    for (const [frame, outcome] of traffic) {
      call(proxy, observed(frame), outcome);
      call(gateway, observed({ ...frame, service: 'fs' }), outcome);
    }
    const proxyBody = (await proxy.render()).body;
    assert.deepEqual(samples(proxyBody, CALLS), []);
    const withoutCalls = (body: string) => body.split('\n').filter((line) => !line.includes(CALLS)).join('\n');
    assert.equal(withoutCalls((await gateway.render()).body), withoutCalls(proxyBody));
    assert.equal(samples((await gateway.render()).body, CALLS).length, 2);
  });

  it('should bound the service label', async () => {
    const metrics = createMetrics({ defaultMetrics: false, clock: fixedClock });
    for (let i = 0; i < MAX_SERVICE_LABELS + 50; i++) call(metrics, observed({ service: `s${i}` }));
    call(metrics, observed({ service: 's0' }));
    const body = (await metrics.render()).body;
    assert.equal(samples(body, CALLS).length, MAX_SERVICE_LABELS + 1);
    assert.equal(sample(body, CALLS, { service: 'other', outcome: 'forwarded' }), 50);
    assert.equal(sample(body, CALLS, { service: 's0', outcome: 'forwarded' }), 2);
  });
});
