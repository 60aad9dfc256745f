// The descendant watch and the sweep on a fake process table and a fake clock: which processes
// are known, which are signalled (exactly the snapshot's live ones, never a recycled pid), when.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeErrorResponse } from '../../../components/errors/index.js';
import {
  createGovernor, DescendantWatch, sweepDescendants, type ProcessEntry, type ProcessTable, type RestartPolicy,
} from '../../../components/proxy-process-governor/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { fakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { captureLogs } from '../../helpers/log-capture.js';

interface FakeProcess extends ProcessEntry {
  readonly ignoresTerm: boolean;
}

/** A process table in memory: processes are started, exit (their children go to init) and get signals. */
class FakeProcessTable implements ProcessTable {
  readonly processes = new Map<number, FakeProcess>();
  readonly signals: Array<[number, NodeJS.Signals]> = [];
  lists = 0;
  #ticks = 1000;

  start(pid: number, ppid: number, options: { ignoresTerm?: boolean } = {}): ProcessEntry {
    const entry = { pid, ppid, startTime: String(this.#ticks++), state: 'S', ignoresTerm: options.ignoresTerm === true };
    this.processes.set(pid, entry);
    return entry;
  }

  exit(pid: number): void {
    this.processes.delete(pid);
    for (const [childPid, child] of this.processes) if (child.ppid === pid) this.processes.set(childPid, { ...child, ppid: 1 });
  }

  list(): ProcessEntry[] {
    this.lists++;
    return [...this.processes.values()];
  }

  lookup(pid: number): ProcessEntry | undefined {
    return this.processes.get(pid);
  }

  signal(pid: number, signal: NodeJS.Signals): boolean {
    const entry = this.processes.get(pid);
    if (entry === undefined) return false;
    this.signals.push([pid, signal]);
    if (signal === 'SIGKILL' || (signal === 'SIGTERM' && !entry.ignoresTerm)) this.exit(pid);
    return true;
  }
}

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
