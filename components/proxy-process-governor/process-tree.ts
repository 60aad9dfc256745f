import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

// A snapshot of a process's descendants, taken while it is still alive. Signalling its process
// group is not enough: a descendant that called setsid() has left the group, and once its
// parent dies it is re-parented to init, where walking the tree from the root no longer finds
// it. The snapshot remembers each descendant's start time, so a recycled pid is never signalled.

export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  /** Opaque start time (clock ticks since boot on Linux); with the pid, names one process. */
  readonly startTime: string;
  /** 'Z' for a zombie: dead, waiting to be reaped by its parent. */
  readonly state: string;
}

function readProcStat(pid: number): ProcessEntry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), startTime: fields[19]!, state: fields[0]! };
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

/** Every live descendant of `rootPid` (children, grandchildren, …), not the root itself. */
export function snapshotDescendants(rootPid: number): ProcessEntry[] {
  const table = readProcessTable();
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of table) {
    const list = children.get(entry.ppid);
    if (list) list.push(entry);
    else children.set(entry.ppid, [entry]);
  }
  const found: ProcessEntry[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (child.state === 'Z') continue;
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** True while this exact process (same pid, same start time) is alive; a zombie counts as gone. */
export function isStillRunning(entry: ProcessEntry): boolean {
  if (process.platform !== 'linux') {
    try {
      process.kill(entry.pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  const now = readProcStat(entry.pid);
  return now !== undefined && now.startTime === entry.startTime && now.state !== 'Z';
}

/** Sends `signal` to each snapshotted process still running; returns how many were signalled. */
export function signalSnapshot(entries: readonly ProcessEntry[], signal: NodeJS.Signals): number {
  let signalled = 0;
  for (const entry of entries) {
    if (!isStillRunning(entry)) continue;
    try {
      process.kill(entry.pid, signal);
      signalled++;
    } catch {
      // ESRCH: it ended between the check and the signal.
    }
  }
  return signalled;
}

/** Merges two snapshots, keeping one entry per process. */
export function mergeSnapshots(a: readonly ProcessEntry[], b: readonly ProcessEntry[]): ProcessEntry[] {
  const seen = new Set(a.map((e) => `${e.pid}:${e.startTime}`));
  return [...a, ...b.filter((e) => !seen.has(`${e.pid}:${e.startTime}`))];
}
