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
