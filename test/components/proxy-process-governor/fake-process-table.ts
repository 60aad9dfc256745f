// A process table in memory for the descendant watch's and the sweep's tests: processes are
// started, exit (their children go to init; a zombie stays until reaped) and get signals. With
// `childrenFiles`, it also lists each process's children, as Linux's /proc/<pid>/task/<tid>/children
// does; without, a scan must read the whole table.
import type { ProcessEntry, ProcessTable } from '../../../components/proxy-process-governor/index.js';

export interface FakeProcess extends ProcessEntry {
  readonly ignoresTerm: boolean;
}

export class FakeProcessTable implements ProcessTable {
  readonly processes = new Map<number, FakeProcess>();
  readonly signals: Array<[number, NodeJS.Signals]> = [];
  /** Whole-table reads. */
  lists = 0;
  /** Children-file reads. */
  childrenReads = 0;
  readonly children: ((pid: number) => number[]) | undefined;
  #ticks = 1000;

  constructor(options: { childrenFiles?: boolean } = {}) {
    this.children = options.childrenFiles === true ? (pid) => this.#childrenOf(pid) : undefined;
  }

  start(pid: number, ppid: number, options: { ignoresTerm?: boolean } = {}): ProcessEntry {
    const entry = { pid, ppid, startTime: String(this.#ticks++), state: 'S', ignoresTerm: options.ignoresTerm === true };
    this.processes.set(pid, entry);
    return entry;
  }

  /** It ends: gone, or a zombie until `reap`. Its children go to init. */
  exit(pid: number, options: { zombie?: boolean } = {}): void {
    const entry = this.processes.get(pid);
    if (options.zombie === true && entry !== undefined) this.processes.set(pid, { ...entry, state: 'Z' });
    else this.processes.delete(pid);
    for (const [childPid, child] of this.processes) if (child.ppid === pid) this.processes.set(childPid, { ...child, ppid: 1 });
  }

  reap(pid: number): void {
    if (this.processes.get(pid)?.state === 'Z') this.processes.delete(pid);
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

  #childrenOf(pid: number): number[] {
    this.childrenReads++;
    const found: number[] = [];
    for (const entry of this.processes.values()) if (entry.ppid === pid) found.push(entry.pid);
    return found;
  }
}
