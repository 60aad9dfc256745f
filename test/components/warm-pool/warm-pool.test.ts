import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { takeDescendantWatch, type ExecutablePin, type Upstream } from '../../../components/proxy-process-governor/index.js';
import { startWarmPool, type WarmPoolOptions } from '../../../components/warm-pool/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { fakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { FakeProcessTable } from '../proxy-process-governor/fake-process-table.js';

// A fake server: exits on stdin EOF, or when the test says so.
type FakeServer = FakeUpstream;
const fakeServer = (pid: number): FakeServer => fakeUpstream(new Set(['eof']), pid);

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The pool's ping as the server read it: its id (the pool's own), or undefined when none was written. */
function pingId(server: FakeServer): string | undefined {
  const lines = Buffer.concat(server.written).toString('utf8').split('\n').filter((line) => line !== '');
  const frame = lines.map((line) => JSON.parse(line) as { id?: unknown; method?: unknown }).find((f) => f.method === 'ping');
  return typeof frame?.id === 'string' ? frame.id : undefined;
}

/** How a fake server answers the pool's ping: at once with a result or an error, or not by itself. */
type PingAnswer = 'result' | 'error' | 'silent';

function answerPing(server: FakeServer, how: 'result' | 'error'): void {
  const id = pingId(server);
  assert.ok(id !== undefined, 'the pool pinged the server');
  const body = how === 'result' ? '"result":{}' : '"error":{"code":-32002,"message":"Server not initialized"}';
  server.upstream.stdout.write(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},${body}}\n`);
}

function harness(overrides: Partial<WarmPoolOptions> & { sessions?: { count: number }; answer?: PingAnswer } = {}) {
  const clock = new FakeClock();
  const logs = captureLogs('debug');
  const spawned: FakeServer[] = [];
  const sessions = overrides.sessions ?? { count: 0 };
  const answer = overrides.answer ?? 'result';
  // The servers' pids are made up: their descendants are looked for here, never in the real /proc.
  const table = new FakeProcessTable({ childrenFiles: true });
  table.start(1, 0);
  const pool = startWarmPool({
    size: 1,
    spawn: () => {
      const server = fakeServer(1000 + spawned.length);
      table.start(1000 + spawned.length, 1);
      void server.upstream.exited.then(() => table.exit(server.upstream.pid!));
      spawned.push(server);
      // The pool writes its ping as it spawns; the server answers once it runs (a microtask later).
      if (answer !== 'silent') queueMicrotask(() => answerPing(server, answer));
      return server.upstream;
    },
    sessionServers: () => sessions.count,
    maxProcesses: 4 + (overrides.size ?? 1),
    backoff: { baseMs: 1000, maxMs: 30_000, jitter: 0, maxRestarts: 3 },
    stop: { stdinCloseGraceMs: 2000, killTimeoutMs: 5000 },
    logger: logs.logger,
    clock,
    random: () => 0.5,
    processTable: table,
    descendantScanIntervalMs: 1000,
    ...overrides,
  });
  return { pool, clock, logs, spawned, sessions, table };
}

describe('warm pool', () => {
  it('should spawn its servers at start and write nothing to them but one ping under an id of its own', () => {
    const { pool, spawned } = harness({ size: 2 });
    assert.equal(spawned.length, 2);
    assert.equal(pool.waiting, 2);
    assert.deepEqual(pool.waitingPids, [1000, 1001]);
    // No initialize: the client's is the first a server sees, with the version the client chose.
    const pings = spawned.map((server) => Buffer.concat(server.written).toString('utf8'));
    assert.deepEqual(pings, [
      '{"jsonrpc":"2.0","id":"mcp-sidecar-warm-1","method":"ping"}\n',
      '{"jsonrpc":"2.0","id":"mcp-sidecar-warm-2","method":"ping"}\n',
    ]);
  });

  it('should hand out the oldest waiting server and start its replacement in the background', async () => {
    const { pool, clock, spawned, sessions } = harness();
    await settle();
    const taken = pool.take();
    assert.equal(taken, spawned[0]!.upstream);
    sessions.count = 1;
    assert.equal(pool.waiting, 0);
    assert.equal(spawned.length, 1, 'the replacement is not spawned while the session is being wired');
    clock.advance(0);
    assert.equal(spawned.length, 2);
    assert.equal(pool.waiting, 1);
    await settle();
    assert.equal(pool.take(), spawned[1]!.upstream);
  });

  it('should hand out nothing when none waits, and fill up again', async () => {
    const { pool, clock, spawned } = harness();
    await settle();
    assert.ok(pool.take());
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
    await settle();
    assert.equal(pool.take(), spawned[1]!.upstream);
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
    // No periodic scans here: every timer left would be a replacement's.
    const { pool, clock, spawned } = harness({ descendantScanIntervalMs: 0 });
    await settle();
    assert.ok(pool.take());
    clock.advance(0);
    spawned[0]!.die({ code: 1, signal: null });
    await settle();
    assert.equal(pool.waiting, 1);
    assert.deepEqual(spawned[0]!.signals, []);
    assert.equal(clock.pending().length, 0, 'no replacement scheduled for it');
  });

  it('should keep waiting servers and session servers within cap + n', async () => {
    // cap 4, n 2: at most 6 server processes.
    const sessions = { count: 0 };
    const { pool, clock, spawned } = harness({ size: 2, maxProcesses: 6, sessions });
    for (let opened = 0; opened < 4; opened++) {
      await settle();
      assert.ok(pool.take());
      sessions.count++;
      clock.advance(0);
    }
    assert.equal(sessions.count + pool.waiting, 6, 'at the cap, n still wait: a new session (after an eviction) finds one');
    // Beyond the cap (e.g. stateless backends, which have their own count): the pool shrinks, it does not add.
    await settle();
    assert.ok(pool.take());
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

  it('should check the executable pin before every spawn and start nothing it refuses', async () => {
    let refuse = false;
    const pin: ExecutablePin = {
      check: () => (refuse ? { reason: 'changed', message: 'the executable changed since start' } : undefined),
    } as ExecutablePin;
    const { pool, clock, spawned, logs } = harness({ pin });
    assert.equal(spawned.length, 1);
    refuse = true;
    await settle();
    assert.equal(pool.take(), spawned[0]!.upstream);
    clock.advance(0);
    assert.equal(spawned.length, 1);
    assert.ok(logs.entries.some((entry) => entry.level === 50 && entry.msg === 'no warm server started: the executable changed since start'));
  });

  it('should stop every waiting server with the stop sequence and spawn nothing after', async () => {
    const { pool, clock, spawned } = harness({ size: 3 });
    await settle();
    assert.equal(pool.take(), spawned[0]!.upstream);
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

describe('warm pool: a server is ready once it answered the pool\'s ping', () => {
  const INITIALIZE = '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}\n';
  const INITIALIZE_ANSWER = '{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}\n';
  const pingAnswer = (server: FakeServer): string => `{"jsonrpc":"2.0","id":${JSON.stringify(pingId(server))},"result":{}}\n`;

  /** What a session reads from the server's stdout, the way the governor's channel reads it. */
  function readAsSession(server: FakeServer): { readonly text: () => string } {
    const chunks: Buffer[] = [];
    server.upstream.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    return { text: () => Buffer.concat(chunks).toString('utf8') };
  }

  it('should hand a server out only after its ping answer', async () => {
    const { pool, spawned } = harness({ answer: 'silent' });
    await settle();
    assert.equal(pool.take(), undefined, 'started, not ready: the session spawns its own');
    assert.equal(pool.waiting, 1);
    assert.equal(pool.ready, 0);
    spawned[0]!.upstream.stdout.write(pingAnswer(spawned[0]!));
    await settle();
    assert.equal(pool.ready, 1);
    assert.equal(pool.take(), spawned[0]!.upstream);
  });

  it('should consume the ping answer, even in pieces: the session\'s first frame from the server answers its initialize', async () => {
    const { pool, spawned } = harness({ answer: 'silent' });
    const server = spawned[0]!;
    const answer = pingAnswer(server);
    server.upstream.stdout.write(answer.slice(0, 20));
    await settle();
    assert.equal(pool.ready, 0, 'half an answer is no answer');
    server.upstream.stdout.write(answer.slice(20));
    await settle();
    assert.equal(pool.take(), server.upstream);
    const session = readAsSession(server);
    server.upstream.stdin.write(INITIALIZE);
    server.upstream.stdout.write(INITIALIZE_ANSWER);
    await settle();
    assert.equal(session.text(), INITIALIZE_ANSWER);
    assert.equal(Buffer.concat(server.written).toString('utf8'), `{"jsonrpc":"2.0","id":${JSON.stringify(pingId(server))},"method":"ping"}\n${INITIALIZE}`);
  });

  it('should keep for the session what the server wrote after the answer, in the same chunk', async () => {
    const { pool, spawned } = harness({ answer: 'silent' });
    const server = spawned[0]!;
    const notification = '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"up"}}\n';
    server.upstream.stdout.write(pingAnswer(server) + notification + '{"jsonrpc":"2.0",');
    await settle();
    assert.equal(pool.take(), server.upstream);
    const session = readAsSession(server);
    server.upstream.stdout.write('"id":0,"result":{}}\n');
    await settle();
    assert.equal(session.text(), `${notification}{"jsonrpc":"2.0","id":0,"result":{}}\n`);
  });

  it('should drop and log a line written on stdout before the answer, and still count the server ready', async () => {
    const { pool, spawned, logs } = harness({ answer: 'silent' });
    const server = spawned[0]!;
    server.upstream.stdout.write('Starting everything server on stdio...\n');
    await settle();
    // Longer than any answer, in pieces: dropped as it streams past, not kept whole.
    server.upstream.stdout.write('x'.repeat(100_000));
    await settle();
    server.upstream.stdout.write(`${'x'.repeat(10)}\n\n`);
    server.upstream.stdout.write('{"jsonrpc":"2.0","id":"someone-else","result":{}}\n');
    server.upstream.stdout.write(pingAnswer(server));
    await settle();
    assert.equal(pool.take(), server.upstream);
    const session = readAsSession(server);
    server.upstream.stdout.write(INITIALIZE_ANSWER);
    await settle();
    assert.equal(session.text(), INITIALIZE_ANSWER);
    const dropped = logs.entries.filter((entry) => entry.msg === 'a warm server wrote a line on stdout before answering its ping; dropped');
    assert.deepEqual(dropped.map((entry) => [entry.level, entry.reason]), [
      [40, 'not JSON'], [40, 'not the answer to the ping'], [40, 'not the answer to the ping'],
    ]);
  });

  it('should count a server that answers the ping with an error as ready: it is alive and reading', async () => {
    const { pool, spawned } = harness({ answer: 'error' });
    await settle();
    assert.equal(pool.ready, 1);
    assert.equal(pool.take(), spawned[0]!.upstream);
  });

  it('should stop a server that never answers after the bound, and replace it after the backoff', async () => {
    const { pool, clock, spawned, logs } = harness({ answer: 'silent' });
    const silent = spawned[0]!;
    clock.advance(9_999);
    await settle();
    assert.equal(silent.stdinEnded, false, 'not before the bound');
    assert.equal(pool.take(), undefined);
    clock.advance(1);
    await settle();
    assert.equal(silent.stdinEnded, true, 'the stop sequence runs: stdin closed first');
    assert.equal(pool.waiting, 0, 'it exited (on EOF) and left the pool');
    assert.ok(logs.entries.some((entry) => entry.level === 40 && entry.msg === 'a warm server did not answer its ping within 10000 ms; stopping it'));
    const replacing = logs.entries.filter((entry) => entry.msg === 'a warm server that did not answer its ping was stopped; replacing it after a backoff');
    assert.deepEqual(replacing.map((entry) => entry.delayMs), [1000]);
    clock.advance(999);
    assert.equal(spawned.length, 1, 'not before the backoff');
    clock.advance(1);
    assert.equal(spawned.length, 2);
    assert.ok(pingId(spawned[1]!) !== pingId(silent), 'each server its own ping id');
  });

  it('should replace a server that exits before answering, after the backoff, and never hand it out', async () => {
    const { pool, clock, spawned, logs } = harness({ answer: 'silent' });
    spawned[0]!.die({ code: 1, signal: null });
    await settle();
    assert.equal(pool.take(), undefined);
    assert.equal(pool.waiting, 0);
    assert.ok(!clock.pending().some((timer) => timer.ms === 10_000), 'its ready bound is cleared with it');
    clock.advance(999);
    assert.equal(spawned.length, 1);
    clock.advance(1);
    assert.equal(spawned.length, 2);
    const warnings = logs.entries.filter((entry) => entry.msg === 'a warm server exited while waiting; replacing it after a backoff');
    assert.deepEqual(warnings.map((entry) => entry.delayMs), [1000]);
  });

  it('should let the stop sequence already under way end a server stopped for not answering', async () => {
    const { pool, clock, spawned } = harness({ answer: 'silent' });
    // This one ignores stdin EOF: the bound's stop sequence goes on to SIGTERM.
    const stubborn = spawned[0]!;
    (stubborn.upstream as { stdin: Writable }).stdin = new Writable({ write: (_c, _e, callback) => callback() });
    (stubborn.upstream as { signalGroup: Upstream['signalGroup'] }).signalGroup = (signal) => {
      stubborn.signals.push(signal);
      if (signal === 'SIGTERM') stubborn.die({ code: null, signal });
    };
    clock.advance(10_000);
    await settle();
    const stopped = pool.stop();
    clock.advance(2000);
    await stopped;
    // One sequence: SIGTERM, then its group's leftovers SIGKILLed. A second would SIGTERM it again.
    assert.deepEqual(stubborn.signals, ['SIGTERM', 'SIGKILL'], 'one stop sequence, not two');
  });

  it('should sweep what a waiting server left in a session of its own when it dies, and nothing else', async () => {
    const { pool, clock, spawned, logs, table } = harness();
    table.start(50, 1); // a stranger
    table.start(5000, 1000, { ignoresTerm: true }); // the waiting server's helper, setsid: out of its group
    clock.advance(1000); // a periodic scan sees it
    table.exit(1000); // the kernel re-parents 5000 to init before the pool hears of the exit
    spawned[0]!.die({ code: 1, signal: null });
    await settle();
    assert.equal(pool.waiting, 0);
    assert.deepEqual(table.signals, [[5000, 'SIGTERM']], 'swept at the exit notice, nothing else signalled');
    const stopping = pool.stop();
    for (let waited = 0; waited < 5000; waited += 25) {
      clock.advance(25);
      await settle();
    }
    await stopping;
    assert.deepEqual(table.signals, [[5000, 'SIGTERM'], [5000, 'SIGKILL']], 'SIGKILL after --kill-timeout-ms; the pool\'s stop waited for it');
    assert.deepEqual([...table.processes.keys()].sort((a, b) => a - b), [1, 50]);
    const swept = logs.entries.filter((entry) => entry.msg === 'ended the processes a warm server left behind when it exited');
    assert.deepEqual(swept.map((entry) => [entry.pid, entry.descendantsSignalled]), [[1000, 1]]);
    assert.equal(clock.pending().length, 0, 'no scan left scheduled');
  });

  it('should scan its waiting servers in one pass on one timer, and leave none once stopped', async () => {
    const { pool, clock, table } = harness({ size: 3 });
    await settle();
    assert.equal(pool.ready, 3);
    assert.equal(clock.pending().filter((timer) => timer.ms === 1000).length, 1, 'one scan timer for three waiting servers');
    const reads = table.childrenReads;
    clock.advance(1000);
    assert.equal(table.childrenReads - reads, 3, 'one pass: each server\'s children read once');
    const stopping = pool.stop();
    clock.advance(2000);
    await stopping;
    assert.equal(clock.pending().length, 0);
  });

  it('should hand a server\'s watch, with what it knows, to whoever takes the server', async () => {
    const { pool, clock, spawned, table } = harness();
    table.start(5000, 1000);
    table.start(5001, 5000);
    clock.advance(1000);
    table.exit(5000); // its child, 5001, is an orphan now: no walk from the server finds it
    await settle();
    const taken = pool.take();
    assert.equal(taken, spawned[0]!.upstream);
    const watch = takeDescendantWatch(taken!);
    assert.ok(watch, 'handed over with the server');
    assert.deepEqual(watch.known.map((entry) => entry.pid), [5001]);
    assert.equal(takeDescendantWatch(taken!), undefined, 'taken once');
    clock.advance(0); // the replacement
    await pool.stop();
  });
});
