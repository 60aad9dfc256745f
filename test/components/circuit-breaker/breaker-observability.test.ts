// What operators see of the breakers: /readyz's answer for a session's breaker (not ready while
// open, ready again when half-open) and the metrics (mcp_sidecar_circuit_breakers by state,
// mcp_sidecar_circuit_transitions_total), read from breakers driven on a fake clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { circuitReadiness, combineReadiness, upstreamReadiness } from '../../../components/admin-endpoint/index.js';
import { CircuitBreaker, createUpstreamBreakers } from '../../../components/circuit-breaker/index.js';
import { createMetrics } from '../../../components/metrics/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { sample, types } from '../metrics/exposition.js';

const STATES = ['closed', 'open', 'half-open'] as const;

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

  it('should count live sessions\' breakers by state and every transition, by the state entered', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const before = (await metrics.render()).body;
    assert.equal(types(before).get('mcp_sidecar_circuit_breakers'), 'gauge');
    assert.equal(types(before).get('mcp_sidecar_circuit_transitions_total'), 'counter');
    assert.equal(types(before).get('mcp_sidecar_circuit_state'), undefined, 'one state for the pod means nothing with a breaker per session');
    assert.deepEqual(STATES.map((state) => sample(before, 'mcp_sidecar_circuit_breakers', { state })), [0, 0, 0], 'no breakers: every state present, 0');

    const clock = new FakeClock();
    const breakers = createUpstreamBreakers({ failures: 2, windowMs: 1000, cooldownMs: 500 }, clock)!;
    metrics.watchCircuitBreakers(() => breakers);
    const failing = breakers.forSession(captureLogs('info').logger);
    const healthy = breakers.forSession(captureLogs('info').logger);
    failing.recordFailure();
    failing.recordFailure();
    let body = (await metrics.render()).body;
    assert.deepEqual(STATES.map((state) => sample(body, 'mcp_sidecar_circuit_breakers', { state })), [1, 1, 0]);
    assert.equal(sample(body, 'mcp_sidecar_circuit_transitions_total', { to: 'open' }), 1);

    clock.advance(500);
    body = (await metrics.render()).body;
    assert.deepEqual(STATES.map((state) => sample(body, 'mcp_sidecar_circuit_breakers', { state })), [1, 0, 1], 'past the cool-down, read at the scrape');
    assert.equal(failing.admit().admitted, true);
    failing.recordSuccess();
    body = (await metrics.render()).body;
    assert.deepEqual(STATES.map((state) => sample(body, 'mcp_sidecar_circuit_breakers', { state })), [2, 0, 0]);
    assert.deepEqual(['open', 'half-open', 'closed'].map((to) => sample(body, 'mcp_sidecar_circuit_transitions_total', { to })), [1, 1, 1]);

    // Sessions that end leave the gauge; their transitions stay counted.
    breakers.release(failing);
    breakers.release(healthy);
    body = (await metrics.render()).body;
    assert.deepEqual(STATES.map((state) => sample(body, 'mcp_sidecar_circuit_breakers', { state })), [0, 0, 0]);
    assert.deepEqual(['open', 'half-open', 'closed'].map((to) => sample(body, 'mcp_sidecar_circuit_transitions_total', { to })), [1, 1, 1]);
  });
});
