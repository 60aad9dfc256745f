import type { Logger } from 'pino';
import { readEnvelope } from '../framing/index.js';
import { createNdjsonChannel, type FlushOn, type FrameChannel, type FrameChannelHandlers } from '../transport/index.js';
import { backoffDelayMs } from './backoff.js';
import { systemClock, type Clock } from '../clock/index.js';
import type { ExecutablePin, PinRefusal } from './executable-pin.js';
import type { ServerAccount } from './server-user.js';
import { relayServerStderr, StderrTail } from './stderr-tail.js';
import { RestartQueue } from './restart-queue.js';
import { settlesWithin, stopUpstream, type StopOutcome, type StopTimeouts } from './stop.js';
import { DESCENDANT_SCAN_INTERVAL_MS, DescendantWatch, sweepDescendants, takeDescendantWatch, type SweepOutcome } from './descendants.js';
import type { ProcessTable } from './process-tree.js';
import { spawnUpstream, type Upstream, type UpstreamExit } from './upstream.js';

/**
 * starting → ready → (exit) → backoff → starting | recovering → ready …, or → fatal.
 * `recovering`: a new server is being prepared (onServerStart asked to hold the frames).
 * stopping → stopped once the proxy asks it to stop. See docs/governor.md.
 */
export type GovernorState = 'starting' | 'ready' | 'backoff' | 'recovering' | 'stopping' | 'stopped' | 'fatal';

export interface RestartPolicy {
  /** Consecutive failed runs allowed before giving up (0: never restart). */
  readonly maxRestarts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly backoffJitter: number;
  /** A run ready this long counts as healthy: the failure count and the backoff start over. */
  readonly stableAfterMs: number;
  /** Frames held while the server restarts, at most. */
  readonly queueLimit: number;
  /** How long a held request waits for the new server before it is answered with an error. */
  readonly queueTimeoutMs: number;
}

export interface GovernorFatal {
  readonly reason: string;
  /** 69: could not be started; 70: crashed past the restart bound; 78: exited with EX_CONFIG. */
  readonly exitCode: 69 | 70 | 78;
  readonly stderrTail: readonly string[];
}

/** What happened to the child, for reports and metrics (logs say it in words). */
export type GovernorEvent =
  | { readonly event: 'spawn'; readonly generation: number; readonly pid: number | undefined }
  | { readonly event: 'ready'; readonly generation: number }
  | { readonly event: 'exit'; readonly generation: number; readonly pid: number | undefined; readonly exitCode: number | null; readonly signal: string | null; readonly reason: string }
  | { readonly event: 'restart'; readonly generation: number; readonly attempt: number; readonly delayMs: number }
  | { readonly event: 'refused'; readonly generation: number; readonly reason: PinRefusal['reason'] }
  | { readonly event: 'fatal'; readonly generation: number; readonly exitCode: 69 | 70 | 78; readonly reason: string };

/** A server just started, before any frame held for it is released: what `onServerStart` is given. */
export interface StartedServer {
  /** Runs started so far, minus one: 0 for the first. */
  readonly generation: number;
  /** Writes a frame to this server now, ahead of every held frame. */
  send(line: Buffer): void;
  /**
   * Ends the preparation `onServerStart` asked for: the server is ready and the held frames go to
   * it. False (and nothing done) when it no longer can: this server exited, or the proxy is stopping.
   */
  release(): boolean;
}

export interface GovernorOptions {
  /** The absolute path to spawn, and the argv the child sees (argv[0] as the user wrote it). */
  readonly executable: string;
  readonly argv: readonly string[];
  /** The pinned contents of `executable`, checked before every spawn: a restart runs only what was approved. */
  readonly pin?: ExecutablePin | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** --server-user: the uid and gid every spawn runs as (checked at start: see server-user.ts). */
  readonly account?: Pick<ServerAccount, 'uid' | 'gid' | 'user'> | undefined;
  /** When writes to the server are flushed: 'turn' for a session fed by HTTP (each POST is its own I/O callback). */
  readonly flushOn?: FlushOn;
  readonly maxFrameBytes: number;
  readonly restart: RestartPolicy;
  readonly stop: StopTimeouts;
  readonly logger: Logger;
  readonly onFatal: (fatal: GovernorFatal) => void;
  /** Each spawn, readiness, exit, restart and the fatal end, in order. */
  readonly onEvent?: (event: GovernorEvent) => void;
  /** Asked when the child exits unbidden: false once the client is gone, so nothing restarts. */
  readonly shouldRestart?: () => boolean;
  /**
   * Each server as it starts (session recovery uses it). Returning true holds the client's
   * frames (state `recovering`) until `release()`; false releases them at once.
   */
  readonly onServerStart?: (server: StartedServer) => boolean;
  /** Every timer of the governor (backoff, stability, the restart queue, the stop sequence, the stdout settle wait). */
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly spawn?: typeof spawnUpstream;
  /**
   * How often the server's descendants are looked for while it runs (default
   * DESCENDANT_SCAN_INTERVAL_MS on Linux; 0: only at readiness, exit and stop, as elsewhere,
   * where a scan is a `ps`). What was seen is swept after every exit.
   */
  readonly descendantScanIntervalMs?: number;
  /** The process table the scans and the sweep read and signal (tests give a fake one). */
  readonly processTable?: ProcessTable;
}

/** The governor is the server side of the pump: a FrameChannel whose peer survives crashes. */
export interface Governor {
  readonly channel: FrameChannel;
  readonly state: GovernorState;
  /** Runs started so far, minus one: 0 for the first child. */
  readonly generation: number;
  readonly upstream: Upstream | undefined;
  /** Stops the current child with the stop sequence; no restart follows. `hurry` cuts the waits short. */
  stop(hurry?: Promise<unknown>): Promise<StopOutcome>;
}

interface Run {
  readonly upstream: Upstream;
  /** Undefined for a server that never started (no pid). */
  readonly descendants: DescendantWatch | undefined;
  readonly channel: FrameChannel;
  readonly stdoutEnded: Promise<void>;
}

const STDOUT_SETTLE_MS = 500;
const STDERR_TAIL_LINES = 50;

function describeExit(exit: UpstreamExit): string {
  if (exit.spawnError) return exit.spawnError.message;
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

export function createGovernor(options: GovernorOptions): Governor {
  const { logger, restart } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const spawn = options.spawn ?? spawnUpstream;
  const stderrTail = new StderrTail(STDERR_TAIL_LINES);
  const scanIntervalMs = options.descendantScanIntervalMs ?? (process.platform === 'linux' ? DESCENDANT_SCAN_INTERVAL_MS : 0);
  // Sweeps after unbidden exits still under way: the final stop waits for them.
  const sweeps = new Set<Promise<SweepOutcome>>();

  let handlers!: FrameChannelHandlers;
  let state: GovernorState = 'starting';
  let generation = -1;
  let failures = 0;
  let current: Run | undefined;
  let paused = false;
  let congested = false;
  let backoffTimer: unknown;
  let stableTimer: unknown;

  // What the queue gives up on is answered by the router, as every answer the proxy writes itself.
  const queue = new RestartQueue({
    limit: restart.queueLimit, maxBytes: 2 * options.maxFrameBytes, timeoutMs: restart.queueTimeoutMs, clock, logger,
    answer: (request, code, detail) => handlers.onLocalReply!(request, code, detail),
  });

  function launch(): void {
    generation++;
    const refusal = options.pin?.check();
    if (refusal !== undefined) return refuseLaunch(refusal);
    const account = options.account;
    const upstream = spawn(options.argv, { env: options.env, executable: options.executable, account });
    logger.info({ pid: upstream.pid, executable: options.executable, generation, ...(account && { uid: account.uid, gid: account.gid }) }, 'started the MCP server');
    options.onEvent?.({ event: 'spawn', generation, pid: upstream.pid });
    let endStdout!: () => void;
    const stdoutEnded = new Promise<void>((resolve) => (endStdout = resolve));
    const channel = createNdjsonChannel(upstream.stdout, upstream.stdin, { maxFrameBytes: options.maxFrameBytes, flushOn: options.flushOn });
    // A warm server comes with the pool's watch, which may already know helpers it orphaned.
    const descendants = upstream.pid === undefined
      ? undefined
      : (takeDescendantWatch(upstream) ?? new DescendantWatch(upstream.pid, () => !upstream.hasExited, { clock, intervalMs: scanIntervalMs, table: options.processTable })).start();
    const run: Run = { upstream, descendants, channel, stdoutEnded };
    current = run;
    relayServerStderr(upstream.stderr, logger, stderrTail);
    channel.start({
      onFrame: (line) => onServerFrame(run, line),
      onOversized: (line) => run === current && handlers.onOversized(line),
      onEnd: endStdout,
      onWriteError: () => {}, // EPIPE: the exit handler takes it from here
      onCongested: () => {
        congested = true;
        handlers.onCongested();
      },
      onDrained: () => {
        congested = false;
        handlers.onDrained();
      },
    });
    if (paused) channel.pause();
    void upstream.exited.then((exit) => onExit(run, exit));

    state = 'starting';
    const hold = options.onServerStart?.({ generation, send: (line) => channel.send(line), release: () => release(run) }) === true;
    if (hold) state = 'recovering';
    else queue.release((line) => channel.send(line));
  }

  // The end of a new server's preparation: it is ready, and what waited goes to it, in order.
  function release(run: Run): boolean {
    if (run !== current || state !== 'recovering') return false;
    becomeReady();
    queue.release((line) => run.channel.send(line));
    return true;
  }

  function onServerFrame(run: Run, line: Buffer): void {
    if (run !== current) return;
    if (state === 'starting') {
      // The first answer of a new server makes it ready; its envelope goes on, read once.
      const read = readEnvelope(line);
      if (read.kind === 'invalid') return handlers.onFrame(line);
      if (read.kind === 'response' || read.kind === 'error') becomeReady();
      return handlers.onFrame(line, read);
    }
    handlers.onFrame(line);
  }

  function becomeReady(): void {
    state = 'ready';
    // Once per run: a server has mostly started its helpers by its first answer, which may come
    // well within the first scan interval (a restarted one is sent what waited at once).
    if (scanIntervalMs > 0) current?.descendants?.scan();
    options.onEvent?.({ event: 'ready', generation });
    stableTimer = clock.setTimeout(() => {
      if (failures > 0) logger.info({ failures }, 'the server has stayed up: restart count and backoff reset');
      failures = 0;
    }, restart.stableAfterMs);
  }

  async function onExit(run: Run, exit: UpstreamExit): Promise<void> {
    // Its children are re-parented by now; a look down from those known finds their own.
    run.descendants?.stop();
    run.descendants?.scan();
    if (run !== current) return;
    clock.clearTimeout(stableTimer);
    if (state === 'stopping' || state === 'stopped') return; // the stop sequence sweeps
    sweepAfterExit(run);
    state = 'backoff'; // from here on, client frames wait for the next server
    // Responses it wrote just before exiting are still in the pipe: deliver them first.
    await settlesWithin(clock, run.stdoutEnded, STDOUT_SETTLE_MS);
    if (state !== 'backoff') return; // stop() came meanwhile
    run.channel.close();
    run.upstream.signalGroup('SIGKILL'); // whatever it left in its group
    current = undefined;
    if (congested) {
      congested = false;
      handlers.onDrained();
    }
    const how = describeExit(exit);
    options.onEvent?.({ event: 'exit', generation, pid: run.upstream.pid, exitCode: exit.code ?? null, signal: exit.signal ?? null, reason: how });
    // What was written to the dead server is lost; what waits here is not.
    handlers.onReset?.(`the MCP server exited (${how})`, queue.waitingIds());
    if (exit.spawnError) {
      // EACCES as another user: most often a folder on the way to the executable or script that user may not enter.
      const as = options.account === undefined ? '' : ` as ${options.account.user} (uid ${options.account.uid}); can that user read and execute ${options.executable} and the server's files?`;
      return cannotRun(69, `the MCP server could not be started: ${how}${as}`, { code: 'SIDECAR_ERR_UPSTREAM_SPAWN' });
    }
    if (options.shouldRestart?.() === false) return stopWaiting();
    if (exit.code === 78) return fatal(78, 'the MCP server exited with code 78 (EX_CONFIG): its configuration is wrong, restarting would not help');
    failures++;
    if (failures > restart.maxRestarts) {
      const times = failures === 1 ? '1 time' : `${failures} times`;
      return fatal(70, `the MCP server failed ${times} in a row (last: ${how}); giving up after ${restart.maxRestarts} restarts`);
    }
    state = 'backoff';
    const delayMs = backoffDelayMs(failures, { baseMs: restart.backoffBaseMs, maxMs: restart.backoffMaxMs, jitter: restart.backoffJitter, random });
    logger.warn({ exit: how, failures, maxRestarts: restart.maxRestarts, delayMs, stderrTail: stderrTail.lines() }, 'the MCP server exited; restarting it after a backoff');
    options.onEvent?.({ event: 'restart', generation, attempt: failures, delayMs });
    backoffTimer = clock.setTimeout(launch, delayMs);
  }

  // Whatever the server left (descendants in their own sessions included) ends with it, on
  // every exit it was not asked for; the restart does not wait for it.
  function sweepAfterExit(run: Run): void {
    const tree = run.descendants?.known ?? [];
    if (tree.length === 0) return;
    const pid = run.upstream.pid;
    const ofGeneration = generation;
    const sweeping = sweepDescendants(tree, { clock, gentle: true, graceMs: options.stop.killTimeoutMs, table: options.processTable }).then((outcome) => {
      if (outcome.signalled > 0) logger.warn({ pid, generation: ofGeneration, descendantsSignalled: outcome.signalled }, 'ended the processes the MCP server left behind when it exited');
      if (outcome.survivors > 0) logger.error({ pid, survivors: outcome.survivors }, 'processes the MCP server left behind survived SIGKILL');
      return outcome;
    });
    sweeps.add(sweeping);
    void sweeping.finally(() => sweeps.delete(sweeping));
  }

  // The executable no longer has its pinned contents (or is gone): nothing is spawned, and the
  // end is that of a server that cannot be started, with the refusal the check at start gives.
  function refuseLaunch(refusal: PinRefusal): void {
    const [exitCode, code] = refusal.reason === 'not_found' ? [69, 'SIDECAR_ERR_UPSTREAM_SPAWN'] as const : [78, 'SIDECAR_ERR_GOVERNOR_NOT_ALLOWED'] as const;
    state = 'backoff'; // frames wait, then are answered by the fatal end below
    options.onEvent?.({ event: 'refused', generation, reason: refusal.reason });
    // A microtask later, as a spawn error would come: the first launch runs inside channel.start(),
    // before the pump that called it is wired.
    queueMicrotask(() => {
      if (state !== 'backoff') return; // stop() came meanwhile
      cannotRun(exitCode, refusal.message, { code, reason: refusal.reason });
    });
  }

  // Not restarting: what waits for a server is answered that the proxy is stopping.
  function stopWaiting(): void {
    state = 'stopped';
    queue.answerAll('SIDECAR_ERR_SHUTTING_DOWN', 'the proxy is stopping');
  }

  // A server that cannot be run (spawn error, refused executable) ends the proxy, unless the
  // session is ending anyway (over HTTP a failed initialize ends it at once, its client got
  // -32003): then this log line is the only word of why, and it is the operator's business.
  function cannotRun(exitCode: GovernorFatal['exitCode'], message: string, logFields: Record<string, unknown>): void {
    if (options.shouldRestart?.() === false) {
      stopWaiting();
      logger.error({ ...logFields, generation }, message);
      return;
    }
    fatal(exitCode, message, logFields);
  }

  function fatal(exitCode: GovernorFatal['exitCode'], reason: string, logFields: Record<string, unknown> = {}): void {
    state = 'fatal';
    clearTimers();
    queue.answerAll('SIDECAR_ERR_UPSTREAM_EXITED', reason);
    const tail = stderrTail.lines();
    logger.error({ ...logFields, exitCode, stderrTail: tail }, reason);
    options.onEvent?.({ event: 'fatal', generation, exitCode, reason });
    options.onFatal({ reason, exitCode, stderrTail: tail });
  }

  function clearTimers(): void {
    clock.clearTimeout(backoffTimer);
    clock.clearTimeout(stableTimer);
  }

  const channel: FrameChannel = {
    start(h) {
      // A request the restart queue gives up on must be answered: only the router can.
      if (h.onLocalReply === undefined) throw new Error('the governor\'s channel needs a router that answers requests (onLocalReply)');
      handlers = h;
      launch();
    },
    send(line, envelope) {
      if (state === 'ready' || state === 'starting') current!.channel.send(line);
      else if (state === 'backoff' || state === 'recovering') queue.hold(line, envelope);
      // stopping, stopped, fatal: the runtime refuses requests itself; nothing to deliver to.
    },
    pause() {
      paused = true;
      current?.channel.pause();
    },
    resume() {
      paused = false;
      current?.channel.resume();
    },
    drained: () => current?.channel.drained() ?? Promise.resolve(),
    endOutput: () => current?.channel.endOutput(),
    close: () => current?.channel.close(),
  };

  return {
    channel,
    get state() {
      return state;
    },
    get generation() {
      return generation;
    },
    get upstream() {
      return current?.upstream;
    },
    async stop(hurry) {
      state = 'stopping';
      clearTimers();
      queue.answerAll('SIDECAR_ERR_SHUTTING_DOWN', 'the proxy is stopping');
      const run = current;
      let outcome: StopOutcome = { step: 'already-exited', descendantsSignalled: 0, survivors: 0 };
      if (run !== undefined) {
        outcome = await stopUpstream(run.upstream, options.stop, hurry, clock, run.descendants);
        run.descendants?.stop();
        await settlesWithin(clock, run.stdoutEnded, STDOUT_SETTLE_MS);
        const exit = await Promise.race([run.upstream.exited, Promise.resolve(undefined)]);
        options.onEvent?.({
          event: 'exit', generation, pid: run.upstream.pid, exitCode: exit?.code ?? null, signal: exit?.signal ?? null, reason: `stopped by the proxy (${outcome.step})`,
        });
      }
      // What earlier runs left is still being swept: the proxy ends after it.
      const earlier = await Promise.all(sweeps);
      const leftBehind = earlier.reduce((sum, swept) => sum + swept.survivors, 0);
      state = 'stopped';
      return leftBehind === 0 ? outcome : { ...outcome, survivors: outcome.survivors + leftBehind };
    },
  };
}
