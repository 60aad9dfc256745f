import type { Clock } from '../clock/index.js';
import { descendantsIn, isStillRunning, signalSnapshot, systemProcessTable, type ProcessEntry, type ProcessTable } from './process-tree.js';

/**
 * How often a running server's descendants are looked for. One scan reads every /proc/<pid>/stat
 * the proxy can see, so its cost follows the processes there, not the server's tree (measured:
 * 2.8 ms of CPU with 113 processes, 29 ms with 1,119: docs/governor.md): once a second is ~0.3% of
 * a core in a container and ~3% beside a thousand processes. A descendant born and orphaned
 * within one interval escapes.
 */
export const DESCENDANT_SCAN_INTERVAL_MS = 1000;

export interface DescendantWatchOptions {
  readonly clock: Clock;
  /** 0: no periodic scans, only those asked for (`scan()`). */
  readonly intervalMs: number;
  readonly table?: ProcessTable;
}

const key = (entry: ProcessEntry): string => `${entry.pid}:${entry.startTime}`;

/**
 * Keeps a server's descendants known while it lives, so that they can still be found once it has
 * died: the kernel then re-parents them (to init or a subreaper), and no walk down from the
 * server reaches them any more, nor one from the group for those that left it (setsid). Each scan
 * walks down from the server (while it is the same process) and from every descendant already
 * known (so the children of an orphan are found too); those gone, or whose pid now names another
 * process, are forgotten, so what is kept is bounded by what lives.
 */
export class DescendantWatch {
  readonly #rootPid: number;
  readonly #root: ProcessEntry | undefined;
  readonly #rootRunning: () => boolean;
  readonly #known = new Map<string, ProcessEntry>();
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #table: ProcessTable;
  #timer: unknown;
  #watching = false;

  /** `rootRunning`: false once the server has exited (its pid may then be anyone's). */
  constructor(rootPid: number, rootRunning: () => boolean, options: DescendantWatchOptions) {
    this.#rootPid = rootPid;
    this.#rootRunning = rootRunning;
    this.#clock = options.clock;
    this.#intervalMs = options.intervalMs;
    this.#table = options.table ?? systemProcessTable;
    this.#root = this.#table.lookup(rootPid);
  }

  /** Starts the periodic scans (none when the interval is 0). */
  start(): this {
    if (this.#intervalMs > 0 && !this.#watching) {
      this.#watching = true;
      this.#schedule();
    }
    return this;
  }

  /** Ends the periodic scans; what is known stays known. */
  stop(): void {
    this.#watching = false;
    this.#clock.clearTimeout(this.#timer);
  }

  /** One scan now; false (and nothing learnt) when the process table could not be read. */
  scan(): boolean {
    let table: ProcessEntry[];
    try {
      table = this.#table.list();
    } catch {
      return false;
    }
    const byPid = new Map<number, ProcessEntry>();
    for (const entry of table) byPid.set(entry.pid, entry);
    for (const [name, entry] of this.#known) {
      const now = byPid.get(entry.pid);
      if (now === undefined || now.startTime !== entry.startTime || now.state === 'Z') this.#known.delete(name);
    }
    const roots = [...this.#known.values()].map((entry) => entry.pid);
    if (this.#rootIsTheServer(byPid.get(this.#rootPid))) roots.push(this.#rootPid);
    for (const entry of descendantsIn(table, roots)) this.#known.set(key(entry), entry);
    return true;
  }

  /** What the scans read and the sweep signals. */
  get table(): ProcessTable {
    return this.#table;
  }

  /** The descendants seen and not since gone, as of the last scan. */
  get known(): ProcessEntry[] {
    return [...this.#known.values()];
  }

  #rootIsTheServer(now: ProcessEntry | undefined): boolean {
    if (!this.#rootRunning() || now === undefined) return false;
    return this.#root === undefined || now.startTime === this.#root.startTime;
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => {
      if (!this.#watching) return;
      this.scan();
      this.#schedule();
    }, this.#intervalMs);
  }
}

export interface SweepOptions {
  readonly clock: Clock;
  /** SIGTERM first and SIGKILL after `graceMs` (true), or SIGKILL at once. */
  readonly gentle: boolean;
  readonly graceMs: number;
  /** Signals the server's process group (which holds those it started that no scan saw). */
  readonly signalGroup?: (signal: NodeJS.Signals) => void;
  readonly table?: ProcessTable;
}

export interface SweepOutcome {
  /** Processes of the snapshot still running when the sweep began, so signalled. */
  readonly signalled: number;
  /** Still running after SIGKILL (0 unless something is unkillable). */
  readonly survivors: number;
}

const POLL_MS = 25;
const CONFIRM_MS = 1000;

async function whileAnyRunning(clock: Clock, table: ProcessTable, running: ProcessEntry[], ms: number): Promise<ProcessEntry[]> {
  const deadline = clock.now() + ms;
  let left = running.filter((entry) => isStillRunning(entry, table));
  while (left.length > 0 && clock.now() < deadline) {
    await new Promise<void>((resolve) => clock.setTimeout(resolve, POLL_MS));
    left = left.filter((entry) => isStillRunning(entry, table));
  }
  return left;
}

/**
 * Ends what is left of a server's tree once the server is gone: every process of `tree` that is
 * still the same process (pid and start time) and the group get SIGTERM, then, after `graceMs`,
 * SIGKILL; resolves when they are gone (their parent, init or a subreaper, reaps them), or
 * reports the survivors. Every wait runs on `clock`; nothing waits when nothing is left.
 */
export async function sweepDescendants(tree: readonly ProcessEntry[], options: SweepOptions): Promise<SweepOutcome> {
  const { clock, signalGroup } = options;
  const table = options.table ?? systemProcessTable;
  signalGroup?.(options.gentle ? 'SIGTERM' : 'SIGKILL');
  let leftovers = tree.filter((entry) => isStillRunning(entry, table));
  const signalled = leftovers.length;
  if (leftovers.length > 0 && options.gentle) {
    signalSnapshot(leftovers, 'SIGTERM', table);
    leftovers = await whileAnyRunning(clock, table, leftovers, options.graceMs);
  }
  if (leftovers.length > 0) {
    signalGroup?.('SIGKILL');
    signalSnapshot(leftovers, 'SIGKILL', table);
    leftovers = await whileAnyRunning(clock, table, leftovers, CONFIRM_MS);
  }
  return { signalled, survivors: leftovers.length };
}
