// Retry-After for a new session refused because every slot is busy: the soonest time one of the
// busy sessions is surely idle, from its requests' deadlines (rounded up to whole seconds, at
// least 1); 1 s when nothing bounds any of them (no deadlines, or a GET stream open).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { busyRetryAfterSeconds, UNBOUNDED_RETRY_AFTER_SECONDS, type SlotHolder } from '../../../components/http-northbound/session-slots.js';
import { RequestDeadlines } from '../../../components/pump/deadlines.js';
import { PumpRequest, type RequestEnds } from '../../../components/pump/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const NO_ENDS: RequestEnds = { ended: () => {}, endedTwice: () => {} };
let nextId = 0;
const request = (): PumpRequest => new PumpRequest('client-to-server', String(++nextId), String(nextId), 'tools/call', NO_ENDS);

/** A busy session whose requests have these deadlines (ms from now); `unbounded`: one without a deadline or a stream open. */
function busySession(clock: FakeClock, timeoutsMs: readonly number[], options: { caller?: string; unbounded?: boolean } = {}): SlotHolder {
  const deadlines = new RequestDeadlines(clock, () => {});
  for (const timeoutMs of timeoutsMs) deadlines.track(request(), { timeoutMs });
  return {
    idle: false, lastActiveAt: clock.now(), caller: options.caller ?? '',
    busyUntil: () => (options.unbounded === true ? undefined : deadlines.latest()),
  };
}

describe('Retry-After at the session cap, every session busy', () => {
  it('is the soonest of the busy sessions\' latest deadlines, in seconds rounded up', () => {
    const clock = new FakeClock();
    clock.advance(10_000);
    const sessions = [busySession(clock, [30_000, 120_000]), busySession(clock, [45_500, 2_000]), busySession(clock, [90_000])];
    // Session 1 frees by +120 s, session 2 by +45.5 s, session 3 by +90 s: one slot surely frees by +45.5 s.
    assert.equal(busyRetryAfterSeconds(sessions, clock.now()), 46);
    clock.advance(45_000);
    assert.equal(busyRetryAfterSeconds(sessions, clock.now()), 1, 'half a second left: rounded up to 1');
    clock.advance(1_000);
    // Session 2's requests passed their deadlines (answered: it is no longer bounded by them); session 3 frees next, 44 s from now.
    assert.equal(busyRetryAfterSeconds(sessions, clock.now()), 44);
    const overdue: SlotHolder = { idle: false, lastActiveAt: 0, caller: '', busyUntil: () => clock.now() - 5 };
    assert.equal(busyRetryAfterSeconds([overdue], clock.now()), 1, 'never below 1, even past the bound');
  });

  it('skips sessions that nothing bounds, and is 1 s when none is bounded', () => {
    const clock = new FakeClock();
    const bounded = busySession(clock, [20_000]);
    const unbounded = busySession(clock, [1_000], { unbounded: true });
    assert.equal(busyRetryAfterSeconds([unbounded, bounded], clock.now()), 20);
    assert.equal(busyRetryAfterSeconds([unbounded], clock.now()), UNBOUNDED_RETRY_AFTER_SECONDS);
    assert.equal(UNBOUNDED_RETRY_AFTER_SECONDS, 1);
    const withoutBound: SlotHolder = { idle: false, lastActiveAt: 0, caller: '' };
    assert.equal(busyRetryAfterSeconds([withoutBound], clock.now()), 1, 'a holder that cannot tell (no busyUntil)');
  });

  it('counts only the caller\'s own sessions at its share', () => {
    const clock = new FakeClock();
    const sessions = [busySession(clock, [5_000], { caller: 'other' }), busySession(clock, [60_000], { caller: 'me' })];
    assert.equal(busyRetryAfterSeconds(sessions, clock.now(), 'me'), 60);
    assert.equal(busyRetryAfterSeconds(sessions, clock.now()), 5);
  });
});
