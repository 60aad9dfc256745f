import type { Logger } from 'pino';
import {
  backoffDelayMs, DESCENDANT_SCAN_INTERVAL_MS, DescendantWatch, handOverDescendantWatch, relayServerStderr, StderrTail, stopUpstream, sweepDescendants, systemClock,
  type Clock, type ExecutablePin, type ProcessTable, type StopTimeouts, type Upstream, type UpstreamExit,
} from '../proxy-process-governor/index.js';
import { pingFrame, pingIdFor, readPingAnswer } from './ping.js';

export interface WarmPoolOptions {
  /** Servers kept waiting (--warm-servers). */
  readonly size: number;
  /** Spawns one server exactly as a session's governor would (executable, argv, environment, account). */
  readonly spawn: () => Upstream;
  /** The executable pin, checked before every spawn, as the governor checks it: a spawn is a spawn. */
  readonly pin?: ExecutablePin | undefined;
  /**
   * Server processes that may still start now: the proxy's process budget (cap + size) minus the
   * servers sessions hold. The pool counts its own waiting servers against it.
   */
  readonly sessionServers: () => number;
  readonly maxProcesses: number;
  /** The governor's restart policy: backoff after a waiting server dies, and how many deaths in a row before giving up. */
  readonly backoff: { readonly baseMs: number; readonly maxMs: number; readonly jitter: number; readonly maxRestarts: number };
  readonly stop: StopTimeouts;
  /** How long a new server has to answer the pool's ping before it is stopped and replaced (default 10 s). */
  readonly readyTimeoutMs?: number;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** How often a waiting server's descendants are looked for (default as the governor's: DESCENDANT_SCAN_INTERVAL_MS on Linux, else 0). */
  readonly descendantScanIntervalMs?: number;
  /** The process table the scans and the sweep read and signal (tests give a fake one). */
  readonly processTable?: ProcessTable;
}

export interface WarmPool {
  /**
   * A ready server (it answered the pool's ping), removed from the pool, its replacement started
   * in the background; undefined when none is ready (the caller spawns one itself). Of its stdout
   * only the ping's answer (and any line before it) was read: what it wrote after is still there,
   * for the session.
   */
  take(): Upstream | undefined;
  /** A session ended: the budget may allow the pool to fill up again. */
  refill(): void;
  /**
   * A session's own server came up (ready): the command works again. A pool that gave up because
   * its waiting servers kept dying starts over (not one that met exit 78 or a pin refusal).
   */
  resume(): void;
  /** Server processes the pool holds now: starting (ping not yet answered) or ready. */
  readonly waiting: number;
  /** Those of them that answered the ping: what `take` can hand out. */
  readonly ready: number;
  /** The pids of every server the pool holds (tests, logs). */
  readonly waitingPids: readonly (number | undefined)[];
  /** Stops every waiting server with the stop sequence (whole process tree); nothing is spawned after. `hurry` cuts the waits. */
  stop(hurry?: Promise<unknown>): Promise<void>;
}

interface WaitingServer {
  readonly upstream: Upstream;
  /** Stops relaying its stderr: the session's governor relays it from hand-out on. */
  readonly detachStderr: () => void;
  /** It answered the ping: it may be handed out. */
  ready: boolean;
  /** Stops reading its stdout for the answer and clears its ready timer. */
  stopAwaitingAnswer: () => void;
  /** Set when the pool stops it for not answering in time: its exit is then the pool's doing. */
  stopped?: Promise<void>;
  /** Its descendants, known while it waits, so that what it leaves when it dies is swept; handed to the governor that takes it. */
  readonly descendants: DescendantWatch | undefined;
}

const STDERR_TAIL_LINES = 20;
const DEFAULT_READY_TIMEOUT_MS = 10_000;

/**
 * Servers spawned ahead of the sessions that will need them, so a new session's first request
 * does not wait for a process to start, nor for the server's first read and answer (its code not
 * yet compiled). A waiting server is sent one `ping` under an id the pool owns, and is ready once
 * it answers; the answer is consumed here, so the client's `initialize` is still the first frame
 * the session sees answered, with the protocol version the client chose. The first servers are
 * spawned at once, so the first session finds one waiting.
 */
export function startWarmPool(options: WarmPoolOptions): WarmPool {
  const { logger, size } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const scanIntervalMs = options.descendantScanIntervalMs ?? (process.platform === 'linux' ? DESCENDANT_SCAN_INTERVAL_MS : 0);
  const waiting: WaitingServer[] = [];
  // Sweeps after a waiting server died: stop() waits for them.
  const sweeps = new Set<Promise<void>>();
  let pings = 0;
  const stderrTail = new StderrTail(STDERR_TAIL_LINES);
  // Waiting servers that died in a row: the backoff grows with it; a hand-out starts it over.
  let failures = 0;
  let refillTimer: unknown;
  let refillDue = false;
  let stopping = false;
  let gaveUp = false;
  // Why it gave up: only dying servers are worth another try once the command has worked again.
  let gaveUpFor: 'deaths' | 'final' | undefined;

  const hasRoom = (): boolean => waiting.length < size && waiting.length + options.sessionServers() < options.maxProcesses;

  function fill(): void {
    refillDue = false;
    while (!stopping && !gaveUp && hasRoom()) {
      const refusal = options.pin?.check();
      if (refusal !== undefined) {
        // The session's governor refuses the same executable and ends as it would without a pool.
        logger.error({ reason: refusal.reason }, `no warm server started: ${refusal.message}`);
        gaveUp = true;
        gaveUpFor = 'final';
        return;
      }
      const upstream = options.spawn();
      const descendants = upstream.pid === undefined
        ? undefined
        : new DescendantWatch(upstream.pid, () => !upstream.hasExited, { clock, intervalMs: scanIntervalMs, table: options.processTable }).start();
      const server: WaitingServer = {
        upstream, detachStderr: relayServerStderr(upstream.stderr, logger, stderrTail), ready: false, stopAwaitingAnswer: () => {}, descendants,
      };
      waiting.push(server);
      logger.debug({ pid: upstream.pid, waiting: waiting.length }, 'started a warm server');
      awaitReady(server);
      void upstream.exited.then((exit) => onWaitingExit(server, exit));
    }
  }

  // The ping goes into the pipe at once: the server reads it as soon as it reads anything.
  function awaitReady(server: WaitingServer): void {
    const { upstream } = server;
    const id = pingIdFor(++pings);
    const stopReading = readPingAnswer(upstream.stdout, id, {
      onAnswer(outcome) {
        server.stopAwaitingAnswer();
        server.ready = true;
        // As the governor at a first answer: its helpers are mostly started by now.
        if (scanIntervalMs > 0) server.descendants?.scan();
        logger.debug({ pid: upstream.pid, answer: outcome }, 'a warm server answered its ping: ready');
      },
      onStrayLine({ line, reason }) {
        // Not forwarded to anyone: no session owns this server yet. The pump drops such lines too.
        logger.warn({ pid: upstream.pid, line, reason }, 'a warm server wrote a line on stdout before answering its ping; dropped');
      },
    });
    const timer = clock.setTimeout(() => {
      server.stopAwaitingAnswer();
      logger.warn({ pid: upstream.pid, readyTimeoutMs }, `a warm server did not answer its ping within ${readyTimeoutMs} ms; stopping it`);
      server.stopped = stopUpstream(upstream, options.stop, undefined, clock, server.descendants).then((outcome) => {
        server.descendants?.stop();
        if (outcome.survivors > 0) logger.error({ pid: upstream.pid, survivors: outcome.survivors }, 'processes of a warm server\'s tree survived SIGKILL');
      });
    }, readyTimeoutMs);
    server.stopAwaitingAnswer = () => {
      stopReading();
      clock.clearTimeout(timer);
    };
    // A write error (the server already gone) surfaces as its exit.
    upstream.stdin.once('error', () => {});
    upstream.stdin.write(pingFrame(id));
  }

  // What a waiting server left when it died (helpers in sessions of their own included) ends
  // with it, as after a session's server's crash; the replacement does not wait for it.
  function sweepAfterExit(server: WaitingServer): void {
    const watch = server.descendants;
    if (watch === undefined) return;
    // Its children are re-parented by now; a look down from those known finds their own.
    watch.stop();
    watch.scan();
    const tree = watch.known;
    if (tree.length === 0) return;
    const pid = server.upstream.pid;
    const sweeping = sweepDescendants(tree, { clock, gentle: true, graceMs: options.stop.killTimeoutMs, table: watch.table }).then((outcome) => {
      if (outcome.signalled > 0) logger.warn({ pid, descendantsSignalled: outcome.signalled }, 'ended the processes a warm server left behind when it exited');
      if (outcome.survivors > 0) logger.error({ pid, survivors: outcome.survivors }, 'processes a warm server left behind survived SIGKILL');
    });
    sweeps.add(sweeping);
    void sweeping.finally(() => sweeps.delete(sweeping));
  }

  // In the background: a macrotask later on the proxy's clock, so the session that took a server
  // gets its first frame written before this spawn's work runs on the event loop.
  function scheduleFill(delayMs: number): void {
    if (stopping || gaveUp || refillDue) return;
    refillDue = true;
    refillTimer = clock.setTimeout(fill, delayMs);
  }

  function onWaitingExit(server: WaitingServer, exit: UpstreamExit): void {
    const index = waiting.indexOf(server);
    if (index < 0 || stopping) return; // handed out (its governor watches it now), or being stopped
    waiting.splice(index, 1);
    server.stopAwaitingAnswer();
    server.detachStderr();
    if (server.stopped === undefined) sweepAfterExit(server); // else its stop sequence sweeps
    server.upstream.signalGroup('SIGKILL'); // whatever it left in its group
    failures++;
    const how = exit.spawnError ? exit.spawnError.message : exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
    if (exit.code === 78) {
      // EX_CONFIG, as the governor reads it: restarting would not help. A session's own server will say so.
      gaveUp = true;
      gaveUpFor = 'final';
      logger.error({ exit: how, stderrTail: stderrTail.lines() }, 'a warm server exited with code 78 (EX_CONFIG): no more are started; new sessions start their own');
      return;
    }
    if (failures > options.backoff.maxRestarts) {
      gaveUp = true;
      gaveUpFor = 'deaths';
      logger.error({ exit: how, failures, stderrTail: stderrTail.lines() }, 'warm servers keep dying while they wait: no more are started; new sessions start their own');
      return;
    }
    const delayMs = backoffDelayMs(failures, { ...options.backoff, random });
    const what = server.stopped !== undefined ? 'a warm server that did not answer its ping was stopped' : 'a warm server exited while waiting';
    logger.warn({ pid: server.upstream.pid, exit: how, failures, delayMs, stderrTail: stderrTail.lines() }, `${what}; replacing it after a backoff`);
    // A pending immediate refill would ignore the backoff: the dead server's replacement waits for it.
    clock.clearTimeout(refillTimer);
    refillDue = false;
    scheduleFill(delayMs);
  }

  fill();
  return {
    take() {
      if (stopping) return undefined;
      const index = waiting.findIndex((candidate) => candidate.ready);
      const server = index < 0 ? undefined : waiting.splice(index, 1)[0];
      if (server !== undefined) {
        server.detachStderr();
        if (server.descendants !== undefined) handOverDescendantWatch(server.upstream, server.descendants);
        failures = 0;
        logger.debug({ pid: server.upstream.pid, waiting: waiting.length }, 'handed a warm server to a new session');
      }
      scheduleFill(0);
      return server?.upstream;
    },
    refill() {
      if (waiting.length < size) scheduleFill(0);
    },
    resume() {
      if (!gaveUp || gaveUpFor !== 'deaths' || stopping) return;
      gaveUp = false;
      gaveUpFor = undefined;
      failures = 0;
      logger.info('a session\'s server came up: starting warm servers again');
      scheduleFill(0);
    },
    get waiting() {
      return waiting.length;
    },
    get ready() {
      return waiting.filter((server) => server.ready).length;
    },
    get waitingPids() {
      return waiting.map((server) => server.upstream.pid);
    },
    async stop(hurry) {
      stopping = true;
      clock.clearTimeout(refillTimer);
      const servers = waiting.splice(0);
      await Promise.all(servers.map(async (server) => {
        server.stopAwaitingAnswer();
        if (server.stopped !== undefined) {
          // Already being stopped for not answering: that stop sequence ends it.
          await server.stopped;
          server.detachStderr();
          return;
        }
        const outcome = await stopUpstream(server.upstream, options.stop, hurry, clock, server.descendants);
        server.descendants?.stop();
        server.detachStderr();
        if (outcome.survivors > 0) logger.error({ pid: server.upstream.pid, survivors: outcome.survivors }, 'processes of a warm server\'s tree survived SIGKILL');
      }));
      await Promise.all(sweeps);
    },
  };
}
