import type { Clock } from '../clock/index.js';
import { isStillRunning, signalSnapshot, systemProcessTable, type ProcessEntry, type ProcessTable } from './process-tree.js';

/**
 * How often a running server's descendants are looked for. Where the kernel lists each process's
 * children (/proc/<pid>/task/<tid>/children), a scan reads the server's tree only, so its cost
 * follows the tree, not the machine; elsewhere on Linux it reads every /proc/<pid>/stat (see
 * docs/governor.md for both costs). Every watch of the proxy is scanned in one pass per interval
 * (`DescendantScanner`). A descendant born and orphaned within one interval escapes.
 */
export const DESCENDANT_SCAN_INTERVAL_MS = 1000;

export interface DescendantWatchOptions {
  readonly clock: Clock;
  /** 0: no periodic scans, only those asked for (`scan()`). */
  readonly intervalMs: number;
  readonly table?: ProcessTable;
  /** The pass that scans it periodically (default: the one shared by every watch on this clock, table and interval). */
  readonly scanner?: DescendantScanner;
}

const key = (entry: ProcessEntry): string => `${entry.pid}:${entry.startTime}`;

/** One look at the processes, shared by every watch scanned in one pass. */
export interface ProcessView {
  /** The process that has `pid` now, if any. */
  entry(pid: number): ProcessEntry | undefined;
  /** The processes whose parent is `pid` now (zombies included). */
  childrenOf(pid: number): readonly ProcessEntry[];
}

const NO_CHILDREN: readonly ProcessEntry[] = [];

/** The whole table, read once (where the kernel has no children files). */
class WholeTableView implements ProcessView {
  readonly #byPid = new Map<number, ProcessEntry>();
  readonly #children = new Map<number, ProcessEntry[]>();

  constructor(table: readonly ProcessEntry[]) {
    for (const entry of table) {
      this.#byPid.set(entry.pid, entry);
      const siblings = this.#children.get(entry.ppid);
      if (siblings) siblings.push(entry);
      else this.#children.set(entry.ppid, [entry]);
    }
  }

  entry(pid: number): ProcessEntry | undefined {
    return this.#byPid.get(pid);
  }

  childrenOf(pid: number): readonly ProcessEntry[] {
    return this.#children.get(pid) ?? NO_CHILDREN;
  }
}

/** Only the processes a walk reaches: each read once per pass. */
class ChildrenFilesView implements ProcessView {
  readonly #table: ProcessTable;
  readonly #readChildren: (pid: number, threads?: number) => number[];
  readonly #read = new Map<number, ProcessEntry | null>();

  constructor(table: ProcessTable, readChildren: (pid: number, threads?: number) => number[]) {
    this.#table = table;
    this.#readChildren = readChildren;
  }

  entry(pid: number): ProcessEntry | undefined {
    let entry = this.#read.get(pid);
    if (entry === undefined) {
      entry = this.#table.lookup(pid) ?? null;
      this.#read.set(pid, entry);
    }
    return entry ?? undefined;
  }

  childrenOf(pid: number): readonly ProcessEntry[] {
    const found: ProcessEntry[] = [];
    for (const childPid of this.#readChildren(pid, this.entry(pid)?.threads)) {
      const child = this.entry(childPid);
      // Its parent link is read again: a child re-parented since the list was read is not `pid`'s.
      if (child !== undefined && child.ppid === pid) found.push(child);
    }
    return found;
  }
}

/** A look at `table` for one pass: its children files when it has them, else the whole table; undefined when it cannot be read. */
export function openProcessView(table: ProcessTable): ProcessView | undefined {
  const readChildren = table.children;
  if (readChildren !== undefined) return new ChildrenFilesView(table, readChildren);
  try {
    return new WholeTableView(table.list());
  } catch {
    return undefined;
  }
}

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
  readonly #table: ProcessTable;
  readonly #scanner: DescendantScanner | undefined;

  /** `rootRunning`: false once the server has exited (its pid may then be anyone's). */
  constructor(rootPid: number, rootRunning: () => boolean, options: DescendantWatchOptions) {
    this.#rootPid = rootPid;
    this.#rootRunning = rootRunning;
    this.#table = options.scanner?.table ?? options.table ?? systemProcessTable;
    this.#scanner = options.scanner ?? (options.intervalMs > 0 ? sharedDescendantScanner(options.clock, this.#table, options.intervalMs) : undefined);
    this.#root = this.#table.lookup(rootPid);
  }

  /** Joins the periodic scans (none when the interval is 0). */
  start(): this {
    this.#scanner?.register(this);
    return this;
  }

  /** Leaves the periodic scans; what is known stays known. */
  stop(): void {
    this.#scanner?.unregister(this);
  }

  /** One scan now; false (and nothing learnt) when the process table could not be read. */
  scan(): boolean {
    const view = openProcessView(this.#table);
    if (view === undefined) return false;
    this.scanIn(view);
    return true;
  }

  /** One scan in a look already open (the scanner's pass). */
  scanIn(view: ProcessView): void {
    for (const [name, entry] of this.#known) {
      const now = view.entry(entry.pid);
      if (now === undefined || now.startTime !== entry.startTime || now.state === 'Z') this.#known.delete(name);
    }
    const queue: number[] = [];
    for (const entry of this.#known.values()) queue.push(entry.pid);
    if (this.#rootIsTheServer(view.entry(this.#rootPid))) queue.push(this.#rootPid);
    const visited = new Set<number>();
    for (let next = 0; next < queue.length; next++) {
      const pid = queue[next]!;
      if (visited.has(pid)) continue;
      visited.add(pid);
      for (const child of view.childrenOf(pid)) {
        if (child.state === 'Z' || visited.has(child.pid)) continue;
        this.#known.set(key(child), child);
        queue.push(child.pid);
      }
    }
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
}

/**
 * The periodic scans of every watch of the proxy (a session's governor each over HTTP, the warm
 * servers): one timer, and one pass per interval that scans them all in one look (one read of the
 * whole table where it must be read whole). No timer while no watch is registered.
 */
export class DescendantScanner {
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly table: ProcessTable;
  readonly #watches = new Set<DescendantWatch>();
  #timer: unknown;

  constructor(clock: Clock, intervalMs: number, table: ProcessTable = systemProcessTable) {
    this.clock = clock;
    this.intervalMs = intervalMs;
    this.table = table;
  }

  register(watch: DescendantWatch): void {
    this.#watches.add(watch);
    if (this.#timer === undefined) this.#schedule();
  }

  unregister(watch: DescendantWatch): void {
    this.#watches.delete(watch);
    if (this.#watches.size > 0 || this.#timer === undefined) return;
    this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Watches registered now. */
  get watching(): number {
    return this.#watches.size;
  }

  /** One pass over every registered watch; false when the process table could not be read. */
  scanAll(): boolean {
    if (this.#watches.size === 0) return true;
    const view = openProcessView(this.table);
    if (view === undefined) return false;
    for (const watch of this.#watches) watch.scanIn(view);
    return true;
  }

  #schedule(): void {
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      this.scanAll();
      if (this.#watches.size > 0) this.#schedule();
    }, this.intervalMs);
  }
}

// One scanner per clock, table and interval: in the proxy that is one (its clock, /proc, 1 s);
// a test with its own fake clock or table gets its own.
const scanners = new WeakMap<Clock, Map<ProcessTable, Map<number, DescendantScanner>>>();

/** The scanner every watch on `clock`, `table` and `intervalMs` shares. */
export function sharedDescendantScanner(clock: Clock, table: ProcessTable, intervalMs: number): DescendantScanner {
  let byTable = scanners.get(clock);
  if (byTable === undefined) scanners.set(clock, (byTable = new Map()));
  let byInterval = byTable.get(table);
  if (byInterval === undefined) byTable.set(table, (byInterval = new Map()));
  let scanner = byInterval.get(intervalMs);
  if (scanner === undefined) byInterval.set(intervalMs, (scanner = new DescendantScanner(clock, intervalMs, table)));
  return scanner;
}

// Servers whose watch was kept by whoever held them before the governor (the warm pool).
const handedOver = new WeakMap<object, DescendantWatch>();

/**
 * Hands a server's watch (and what it knows: helpers orphaned while the server waited) to
 * whoever takes the server next; the governor that runs it continues the watch.
 */
export function handOverDescendantWatch(server: object, watch: DescendantWatch): void {
  watch.stop();
  handedOver.set(server, watch);
}

/** The watch handed over with `server`, once; undefined when none was. */
export function takeDescendantWatch(server: object): DescendantWatch | undefined {
  const watch = handedOver.get(server);
  handedOver.delete(server);
  return watch;
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
