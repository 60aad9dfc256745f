// What operators see of the breaker: /readyz's answer (not ready while open, ready again when
// half-open) and the metrics (mcp_sidecar_circuit_state, mcp_sidecar_circuit_transitions_total),
// read from a breaker driven on a fake clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { circuitReadiness, combineReadiness, upstreamReadiness } from '../../../components/admin-endpoint/index.js';
import { CircuitBreaker } from '../../../components/circuit-breaker/index.js';
import { createMetrics } from '../../../components/metrics/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { sample, types } from '../metrics/exposition.js';

function openBreaker() {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker(clock, { failures: 2, windowMs: 1000, cooldownMs: 500 });
  breaker.recordFailure();
  breaker.recordFailure();
  return { clock, breaker };
}

describe('circuit breaker: readiness and metrics', () => {
  it('should make /readyz not ready while open, saying when a probe may pass, and ready once half-open', () => {
    const { clock, breaker } = openBreaker();
    clock.advance(200);
    assert.deepEqual(circuitReadiness(breaker), { ready: false, reason: 'the circuit breaker is open: the MCP server kept failing; a probe may pass in 300 ms' });
    clock.advance(300);
    assert.deepEqual(circuitReadiness(breaker), { ready: true });
  });

  it('should combine with the server\'s readiness: the first part not ready says why', () => {
    const { clock, breaker } = openBreaker();
    let state: 'ready' | 'backoff' = 'backoff';
    const readiness = combineReadiness(() => upstreamReadiness(state), () => circuitReadiness(breaker));
    assert.equal(readiness().reason, 'the MCP server exited and is being restarted');
    state = 'ready';
    assert.match(readiness().reason ?? '', /circuit breaker is open/);
    clock.advance(500);
    assert.deepEqual(readiness(), { ready: true });
  });

  it('should show the state as 0/1/2 and count transitions by the state entered', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const before = (await metrics.render()).body;
    assert.equal(types(before).get('mcp_sidecar_circuit_state'), 'gauge');
    assert.equal(types(before).get('mcp_sidecar_circuit_transitions_total'), 'counter');
    assert.equal(sample(before, 'mcp_sidecar_circuit_state'), 0, 'no breaker watched: closed');

    const { clock, breaker } = openBreaker();
    metrics.watchCircuitBreaker(() => breaker);
    let body = (await metrics.render()).body;
    assert.equal(sample(body, 'mcp_sidecar_circuit_state'), 1);
    assert.equal(sample(body, 'mcp_sidecar_circuit_transitions_total', { to: 'open' }), 1);

    clock.advance(500);
    body = (await metrics.render()).body;
    assert.equal(sample(body, 'mcp_sidecar_circuit_state'), 2, 'past the cool-down, read at the scrape');
    assert.equal(breaker.admit().admitted, true);
    breaker.recordSuccess();
    body = (await metrics.render()).body;
    assert.equal(sample(body, 'mcp_sidecar_circuit_state'), 0);
    assert.deepEqual(['open', 'half-open', 'closed'].map((to) => sample(body, 'mcp_sidecar_circuit_transitions_total', { to })), [1, 1, 1]);
  });
});
