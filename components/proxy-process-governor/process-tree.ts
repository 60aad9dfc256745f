import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';

// A snapshot of a process's descendants, taken while it is still alive. Signalling its process
// group is not enough: a descendant that called setsid() has left the group, and once its
// parent dies it is re-parented to init, where walking the tree from the root no longer finds
// it. The snapshot remembers each descendant's start time, so a recycled pid is never signalled.

export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  /** Opaque start time (clock ticks since boot on Linux: /proc/<pid>/stat field 22); with the pid, names one process. */
  readonly startTime: string;
  /** 'Z' for a zombie: dead, waiting to be reaped by its parent. */
  readonly state: string;
  /** Its threads (/proc/<pid>/stat field 20), when known: with one, its children are in one file. */
  readonly threads?: number;
}

/** The machine's processes as the governor reads and signals them; tests give a fake one. */
export interface ProcessTable {
  /** Every process there is now. */
  list(): ProcessEntry[];
  /** The process that has `pid` now, if any. */
  lookup(pid: number): ProcessEntry | undefined;
  /** kill(2); false when it failed (ESRCH: already gone; EPERM). */
  signal(pid: number, signal: NodeJS.Signals): boolean;
  /**
   * The pids of `pid`'s children ([] once it is gone), read from the process itself; undefined
   * when this table cannot (no /proc/<pid>/task/<tid>/children): then a scan reads `list()`.
   * `threads`: the process's thread count, when known (one thread: one file to read).
   */
  readonly children?: ((pid: number, threads?: number) => number[]) | undefined;
}

// One buffer for every small /proc file a scan reads: readFileSync would stat each (size 0 in
// /proc), allocate and grow; a scan reads hundreds of them.
const procBuffer = Buffer.allocUnsafe(64 * 1024);

/** A /proc file's text (latin1); throws when it cannot be opened (the process is gone). */
function readProcFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    for (let read = -1; read !== 0 && length < procBuffer.length; length += read) read = readSync(fd, procBuffer, length, procBuffer.length - length, null);
    return procBuffer.toString('latin1', 0, length);
  } finally {
    closeSync(fd);
  }
}

function readProcStat(pid: number): ProcessEntry | undefined {
  try {
    const stat = readProcFile(`/proc/${pid}/stat`);
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), startTime: fields[19]!, state: fields[0]!, threads: Number(fields[17]) };
  } catch {
    return undefined;
  }
}

function readProcessTable(): ProcessEntry[] {
  if (process.platform === 'linux') {
    const entries: ProcessEntry[] = [];
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid)) continue;
      const entry = readProcStat(pid);
      if (entry) entries.push(entry);
    }
    return entries;
  }
  // Elsewhere: one `ps` (procps or BSD); no start time, so the pid alone identifies.
  const output = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,stat='], { encoding: 'utf8' });
  return output.split('\n').filter(Boolean).map((line) => {
    const [pid, ppid, state] = line.trim().split(/\s+/);
    return { pid: Number(pid), ppid: Number(ppid), startTime: '', state: (state ?? '')[0] ?? '' };
  });
}

function lookupProcess(pid: number): ProcessEntry | undefined {
  if (process.platform === 'linux') return readProcStat(pid);
  try {
    process.kill(pid, 0);
    return { pid, ppid: 0, startTime: '', state: '' };
  } catch {
    return undefined;
  }
}

/**
 * `pid`'s children, from each of its threads' `children` file (Linux ≥ 3.5, CONFIG_PROC_CHILDREN):
 * a child is listed under the thread that forked it, not always the main one.
 */
function readChildren(pid: number, threadCount?: number): number[] {
  const found: number[] = [];
  let threads: readonly string[];
  if (threadCount === 1) threads = [String(pid)];
  else {
    try {
      threads = readdirSync(`/proc/${pid}/task`);
    } catch {
      return found; // gone
    }
  }
  for (const tid of threads) {
    let text: string;
    try {
      text = readProcFile(`/proc/${pid}/task/${tid}/children`);
    } catch {
      continue; // the thread ended meanwhile
    }
    // "pid pid pid " (each followed by a space), or empty.
    let start = 0;
    for (let space = text.indexOf(' '); space >= 0; space = text.indexOf(' ', start)) {
      if (space > start) found.push(Number(text.slice(start, space)));
      start = space + 1;
    }
  }
  return found;
}

// Looked for once: a kernel either has the children files or does not.
let childrenFiles: boolean | undefined;
function hasChildrenFiles(): boolean {
  childrenFiles ??= process.platform === 'linux' && existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
  return childrenFiles;
}

/** The real one: /proc on Linux (a process's own children files when the kernel has them), `ps` elsewhere. */
export const systemProcessTable: ProcessTable = {
  list: readProcessTable,
  lookup: lookupProcess,
  get children() {
    return hasChildrenFiles() ? readChildren : undefined;
  },
  signal(pid, signal) {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  },
};

/**
 * True once `pid` names a process other than a server that has exited and been reaped: then
 * `kill(-pid)` could reach a stranger's group. While any member of the server's group lives, the
 * kernel keeps its number out of reuse, so a live process with that pid means the group is empty.
 */
export function pidRecycled(pid: number): boolean {
  return process.platform === 'linux' && existsSync(`/proc/${pid}`);
}

/** The live descendants, in `table`, of each of `roots` (the roots themselves not included). */
export function descendantsIn(table: readonly ProcessEntry[], roots: Iterable<number>): ProcessEntry[] {
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of table) {
    const list = children.get(entry.ppid);
    if (list) list.push(entry);
    else children.set(entry.ppid, [entry]);
  }
  const found: ProcessEntry[] = [];
  const visited = new Set<number>();
  const queue = [...roots];
  for (let next = 0; next < queue.length; next++) {
    const pid = queue[next]!;
    if (visited.has(pid)) continue;
    visited.add(pid);
    for (const child of children.get(pid) ?? []) {
      if (child.state === 'Z' || visited.has(child.pid)) continue;
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** Every live descendant of `rootPid` (children, grandchildren, …), not the root itself. */
export function snapshotDescendants(rootPid: number, table: ProcessTable = systemProcessTable): ProcessEntry[] {
  return descendantsIn(table.list(), [rootPid]);
}

/** True while this exact process (same pid, same start time) is alive; a zombie counts as gone. */
export function isStillRunning(entry: ProcessEntry, table: ProcessTable = systemProcessTable): boolean {
  const now = table.lookup(entry.pid);
  return now !== undefined && now.startTime === entry.startTime && now.state !== 'Z';
}

/** Sends `signal` to each snapshotted process still running; returns how many were signalled. */
export function signalSnapshot(entries: readonly ProcessEntry[], signal: NodeJS.Signals, table: ProcessTable = systemProcessTable): number {
  let signalled = 0;
  for (const entry of entries) {
    // The start time is checked right before the signal: a recycled pid is spared.
    if (isStillRunning(entry, table) && table.signal(entry.pid, signal)) signalled++;
  }
  return signalled;
}

/** Merges two snapshots, keeping one entry per process. */
export function mergeSnapshots(a: readonly ProcessEntry[], b: readonly ProcessEntry[]): ProcessEntry[] {
  const seen = new Set(a.map((e) => `${e.pid}:${e.startTime}`));
  return [...a, ...b.filter((e) => !seen.has(`${e.pid}:${e.startTime}`))];
}
