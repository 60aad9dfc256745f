// Every transition of the circuit breaker, on a fake clock: closed → open after n consecutive
// failures within the window, open → half-open after the cool-down, half-open → closed on the
// probe's success, half-open → open on its failure; a success resets the run; 0 turns it off.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker, type CircuitTransition } from '../../../components/circuit-breaker/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';

function setup(failures = 3, windowMs = 1000, cooldownMs = 500) {
  const clock = new FakeClock();
  const transitions: CircuitTransition[] = [];
  const breaker = new CircuitBreaker(clock, { failures, windowMs, cooldownMs }, (t) => transitions.push(t));
  const fail = (times: number, everyMs = 0): void => {
    for (let i = 0; i < times; i++) {
      if (i > 0) clock.advance(everyMs);
      breaker.recordFailure();
    }
  };
  return { clock, breaker, transitions, fail };
}

describe('circuit breaker', () => {
  it('should stay closed and pass every request below n consecutive failures', () => {
    const { breaker, fail } = setup();
    fail(2);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(breaker.admit(), { admitted: true, probe: false });
  });

  it('should open on the n-th consecutive failure within the window and fail fast with the time left', () => {
    const { breaker, clock, transitions, fail } = setup(3, 1000, 500);
    fail(3, 400);
    assert.equal(breaker.state, 'open');
    assert.deepEqual(transitions.map((t) => [t.from, t.to, t.failures, t.at]), [['closed', 'open', 3, 800]]);
    clock.advance(200);
    assert.deepEqual(breaker.admit(), { admitted: false, retryAfterMs: 300, state: 'open' });
    assert.equal(breaker.retryAfterMs, 300);
  });

  it('should not open when the n failures spread over more than the window', () => {
    const { breaker, fail } = setup(3, 1000, 500);
    fail(3, 501);
    assert.equal(breaker.state, 'closed', 'first to last took 1002 ms');
    fail(1);
    assert.equal(breaker.state, 'open', 'the last three (501 ms then 0 ms apart) fit in the window');
  });

  it('should start the run again after a success', () => {
    const { breaker, fail } = setup(3);
    fail(2);
    breaker.recordSuccess();
    fail(2);
    assert.equal(breaker.state, 'closed');
    fail(1);
    assert.equal(breaker.state, 'open');
  });

  it('should turn half-open after the cool-down and let exactly one probe pass', () => {
    const { breaker, clock, transitions, fail } = setup(2, 1000, 500);
    fail(2);
    clock.advance(499);
    assert.equal(breaker.admit().admitted, false);
    clock.advance(1);
    assert.equal(breaker.state, 'half-open');
    assert.deepEqual(breaker.admit(), { admitted: true, probe: true });
    assert.deepEqual(breaker.admit(), { admitted: false, retryAfterMs: 500, state: 'half-open' });
    assert.deepEqual(transitions.map((t) => t.to), ['open', 'half-open']);
  });

  it('should close when the probe succeeds', () => {
    const { breaker, clock, transitions, fail } = setup(2, 1000, 500);
    fail(2);
    clock.advance(500);
    assert.equal(breaker.admit().admitted, true);
    breaker.recordSuccess();
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(breaker.admit(), { admitted: true, probe: false });
    assert.deepEqual(transitions.map((t) => `${t.from}>${t.to}`), ['closed>open', 'open>half-open', 'half-open>closed']);
    assert.deepEqual(breaker.transitions, { closed: 1, open: 1, 'half-open': 1 });
  });

  it('should open again, for a whole new cool-down, when the probe fails', () => {
    const { breaker, clock, transitions, fail } = setup(2, 1000, 500);
    fail(2);
    clock.advance(600);
    assert.equal(breaker.admit().admitted, true);
    clock.advance(100);
    breaker.recordFailure();
    assert.equal(breaker.state, 'open');
    assert.deepEqual(breaker.admit(), { admitted: false, retryAfterMs: 500, state: 'open' });
    assert.deepEqual(transitions.map((t) => [t.to, t.at]), [['open', 0], ['half-open', 600], ['open', 700]]);
  });

  it('should let the next request probe when the probe ends without a verdict', () => {
    const { breaker, clock, fail } = setup(2, 1000, 500);
    fail(2);
    clock.advance(500);
    assert.equal(breaker.admit().admitted, true);
    assert.equal(breaker.admit().admitted, false);
    breaker.probeAbandoned();
    assert.deepEqual(breaker.admit(), { admitted: true, probe: true });
  });

  it('should not extend the cool-down for failures while open', () => {
    const { breaker, clock, fail } = setup(2, 1000, 500);
    fail(2);
    clock.advance(300);
    fail(3);
    clock.advance(200);
    assert.equal(breaker.state, 'half-open');
  });

  it('should never open with failures 0', () => {
    const { breaker, transitions, fail } = setup(0);
    fail(100);
    assert.equal(breaker.enabled, false);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(transitions, []);
  });
});
