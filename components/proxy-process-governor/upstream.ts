import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pidRecycled } from './process-tree.js';

/** How the child ended. */
export interface UpstreamExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES…). */
  readonly spawnError?: Error;
}

/** A running MCP server process: its pipes and its end. */
export interface Upstream {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves once, when the process has exited (or failed to start). */
  readonly exited: Promise<UpstreamExit>;
  readonly hasExited: boolean;
  /** Signals the child's whole process group (it leads its own). */
  signalGroup(signal: NodeJS.Signals): void;
}

export interface SpawnUpstreamOptions {
  readonly env: NodeJS.ProcessEnv;
  /** The resolved path to run; argv[0] stays what the child sees as its name. Default: argv[0]. */
  readonly executable?: string;
  readonly cwd?: string;
  /**
   * Run as this uid and gid (--server-user). libuv then calls setgroups(0, NULL) before setgid
   * and setuid, so the server keeps none of the proxy's supplementary groups.
   */
  readonly account?: { readonly uid: number; readonly gid: number } | undefined;
}

// A spawn Node refused synchronously (EPERM from setuid, EINVAL…): ends like one that failed
// to start, so the caller has one way to learn of it and the proxy never crashes on it.
function notStarted(error: Error): Upstream {
  const closed = (): PassThrough => {
    const stream = new PassThrough();
    stream.end();
    return stream;
  };
  return {
    pid: undefined,
    stdin: closed(),
    stdout: closed(),
    stderr: closed(),
    exited: Promise.resolve({ code: null, signal: null, spawnError: error }),
    hasExited: true,
    signalGroup() {},
  };
}

// Starts the server with no shell, in a process group of its own, so that stopping it
// reaches everything it started (`kill(-pid)`).
export function spawnUpstream(argv: readonly string[], options: SpawnUpstreamOptions): Upstream {
  const [name, ...args] = argv;
  let child: ChildProcess;
  try {
    child = spawn(options.executable ?? name!, args, {
      argv0: name,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: options.env,
      cwd: options.cwd,
      shell: false,
      windowsHide: true,
      ...(options.account === undefined ? {} : { uid: options.account.uid, gid: options.account.gid }),
    });
  } catch (error) {
    return notStarted(error as Error);
  }
  let hasExited = false;
  // `exit`, not `close`: a grandchild holding the pipes open would keep `close` pending.
  const exited = new Promise<UpstreamExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, spawnError: error });
    });
  }).then((exit) => {
    hasExited = true;
    return exit;
  });
  // A write to a dead child's stdin fails with EPIPE; the exit above is what counts.
  child.stdin!.on('error', () => {});
  return {
    pid: child.pid,
    stdin: child.stdin!,
    stdout: child.stdout!,
    stderr: child.stderr!,
    exited,
    get hasExited() {
      return hasExited;
    },
    signalGroup(signal) {
      if (child.pid === undefined) return;
      // Once the server is reaped, its number may be reused (only after its group emptied):
      // a group led by a stranger is never signalled.
      if (hasExited && pidRecycled(child.pid)) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the group is already gone.
      }
    },
  };
}
