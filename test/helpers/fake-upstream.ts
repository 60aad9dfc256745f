// A fake server process for the governor's and the warm pool's unit tests: no process (so no
// tree for the stop sequence to snapshot). It records what was written to it and the signals
// its group got, and exits on the events it is told to (stdin EOF, a signal), or when the test
// calls die().
import { PassThrough, Writable } from 'node:stream';
import type { Upstream, UpstreamExit } from '../../components/proxy-process-governor/index.js';

export type FakeExitEvent = 'eof' | NodeJS.Signals;

export interface FakeUpstream {
  readonly upstream: Upstream;
  readonly written: Buffer[];
  readonly signals: string[];
  die(exit: UpstreamExit): void;
  readonly stdinEnded: boolean;
}

/** `pid`: the number it reports (the pool logs pids), though there is no process behind it. */
export function fakeUpstream(exitsOn: ReadonlySet<FakeExitEvent>, pid?: number): FakeUpstream {
  const written: Buffer[] = [];
  const signals: string[] = [];
  let stdinEnded = false;
  let resolveExit!: (exit: UpstreamExit) => void;
  let hasExited = false;
  const exited = new Promise<UpstreamExit>((resolve) => (resolveExit = resolve)).then((exit) => {
    hasExited = true;
    return exit;
  });
  const die = (exit: UpstreamExit): void => resolveExit(exit);
  const upstream: Upstream = {
    pid: undefined,
    stdin: new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        written.push(chunk);
        callback();
      },
      final: (callback) => {
        stdinEnded = true;
        if (exitsOn.has('eof')) die({ code: 0, signal: null });
        callback();
      },
    }),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    exited,
    get hasExited() {
      return hasExited;
    },
    signalGroup(signal) {
      signals.push(signal);
      if (exitsOn.has(signal)) die({ code: null, signal });
    },
  };
  if (pid !== undefined) Object.defineProperty(upstream, 'pid', { value: pid });
  return {
    upstream, written, signals, die,
    get stdinEnded() {
      return stdinEnded;
    },
  };
}

export interface ScriptedUpstreamOptions {
  /** Answer requests: initialize with this server's own serverInfo (`name`), anything else with `{}`. Default false: answers nothing. */
  readonly answers?: boolean;
  /** serverInfo.name in its initialize answer. */
  readonly name?: string;
  /** How it exits on a frame it reads (a crash on a tool call, say); undefined: it does not. */
  readonly exitOn?: (frame: Record<string, unknown>) => UpstreamExit | undefined;
}

export interface ScriptedUpstream {
  readonly upstream: Upstream;
  /** Every frame written to it, parsed. */
  readonly received: Array<Record<string, unknown>>;
  die(exit: UpstreamExit): void;
  readonly exited: boolean;
  /** It was sent a `ping` (the warm pool's readiness check). */
  readonly pinged: boolean;
}

/**
 * An in-memory MCP server for the runtime's session tests (no process): reads NDJSON frames,
 * answers as `options` says, and exits on stdin EOF, on any signal to its group, when `exitOn`
 * says so, or on die().
 */
export function scriptedUpstream(options: ScriptedUpstreamOptions = {}): ScriptedUpstream {
  const received: Array<Record<string, unknown>> = [];
  const stdout = new PassThrough();
  let hasExited = false;
  let resolveExit!: (exit: UpstreamExit) => void;
  const exited = new Promise<UpstreamExit>((resolve) => (resolveExit = resolve)).then((exit) => {
    hasExited = true;
    return exit;
  });
  const die = (exit: UpstreamExit): void => {
    if (hasExited) return;
    stdout.end();
    resolveExit(exit);
  };
  let pending = '';
  const stdin = new PassThrough();
  stdin.setEncoding('utf8');
  stdin.on('data', (chunk: string) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n')) {
      const frame = JSON.parse(pending.slice(0, end)) as Record<string, unknown>;
      pending = pending.slice(end + 1);
      received.push(frame);
      const exit = options.exitOn?.(frame);
      if (exit !== undefined) return die(exit);
      if (options.answers !== true || frame.id === undefined || frame.method === undefined) continue;
      const result = frame.method === 'initialize' ? { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: options.name ?? 'scripted', version: '1' } } : {};
      stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: frame.id, result })}\n`);
    }
  });
  stdin.on('end', () => die({ code: 0, signal: null }));
  const upstream: Upstream = {
    pid: undefined, stdin, stdout, stderr: new PassThrough(), exited,
    get hasExited() {
      return hasExited;
    },
    signalGroup: (signal) => die({ code: null, signal }),
  };
  return {
    upstream, received, die,
    get exited() {
      return hasExited;
    },
    get pinged() {
      return received.some((frame) => frame.method === 'ping');
    },
  };
}
