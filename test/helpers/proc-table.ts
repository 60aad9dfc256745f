// Process-table checks for the end-to-end tests: is a pid alive, what is in a process group.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** True while `pid` names a process, as `kill(pid, 0)` sees it (a zombie not yet reaped counts). */
export function isAlive(pid: number): boolean {
  return killZeroError(pid)?.code !== 'ESRCH';
}

/** The error `process.kill(pid, 0)` throws (ESRCH once the pid is gone), or undefined if it does not throw. */
export function killZeroError(pid: number): NodeJS.ErrnoException | undefined {
  try {
    process.kill(pid, 0);
    return undefined;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

/** Polls until `pid` is gone; false if it is still there after `timeoutMs` (a guard against hangs, not a benchmark). */
export async function waitUntilGone(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/** The pids in process group `pgid`, zombies included (Linux /proc). */
export function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      // `pid (comm) state ppid pgrp …`: comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) pids.push(Number(name));
    } catch {
      // it ended while we looked
    }
  }
  return pids;
}

/** Best-effort SIGKILL for cleanup (of the process group when `group`): never throws. */
export function forceKill(pid: number | undefined, group = false): void {
  if (pid === undefined) return;
  try {
    process.kill(group ? -pid : pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
