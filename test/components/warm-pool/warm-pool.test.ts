import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { ExecutablePin, Upstream } from '../../../components/proxy-process-governor/index.js';
import { startWarmPool, type WarmPoolOptions } from '../../../components/warm-pool/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { fakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';

// A fake server: exits on stdin EOF, or when the test says so.
type FakeServer = FakeUpstream;
const fakeServer = (pid: number): FakeServer => fakeUpstream(new Set(['eof']), pid);

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function harness(overrides: Partial<WarmPoolOptions> & { sessions?: { count: number } } = {}) {
  const clock = new FakeClock();
  const logs = captureLogs('debug');
  const spawned: FakeServer[] = [];
  const sessions = overrides.sessions ?? { count: 0 };
  const pool = startWarmPool({
    size: 1,
    spawn: () => {
      const server = fakeServer(1000 + spawned.length);
      spawned.push(server);
      return server.upstream;
    },
    sessionServers: () => sessions.count,
    maxProcesses: 4 + (overrides.size ?? 1),
    backoff: { baseMs: 1000, maxMs: 30_000, jitter: 0, maxRestarts: 3 },
    stop: { stdinCloseGraceMs: 2000, killTimeoutMs: 5000 },
    logger: logs.logger,
    clock,
    random: () => 0.5,
    ...overrides,
  });
  return { pool, clock, logs, spawned, sessions };
}

describe('warm pool', () => {
  it('should spawn its servers at start and write nothing to them', () => {
    const { pool, spawned } = harness({ size: 2 });
    assert.equal(spawned.length, 2);
    assert.equal(pool.waiting, 2);
    assert.deepEqual(pool.waitingPids, [1000, 1001]);
    // The client's initialize must be the first frame a server sees.
    for (const server of spawned) assert.deepEqual(server.written, []);
  });

  it('should hand out the oldest waiting server and start its replacement in the background', () => {
    const { pool, clock, spawned, sessions } = harness();
    const taken = pool.take();
    assert.equal(taken, spawned[0]!.upstream);
    sessions.count = 1;
    assert.equal(pool.waiting, 0);
    assert.equal(spawned.length, 1, 'the replacement is not spawned while the session is being wired');
    clock.advance(0);
    assert.equal(spawned.length, 2);
    assert.equal(pool.waiting, 1);
    assert.equal(pool.take(), spawned[1]!.upstream);
  });

  it('should hand out nothing when none waits, and fill up again', () => {
    const { pool, clock, spawned } = harness();
    pool.take();
    assert.equal(pool.take(), undefined, 'the replacement has not started yet: the caller spawns its own');
    clock.advance(0);
    assert.equal(spawned.length, 2, 'one replacement, however many were taken meanwhile');
  });

  it('should stop relaying a server\'s stderr once it is handed out', async () => {
    const { pool, logs, spawned } = harness();
    spawned[0]!.upstream.stderr.write('waiting line\n');
    await settle();
    pool.take();
    spawned[0]!.upstream.stderr.write('session line\n');
    await settle();
    const messages = logs.entries.filter((entry) => entry.source === 'server').map((entry) => entry.msg);
    assert.deepEqual(messages, ['waiting line']);
  });

  it('should replace a waiting server that dies, after the governor\'s backoff, growing with each death in a row', async () => {
    const { pool, clock, spawned, logs } = harness();
    spawned[0]!.die({ code: 1, signal: null });
    await settle();
    assert.equal(pool.waiting, 0);
    assert.deepEqual(spawned[0]!.signals, ['SIGKILL'], 'what it left in its group is killed');
    clock.advance(999);
    assert.equal(spawned.length, 1, 'not before the backoff (1000 ms for the first death)');
    clock.advance(1);
    assert.equal(spawned.length, 2);
    spawned[1]!.die({ code: 1, signal: null });
    await settle();
    clock.advance(1999);
    assert.equal(spawned.length, 2, 'the second death in a row waits 2000 ms');
    clock.advance(1);
    assert.equal(spawned.length, 3);
    assert.equal(pool.waiting, 1);
    const warnings = logs.entries.filter((entry) => entry.msg === 'a warm server exited while waiting; replacing it after a backoff');
    assert.deepEqual(warnings.map((entry) => entry.delayMs), [1000, 2000]);
  });

  it('should not let a hand-out cut a pending backoff short', async () => {
    const { pool, clock, spawned } = harness({ size: 2 });
    spawned[0]!.die({ code: 1, signal: null });
    await settle();
    pool.take(); // takes spawned[1]
    clock.advance(0);
    assert.equal(spawned.length, 2, 'the replacements wait for the backoff');
    clock.advance(1000);
    assert.equal(spawned.length, 4);
  });

  it('should start the backoff over once a waiting server was handed out', async () => {
    const { pool, clock, spawned, logs } = harness();
    spawned[0]!.die({ code: 1, signal: null });
    await settle();
    clock.advance(1000);
    pool.take();
    clock.advance(0);
    spawned[2]!.die({ code: 1, signal: null });
    await settle();
    const warnings = logs.entries.filter((entry) => entry.msg === 'a warm server exited while waiting; replacing it after a backoff');
    assert.deepEqual(warnings.map((entry) => entry.delayMs), [1000, 1000]);
  });

  it('should stop replacing servers that keep dying past the restart bound', async () => {
    const { pool, clock, spawned, logs } = harness();
    for (let death = 0; death < 4; death++) {
      spawned.at(-1)!.die({ code: 1, signal: null });
      await settle();
      clock.advance(30_000);
    }
    assert.equal(spawned.length, 4, 'three replacements (maxRestarts 3), then none');
    assert.equal(pool.waiting, 0);
    assert.ok(logs.entries.some((entry) => entry.level === 50 && String(entry.msg).startsWith('warm servers keep dying')));
    assert.equal(pool.take(), undefined);
  });

  it('should start over once a session\'s own server came up, after giving up on dying servers', async () => {
    const { pool, clock, spawned } = harness();
    for (let death = 0; death < 4; death++) {
      spawned.at(-1)!.die({ code: 1, signal: null });
      await settle();
      clock.advance(30_000);
    }
    assert.equal(spawned.length, 4, 'gave up');
    pool.resume();
    clock.advance(0);
    assert.equal(spawned.length, 5, 'a new waiting server');
    assert.equal(pool.waiting, 1);
    pool.resume();
    clock.advance(0);
    assert.equal(spawned.length, 5, 'resume does nothing to a pool that has not given up');
  });

  it('should not start over after exit 78, even when a session\'s server came up', async () => {
    const { pool, clock, spawned } = harness();
    spawned[0]!.die({ code: 78, signal: null });
    await settle();
    pool.resume();
    clock.advance(60_000);
    assert.equal(spawned.length, 1);
    assert.equal(pool.waiting, 0);
  });

  it('should not replace a waiting server that exited with 78 (EX_CONFIG): restarting would not help', async () => {
    const { pool, clock, spawned, logs } = harness();
    spawned[0]!.die({ code: 78, signal: null });
    await settle();
    clock.advance(60_000);
    assert.equal(spawned.length, 1);
    assert.equal(pool.waiting, 0);
    assert.ok(logs.entries.some((entry) => entry.level === 50 && String(entry.msg).includes('code 78')));
  });

  it('should ignore the exit of a server it handed out: its governor watches it', async () => {
    const { pool, clock, spawned } = harness();
    pool.take();
    clock.advance(0);
    spawned[0]!.die({ code: 1, signal: null });
    await settle();
    assert.equal(pool.waiting, 1);
    assert.deepEqual(spawned[0]!.signals, []);
    assert.equal(clock.pending().length, 0, 'no replacement scheduled for it');
  });

  it('should keep waiting servers and session servers within cap + n', () => {
    // cap 4, n 2: at most 6 server processes.
    const sessions = { count: 0 };
    const { pool, clock, spawned } = harness({ size: 2, maxProcesses: 6, sessions });
    for (let opened = 0; opened < 4; opened++) {
      assert.ok(pool.take());
      sessions.count++;
      clock.advance(0);
    }
    assert.equal(sessions.count + pool.waiting, 6, 'at the cap, n still wait: a new session (after an eviction) finds one');
    // Beyond the cap (e.g. stateless backends, which have their own count): the pool shrinks, it does not add.
    pool.take();
    sessions.count++;
    clock.advance(0);
    assert.equal(pool.waiting, 1);
    assert.equal(sessions.count + pool.waiting, 6);
    assert.equal(spawned.length, 6);
    // A session ends: room again.
    sessions.count--;
    pool.refill();
    clock.advance(0);
    assert.equal(pool.waiting, 2);
    assert.equal(spawned.length, 7);
  });

  it('should check the executable pin before every spawn and start nothing it refuses', () => {
    let refuse = false;
    const pin: ExecutablePin = {
      check: () => (refuse ? { reason: 'changed', message: 'the executable changed since start' } : undefined),
    } as ExecutablePin;
    const { pool, clock, spawned, logs } = harness({ pin });
    assert.equal(spawned.length, 1);
    refuse = true;
    pool.take();
    clock.advance(0);
    assert.equal(spawned.length, 1);
    assert.ok(logs.entries.some((entry) => entry.level === 50 && entry.msg === 'no warm server started: the executable changed since start'));
  });

  it('should stop every waiting server with the stop sequence and spawn nothing after', async () => {
    const { pool, clock, spawned } = harness({ size: 3 });
    pool.take();
    await pool.stop();
    for (const server of spawned.slice(1)) assert.equal(server.stdinEnded, true, 'closing stdin is the first step');
    assert.equal(spawned[0]!.stdinEnded, false, 'the handed-out one is its session\'s to stop');
    assert.equal(pool.waiting, 0);
    clock.advance(60_000);
    assert.equal(spawned.length, 3);
    pool.refill();
    clock.advance(0);
    assert.equal(pool.take(), undefined);
    assert.equal(spawned.length, 3);
  });

  it('should SIGTERM then SIGKILL a waiting server that ignores stdin EOF, on the clock', async () => {
    const { pool, clock, spawned } = harness();
    const stubborn = spawned[0]!;
    // This one only dies on SIGKILL.
    const upstream = stubborn.upstream as { stdin: Writable };
    upstream.stdin = new Writable({ write: (_c, _e, callback) => callback() });
    (stubborn.upstream as { signalGroup: Upstream['signalGroup'] }).signalGroup = (signal) => {
      stubborn.signals.push(signal);
      if (signal === 'SIGKILL') stubborn.die({ code: null, signal: 'SIGKILL' });
    };
    const stopped = pool.stop();
    await settle();
    clock.advance(2000);
    await settle();
    assert.deepEqual(stubborn.signals, ['SIGTERM']);
    clock.advance(5000);
    await stopped;
    assert.equal(stubborn.signals[1], 'SIGKILL');
  });
});
