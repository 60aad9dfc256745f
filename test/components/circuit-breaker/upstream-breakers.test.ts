// One circuit breaker per session (one session's failure may never reach another), on a
// fake clock: a session's failures open only its own breaker, another session's successes do
// not reset its count, transitions are logged with the session they belong to and counted over
// every session that ever lived, and a session that ends leaves nothing behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUpstreamBreakers } from '../../../components/circuit-breaker/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';

const SETTINGS = { failures: 3, windowMs: 1000, cooldownMs: 500 };

function setup() {
  const clock = new FakeClock();
  const logs = captureLogs('info');
  const breakers = createUpstreamBreakers(SETTINGS, clock)!;
  const session = (id: string) => breakers.forSession(logs.logger.child({ session: id }));
  return { clock, logs, breakers, session };
}

describe('upstream breakers: one per session', () => {
  it('should open only the failing session\'s breaker: the other session still admits', () => {
    const { breakers, session } = setup();
    const a = session('a');
    const b = session('b');
    for (let i = 0; i < SETTINGS.failures; i++) a.recordFailure();
    assert.equal(a.state, 'open');
    assert.equal(a.admit().admitted, false);
    assert.equal(b.state, 'closed');
    assert.deepEqual(b.admit(), { admitted: true, probe: false }, 'no refusal for the other session');
    assert.deepEqual(breakers.counts(), { closed: 1, open: 1, 'half-open': 0 });
  });

  it('should not let another session\'s successes reset a session\'s count', () => {
    const { session } = setup();
    const a = session('a');
    const b = session('b');
    for (let i = 0; i < SETTINGS.failures; i++) {
      a.recordFailure();
      b.recordSuccess(); // a co-tenant's server answering says nothing about this session's
    }
    assert.equal(a.state, 'open');
    assert.equal(b.state, 'closed');
  });

  it('should not let another session\'s failures count towards a session\'s breaker', () => {
    const { session } = setup();
    const a = session('a');
    const b = session('b');
    for (let i = 0; i < SETTINGS.failures - 1; i++) {
      a.recordFailure();
      b.recordFailure();
    }
    assert.deepEqual([a.state, b.state], ['closed', 'closed'], 'four failures in all, but two per session');
  });

  it('should log each transition with the session it belongs to', () => {
    const { clock, logs, session } = setup();
    const a = session('a');
    session('b');
    for (let i = 0; i < SETTINGS.failures; i++) a.recordFailure();
    clock.advance(SETTINGS.cooldownMs);
    assert.equal(a.admit().admitted, true);
    a.recordSuccess();
    const logged = logs.entries.filter((e) => String(e.msg).startsWith('the circuit breaker'));
    assert.deepEqual(logged.map((e) => [e.session, e.level, e.from]), [['a', 40, 'closed'], ['a', 30, 'open'], ['a', 30, 'half-open']]);
    assert.equal(logged[0]!.failures, SETTINGS.failures);
  });

  it('should count transitions over every session that ever lived, and never count down', () => {
    const { breakers, session } = setup();
    for (const id of ['a', 'b']) {
      const breaker = session(id);
      for (let i = 0; i < SETTINGS.failures; i++) breaker.recordFailure();
      breakers.release(breaker);
    }
    assert.deepEqual(breakers.transitions, { closed: 0, open: 2, 'half-open': 0 });
    assert.deepEqual(breakers.counts(), { closed: 0, open: 0, 'half-open': 0 });
  });

  it('should forget every session\'s breaker once its session ends: the registry is empty after many sessions', () => {
    const { breakers, session } = setup();
    const live = Array.from({ length: 1000 }, (_, i) => session(`s${i}`));
    assert.equal(breakers.size, 1000);
    live.forEach((breaker, i) => i % 7 === 0 && breaker.recordFailure());
    for (const breaker of live) breakers.release(breaker);
    assert.equal(breakers.size, 0);
    assert.deepEqual(breakers.counts(), { closed: 0, open: 0, 'half-open': 0 });
  });

  it('should be off with 0 failures: no breakers at all', () => {
    assert.equal(createUpstreamBreakers({ ...SETTINGS, failures: 0 }, new FakeClock()), undefined);
  });
});
