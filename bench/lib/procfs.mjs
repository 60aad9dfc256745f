// What the bench reads about a process from /proc (Linux): CPU time and peak RSS.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks;
/** Clock ticks per second (USER_HZ), the unit of utime/stime in /proc/<pid>/stat. */
export function clockTicksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * CPU time the process has used so far, all its threads, in µs:
 * `stat` from utime+stime in /proc/<pid>/stat (clock ticks: 10 ms steps at USER_HZ=100);
 * `precise` from the per-thread /proc/<pid>/task/<tid>/schedstat (nanoseconds), used as a
 * cross-check where the phase is too short for tick resolution.
 * Undefined when the process is gone.
 */
export function readCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const userTicks = Number(fields[11]), systemTicks = Number(fields[12]); // utime (14), stime (15)
    const ticks = userTicks + systemTicks;
    let preciseNs = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        preciseNs += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
    const us = 1e6 / clockTicksPerSecond();
    return { statUs: ticks * us, userUs: userTicks * us, systemUs: systemTicks * us, preciseUs: preciseNs / 1e3 };
  } catch {
    return undefined;
  }
}

/** CPU used between two readCpu samples, in µs. */
export function cpuBetween(before, after) {
  if (before === undefined || after === undefined) return undefined;
  return {
    statUs: after.statUs - before.statUs,
    userUs: after.userUs - before.userUs,
    systemUs: after.systemUs - before.systemUs,
    preciseUs: after.preciseUs - before.preciseUs,
  };
}

/**
 * Counters that show how well the process batches: read and write system calls
 * (/proc/<pid>/io syscr, syscw) and context switches (/proc/<pid>/status, main thread
 * and all others). Undefined when the process is gone or /proc/<pid>/io is not readable.
 */
export function readActivity(pid) {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'latin1');
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const field = (text, name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return {
      reads: field(io, 'syscr'),
      writes: field(io, 'syscw'),
      switches: field(status, 'voluntary_ctxt_switches') + field(status, 'nonvoluntary_ctxt_switches'),
    };
  } catch {
    return undefined;
  }
}

export function activityBetween(before, after) {
  if (before === undefined || after === undefined) return undefined;
  return { reads: after.reads - before.reads, writes: after.writes - before.writes, switches: after.switches - before.switches };
}

/** Peak resident set size (VmHWM) in bytes; undefined when the process is gone. */
export function readPeakRss(pid) {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Current resident memory split: anonymous (heap, stacks) and file-backed (mostly the node binary), bytes. */
export function readRssSplit(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return undefined;
  }
}

/** The pids of a process's direct children (the server, under a proxy). */
export function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A short description of the machine for the report. */
export function describeMachine() {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux
  }
  let kernel = '';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux
  }
  return { cpuModel, kernel };
}
