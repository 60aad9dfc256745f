// The descendant watch and the sweep on a fake process table and a fake clock: which processes
// are known, which are signalled (exactly the snapshot's live ones, never a recycled pid), when.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { encodeErrorResponse } from '../../../components/errors/index.js';
import {
  createGovernor, DescendantScanner, DescendantWatch, handOverDescendantWatch, sweepDescendants, systemProcessTable, type ProcessEntry, type ProcessTable, type RestartPolicy,
} from '../../../components/proxy-process-governor/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { fakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { FakeProcessTable } from './fake-process-table.js';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const pids = (entries: readonly ProcessEntry[]): number[] => entries.map((entry) => entry.pid).sort((a, b) => a - b);

// init (1), a stranger (50) and its child (51), the server (100).
function machine(): FakeProcessTable {
  const table = new FakeProcessTable();
  table.start(1, 0);
  table.start(50, 1);
  table.start(51, 50);
  table.start(100, 1);
  return table;
}

function watchOf(table: FakeProcessTable, clock: FakeClock, intervalMs = 1000): DescendantWatch {
  return new DescendantWatch(100, () => table.processes.has(100), { clock, intervalMs, table }).start();
}

describe('DescendantWatch', () => {
  it('should scan once per interval on the clock, and not at all once stopped', () => {
    const clock = new FakeClock();
    const table = machine();
    const watch = watchOf(table, clock, 1000);
    assert.deepEqual(clock.pending().map((t) => t.ms), [1000]);
    assert.equal(table.lists, 0, 'nothing read before the first interval');
    clock.advance(999);
    assert.equal(table.lists, 0);
    clock.advance(1);
    assert.equal(table.lists, 1);
    clock.advance(3000);
    assert.equal(table.lists, 4);
    watch.stop();
    assert.equal(clock.pending().length, 0);
    clock.advance(10_000);
    assert.equal(table.lists, 4);
  });

  it('should keep no timer with interval 0, scanning only when asked', () => {
    const clock = new FakeClock();
    const table = machine();
    const watch = watchOf(table, clock, 0);
    assert.equal(clock.pending().length, 0);
    table.start(101, 100);
    watch.scan();
    assert.deepEqual(pids(watch.known), [101]);
  });

  it('should keep a descendant known after the server and its parent die, and find the orphan\'s children', () => {
    const clock = new FakeClock();
    const table = machine();
    const watch = watchOf(table, clock);
    table.start(101, 100); // a child
    table.start(102, 101); // its child, in a session of its own (setsid): not in the server's group
    clock.advance(1000);
    assert.deepEqual(pids(watch.known), [101, 102]);
    table.exit(101); // 102 is re-parented to init
    table.start(103, 102);
    table.exit(100); // the server crashes
    watch.scan(); // the one at the exit notice
    assert.deepEqual(pids(watch.known), [102, 103], 'the dead are forgotten, the orphan and its child are not; the stranger is never taken');
  });

  it('should forget a descendant whose pid was recycled, and never adopt the children of a recycled server pid', () => {
    const clock = new FakeClock();
    const table = machine();
    const watch = watchOf(table, clock);
    table.start(101, 100);
    clock.advance(1000);
    table.exit(101);
    table.start(101, 1); // same pid, another process
    table.exit(100);
    table.start(100, 1); // the server's pid, another process
    table.start(104, 100);
    watch.scan();
    assert.deepEqual(watch.known, []);
  });

  it('should miss a descendant born and orphaned between two scans (the stated window)', () => {
    const clock = new FakeClock();
    const table = machine();
    const watch = watchOf(table, clock);
    clock.advance(1000);
    table.start(101, 100);
    table.start(102, 101);
    table.exit(101);
    table.exit(100);
    watch.scan();
    assert.deepEqual(watch.known, []);
  });
});

/** The same processes, seen only whole: no children files. */
const wholeTableOnly = (table: ProcessTable): ProcessTable => ({ list: () => table.list(), lookup: (pid) => table.lookup(pid), signal: (pid, signal) => table.signal(pid, signal) });
const keys = (entries: readonly ProcessEntry[]): string[] => entries.map((entry) => `${entry.pid}:${entry.startTime}`).sort();

describe('the children walk', () => {
  it('should know what the whole-table scan knows, on generated trees with exits, zombies and recycled pids', (t) => {
    const firstSeed = Number(process.env.DESCENDANTS_SEED ?? 20261207);
    const runs = process.env.DESCENDANTS_SEED === undefined ? 200 : 1;
    t.diagnostic(`seeds ${firstSeed}..${firstSeed + runs - 1} (DESCENDANTS_SEED=<n> replays one)`);
    let compared = 0;
    let nonEmpty = 0;
    for (let seed = firstSeed; seed < firstSeed + runs; seed++) {
      const random = seededRandom(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const clock = new FakeClock();
      const table = new FakeProcessTable({ childrenFiles: true });
      table.start(1, 0);
      table.start(100, 1); // the server
      let serverRunning = true;
      const walked = new DescendantWatch(100, () => serverRunning, { clock, intervalMs: 0, table });
      const scanned = new DescendantWatch(100, () => serverRunning, { clock, intervalMs: 0, table: wholeTableOnly(table) });
      // Pids from a small range, so that they are recycled.
      const freePid = (): number | undefined => {
        for (let tries = 0; tries < 20; tries++) {
          const pid = 2 + Math.floor(random() * 60);
          if (pid !== 100 && !table.processes.has(pid)) return pid;
        }
        return undefined;
      };
      for (let step = 0; step < 40; step++) {
        const live = [...table.processes.values()].filter((entry) => entry.state !== 'Z');
        const roll = random();
        if (roll < 0.55) {
          const pid = freePid();
          if (pid !== undefined) table.start(pid, pick(live).pid);
        } else if (roll < 0.85) {
          const victim = pick(live.filter((entry) => entry.pid !== 1));
          if (victim !== undefined) {
            if (victim.pid === 100) serverRunning = false;
            table.exit(victim.pid, { zombie: random() < 0.3 });
          }
        } else {
          const zombie = [...table.processes.values()].find((entry) => entry.state === 'Z');
          if (zombie !== undefined) table.reap(zombie.pid);
        }
        if (random() < 0.5) {
          assert.equal(walked.scan(), true);
          assert.equal(scanned.scan(), true);
          assert.deepEqual(keys(walked.known), keys(scanned.known), `seed ${seed}, step ${step}`);
          compared++;
          if (walked.known.length > 0) nonEmpty++;
        }
      }
    }
    assert.ok(nonEmpty > compared / 4, `the generated trees are not mostly empty (${nonEmpty} of ${compared})`);
  });

  it('should read only the children files where there are some, and the whole table where there are none', () => {
    const clock = new FakeClock();
    const withFiles = new FakeProcessTable({ childrenFiles: true });
    const without = new FakeProcessTable();
    for (const table of [withFiles, without]) {
      table.start(1, 0);
      for (let stranger = 2; stranger < 50; stranger++) table.start(stranger, 1);
      table.start(100, 1);
      table.start(101, 100);
      table.start(102, 101);
    }
    const walked = new DescendantWatch(100, () => true, { clock, intervalMs: 0, table: withFiles });
    const scanned = new DescendantWatch(100, () => true, { clock, intervalMs: 0, table: without });
    walked.scan();
    scanned.scan();
    assert.deepEqual(pids(walked.known), [101, 102]);
    assert.deepEqual(pids(scanned.known), [101, 102]);
    assert.deepEqual([withFiles.lists, withFiles.childrenReads], [0, 3], 'the server and its two descendants, not the 48 strangers');
    assert.deepEqual([without.lists, without.childrenReads], [1, 0]);
  });

  it('should find a real child of this process, by its children files where the kernel has them and by the whole table', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
    assert.equal(systemProcessTable.children !== undefined, existsSync(`/proc/${process.pid}/task/${process.pid}/children`), 'detected from the files themselves');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      const clock = new FakeClock();
      for (const table of [systemProcessTable, wholeTableOnly(systemProcessTable)]) {
        const watch = new DescendantWatch(process.pid, () => true, { clock, intervalMs: 0, table });
        assert.equal(watch.scan(), true);
        assert.ok(watch.known.some((entry) => entry.pid === child.pid && entry.ppid === process.pid), `child ${child.pid} found (${table === systemProcessTable ? 'system table' : 'whole table'})`);
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('DescendantScanner: one pass for every watch', () => {
  it('should keep one timer for several watches and read the whole table once per interval for all of them', () => {
    const clock = new FakeClock();
    const table = machine();
    table.start(200, 1);
    table.start(300, 1);
    table.start(101, 100);
    table.start(201, 200);
    table.start(301, 300);
    const watches = [100, 200, 300].map((root) => new DescendantWatch(root, () => table.processes.has(root), { clock, intervalMs: 1000, table }).start());
    assert.equal(clock.pending().length, 1, 'one timer for three watches');
    clock.advance(1000);
    assert.equal(table.lists, 1, 'one read of the table served all three');
    assert.deepEqual(watches.map((watch) => pids(watch.known)), [[101], [201], [301]]);
    clock.advance(2000);
    assert.equal(table.lists, 3);
    assert.equal(clock.pending().length, 1);
  });

  it('should stop its timer when the last watch leaves, and start it again for the next', () => {
    const clock = new FakeClock();
    const table = machine();
    const scanner = new DescendantScanner(clock, 1000, table);
    const first = new DescendantWatch(100, () => true, { clock, intervalMs: 1000, scanner }).start();
    const second = new DescendantWatch(100, () => true, { clock, intervalMs: 1000, scanner }).start();
    assert.equal(scanner.watching, 2);
    first.stop();
    assert.equal(clock.pending().length, 1, 'still one watch');
    second.stop();
    second.stop(); // twice: harmless
    assert.equal(scanner.watching, 0);
    assert.equal(clock.pending().length, 0, 'no timer while nothing is watched');
    clock.advance(5000);
    assert.equal(table.lists, 0, 'nothing read');
    first.start();
    assert.deepEqual(clock.pending().map((timer) => timer.ms), [1000]);
    clock.advance(1000);
    assert.equal(table.lists, 1);
  });

  it('should be shared by every governor on one clock and table: N sessions, one timer', async () => {
    const clock = new FakeClock();
    const table = machine();
    const governors = [];
    let nextPid = 100;
    for (let session = 0; session < 4; session++) {
      const logs = captureLogs('info');
      const governor = createGovernor({
        executable: process.execPath, argv: ['node', 'x'], env: {}, maxFrameBytes: 1 << 20,
        restart: { maxRestarts: 0, backoffBaseMs: 100, backoffMaxMs: 1000, backoffJitter: 0, stableAfterMs: 60_000, queueLimit: 4, queueTimeoutMs: 5000 },
        stop: { stdinCloseGraceMs: 2000, killTimeoutMs: 5000 }, logger: logs.logger, onFatal: () => {}, clock, random: () => 0.5,
        processTable: table, descendantScanIntervalMs: 1000,
        spawn: () => {
          const pid = (nextPid += 1000);
          table.start(pid, 1);
          table.start(pid + 1, pid);
          const server = fakeUpstream(new Set(['eof']), pid);
          void server.upstream.exited.then(() => table.exit(pid));
          return server.upstream;
        },
      });
      governor.channel.start({
        onFrame: () => {}, onOversized: () => {}, onEnd: () => {}, onWriteError: () => {}, onCongested: () => {}, onDrained: () => {},
        onLocalReply: (request, code, detail) => void encodeErrorResponse(request.id, code, detail),
      });
      governors.push(governor);
    }
    assert.equal(clock.pending().length, 1, 'one scan timer for four governors');
    clock.advance(1000);
    assert.equal(table.lists, 1);
    for (const governor of governors) {
      let stopped = false;
      const stopping = governor.stop().finally(() => (stopped = true));
      for (let waited = 0; !stopped && waited <= 10_000; waited += 25) {
        await settle();
        clock.advance(25);
      }
      assert.equal((await stopping).descendantsSignalled, 1);
    }
    assert.equal(clock.pending().length, 0, 'the last governor stopped: no timer');
  });
});

describe('sweepDescendants', () => {
  it('should SIGTERM exactly the snapshot\'s live processes, sparing a recycled pid and every stranger', async () => {
    const clock = new FakeClock();
    const table = machine();
    const watch = watchOf(table, clock);
    table.start(101, 100);
    table.start(102, 100);
    table.start(103, 102);
    clock.advance(1000);
    table.exit(100);
    table.exit(102); // gone on its own: not signalled
    table.exit(103);
    table.start(103, 1); // recycled: not ours
    const outcome = await sweepDescendants(watch.known, { clock, gentle: true, graceMs: 5000, table });
    assert.deepEqual(outcome, { signalled: 1, survivors: 0 });
    assert.deepEqual(table.signals, [[101, 'SIGTERM']]);
    assert.ok(table.processes.has(103) && table.processes.has(50) && table.processes.has(51));
  });

  it('should SIGKILL what ignores SIGTERM only when the grace is over, on the clock', async () => {
    const clock = new FakeClock();
    const table = machine();
    const watch = watchOf(table, clock);
    table.start(101, 100, { ignoresTerm: true });
    clock.advance(1000);
    watch.stop();
    table.exit(100);
    const groupSignals: string[] = [];
    const sweeping = sweepDescendants(watch.known, { clock, gentle: true, graceMs: 5000, table, signalGroup: (signal) => groupSignals.push(signal) });
    await settle();
    assert.deepEqual(table.signals, [[101, 'SIGTERM']]);
    for (let waited = 0; waited < 4975; waited += 25) {
      clock.advance(25);
      await settle();
    }
    assert.deepEqual(table.signals, [[101, 'SIGTERM']], 'no SIGKILL before the grace is over');
    clock.advance(25);
    await settle();
    assert.deepEqual(await sweeping, { signalled: 1, survivors: 0 });
    assert.deepEqual(table.signals, [[101, 'SIGTERM'], [101, 'SIGKILL']]);
    assert.deepEqual(groupSignals, ['SIGTERM', 'SIGKILL']);
    assert.equal(clock.pending().length, 0);
  });

  it('should set no timer and signal nothing when nothing is left', async () => {
    const clock = new FakeClock();
    const table = machine();
    assert.deepEqual(await sweepDescendants([], { clock, gentle: true, graceMs: 5000, table }), { signalled: 0, survivors: 0 });
    assert.deepEqual(table.signals, []);
    assert.equal(clock.pending().length, 0);
  });
});

describe('the governor sweeps after every exit', () => {
  const RESTART: RestartPolicy = { maxRestarts: 3, backoffBaseMs: 100, backoffMaxMs: 1000, backoffJitter: 0, stableAfterMs: 60_000, queueLimit: 4, queueTimeoutMs: 5000 };

  function governed(table: FakeProcessTable, clock: FakeClock) {
    const spawned: FakeUpstream[] = [];
    let nextPid = 100;
    const logs = captureLogs('info');
    const governor = createGovernor({
      executable: process.execPath, argv: ['node', 'x'], env: {}, maxFrameBytes: 1 << 20, restart: RESTART,
      stop: { stdinCloseGraceMs: 2000, killTimeoutMs: 5000 }, logger: logs.logger, onFatal: () => {}, clock, random: () => 0.5,
      processTable: table, descendantScanIntervalMs: 1000,
      spawn: () => {
        const pid = nextPid;
        nextPid += 100;
        table.start(pid, 1);
        const server = fakeUpstream(new Set(['eof']), pid);
        void server.upstream.exited.then(() => table.exit(pid));
        spawned.push(server);
        return server.upstream;
      },
    });
    governor.channel.start({
      onFrame: () => {}, onOversized: () => {}, onEnd: () => {}, onWriteError: () => {}, onCongested: () => {}, onDrained: () => {},
      onLocalReply: (request, code, detail) => void encodeErrorResponse(request.id, code, detail),
    });
    return { governor, spawned, logs };
  }

  it('should continue the watch a warm server was handed over with: an orphan it saw while waiting is swept at the crash', async () => {
    const clock = new FakeClock();
    const table = machine();
    const logs = captureLogs('info');
    const warm = fakeUpstream(new Set(['eof']), 100);
    void warm.upstream.exited.then(() => table.exit(100));
    const watch = new DescendantWatch(100, () => !warm.upstream.hasExited, { clock, intervalMs: 1000, table }).start();
    table.start(101, 100);
    table.start(102, 101); // setsid
    clock.advance(1000);
    table.exit(101); // 102 is init's now: no walk from the server finds it
    handOverDescendantWatch(warm.upstream, watch);
    const governor = createGovernor({
      executable: process.execPath, argv: ['node', 'x'], env: {}, maxFrameBytes: 1 << 20, restart: { ...RESTART, maxRestarts: 0 },
      stop: { stdinCloseGraceMs: 2000, killTimeoutMs: 5000 }, logger: logs.logger, onFatal: () => {}, clock, random: () => 0.5,
      processTable: table, descendantScanIntervalMs: 1000, spawn: () => warm.upstream,
    });
    governor.channel.start({
      onFrame: () => {}, onOversized: () => {}, onEnd: () => {}, onWriteError: () => {}, onCongested: () => {}, onDrained: () => {},
      onLocalReply: (request, code, detail) => void encodeErrorResponse(request.id, code, detail),
    });
    assert.equal(clock.pending().length, 1, 'the governor continues the pool\'s watch on the one timer');
    warm.die({ code: 1, signal: null });
    await settle();
    assert.deepEqual(table.signals, [[102, 'SIGTERM']]);
    assert.equal(table.processes.has(102), false);
  });

  it('should end what a crashed server left in sessions of its own, before and after the restart, and at the final stop', async () => {
    const clock = new FakeClock();
    const table = machine();
    const { governor, spawned, logs } = governed(table, clock);
    table.start(101, 100); // setsid grandchild of the first server
    clock.advance(1000); // a periodic scan sees it
    table.exit(100); // the kernel re-parents 101 to init before the proxy hears of the exit
    spawned[0]!.die({ code: 1, signal: null });
    await settle();
    assert.deepEqual(table.signals, [[101, 'SIGTERM']], 'swept at the exit notice, nothing else signalled');
    assert.equal(table.processes.has(101), false);
    await settle();
    assert.match(logs.text(), /ended the processes the MCP server left behind/);

    clock.advance(500); // the wait for its stdout to end (a fake's never does)
    await settle();
    clock.advance(100); // the backoff: the second server
    assert.equal(spawned.length, 2);
    table.start(201, 200, { ignoresTerm: true });
    clock.advance(1000);
    let stopped = false;
    const stopping = governor.stop().finally(() => (stopped = true)); // the server leaves on stdin EOF; its orphan ignores SIGTERM
    for (let waited = 0; !stopped && waited <= 10_000; waited += 25) {
      await settle();
      clock.advance(25);
    }
    const outcome = await stopping;
    assert.deepEqual([outcome.descendantsSignalled, outcome.survivors], [1, 0]);
    assert.deepEqual(table.signals.slice(1), [[201, 'SIGTERM'], [201, 'SIGKILL']]);
    assert.deepEqual(pids([...table.processes.values()]), [1, 50, 51], 'only the strangers remain');
    assert.equal(clock.pending().length, 0, 'no scan left scheduled');
  });
});
