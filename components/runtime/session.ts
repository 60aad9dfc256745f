/**
 * One proxy session: a client channel, one governed server, the pump between them, and the stop
 * sequence. Over stdio the proxy runs one session for its life; over HTTP each MCP session (and
 * the shared stateless one) is one of these.
 */
import { basename } from 'node:path';
import type { CircuitBreaker, UpstreamBreakers } from '../circuit-breaker/index.js';
import type { GatewayServiceSettings, SidecarConfig } from '../config/index.js';
// The guards module alone, not the gateway's index: that loads the servers file's YAML and zod, which --proxy never needs.
import { guardServiceChannel, needsServiceGuards, type GuardedServiceChannel } from '../gateway/service-guards.js';
import type { Logger } from '../logging/index.js';
import { createNamespaceResolver, GATEWAY_SERVER_NAME, type GatewayRoutes, type Identity } from '../policy/index.js';
import {
  childEnvironment, createGovernor, spawnUpstream, type Clock, type ExecutablePin, type Governor, type GovernorEvent, type GovernorFatal, type ServerAccount, type Upstream,
} from '../proxy-process-governor/index.js';
import { combineObservers, type Pump, type PumpObserver } from '../pump/index.js';
import { createSessionRecovery } from '../session-recovery/index.js';
import type { FlushOn, FrameChannel } from '../transport/index.js';
import { EXIT_CODES, type ExitCode } from './exit-codes.js';
import { createSessionLifecycle } from './session-lifecycle.js';
import type { ReloadablePolicy } from './policy-holder.js';

/** What every session of a proxy shares: set up once at start. */
export interface SessionContext {
  readonly config: SidecarConfig;
  readonly executable: string;
  /** With --executable-sha256: shared by every session's server, so an unchanged file is hashed once. */
  readonly executablePin: ExecutablePin | undefined;
  /** With --server-user: the account every session's server runs as, checked at start. */
  readonly serverAccount?: ServerAccount | undefined;
  readonly logger: Logger;
  readonly policy: ReloadablePolicy | undefined;
  /** Observers for a session's pump (reports, transcript, metrics), given its identity and its servers' restarts so far. */
  readonly observers: (identity: Identity | undefined, generation: () => number) => readonly PumpObserver[];
  /** Lifecycle events of every session's server (reports, metrics); in gateway mode `server` names the service. */
  readonly onGovernorEvent?: (event: GovernorEvent, server?: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** The one clock every timer of the session runs on (governor, stop sequence, pump). */
  readonly clock: Clock;
  readonly random?: () => number;
  readonly spawn?: typeof spawnUpstream;
  /**
   * --warm-servers over HTTP: a server already started for this session's first run, if one
   * waits (the pool spawned it as the governor would; the pin is checked again at hand-out).
   * Restarts spawn their own: a crashing server does not drain the pool.
   */
  readonly takeWarmServer?: () => Upstream | undefined;
  /** --servers over HTTP: `takeWarmServer` per service, by its namespace (each service has its own pool, or none). */
  readonly takeWarmService?: (service: string) => Upstream | undefined;
  /**
   * When the server's writes are flushed: an HTTP session's frames come from one I/O callback per
   * POST, so a flush per event-loop turn ('turn') writes once for all of a turn's calls.
   */
  readonly serverFlushOn?: FlushOn;
  /**
   * Where each session takes its own circuit breaker (undefined: --circuit-failures 0): its
   * server's failures open only its breaker, never another session's.
   */
  readonly breakers?: UpstreamBreakers | undefined;
  /** With reports: wraps the client channel so an answer leaves only once its report is written (docs/report.md). */
  readonly holdAnswers?: ((client: FrameChannel) => FrameChannel) | undefined;
}

export interface Session {
  readonly governor: Governor;
  readonly pump: Pump;
  /** This session's circuit breaker (undefined: off); released when the session ends. */
  readonly breaker: CircuitBreaker | undefined;
  /** Starts the stop sequence (drain, then the server's); a second call skips the waits. */
  stop(reason: string): Promise<ExitCode>;
  /** Resolves with the exit code once the session has finished. */
  readonly done: Promise<ExitCode>;
}

/** `stoppedMessage`: the log line at the end ('proxy stopped' for the one stdio session). */
/** `stoppedMessage`: the log line at the end ('proxy stopped' for the one stdio session). */
export function startSession(context: SessionContext, client: FrameChannel, identity?: Identity, stoppedMessage = 'session stopped'): Session {
  const { config, logger } = context;
  const lifecycle = createSessionLifecycle(context, client, {
    stoppedMessage,
    serversNoun: 'the server',
    stopServers: async (hurried) => {
      const { step, descendantsSignalled, survivors } = await governor.stop(hurried);
      if (survivors > 0) logger.error({ survivors }, 'processes of the server\'s tree survived SIGKILL');
      return { stop: step, descendantsSignalled, restarts: governor.generation };
    },
  });

  // The governor keeps a server running; the session it serves is carried across its restarts here.
  const recovery = createSessionRecovery({ logger });
  const governor = createGovernor({
    executable: context.executable,
    argv: config.argv,
    pin: context.executablePin,
    env: childEnvironment(context.env, { ...config.childEnv, account: context.serverAccount }),
    account: context.serverAccount,
    maxFrameBytes: config.maxFrameBytes,
    flushOn: context.serverFlushOn,
    restart: config.restart,
    stop: config,
    logger,
    onFatal: (fatal) => void lifecycle.finish(exitCodeFor(fatal), fatal.reason, false),
    onEvent: context.onGovernorEvent,
    // Once the client is gone there is nobody to serve: a server that exits then stays down.
    shouldRestart: () => !lifecycle.isFinishing(),
    onServerStart: recovery.onServerStart,
    clock: context.clock,
    random: context.random,
    spawn: firstRunFromPool(context.takeWarmServer, context.spawn, logger),
  });
  const breaker = context.breakers?.forSession(logger);
  if (breaker !== undefined) void lifecycle.done.then(() => context.breakers!.release(breaker));
  const pump = lifecycle.startPump({
    server: recovery.wrap(governor.channel),
    requestTimeoutMs: config.requestTimeoutMs,
    breaker,
    observer: combineObservers(context.observers(identity, () => governor.generation)),
    identity,
    // CEL `server`: the executable as admitted, never the server's own claim (serverInfo).
    serverName: basename(context.executable),
  });

  return { governor, pump, breaker, stop: lifecycle.stop, done: lifecycle.done };
}

/** The governor's spawn: the first run takes a warm server when one waits, every other spawns. */
function firstRunFromPool(take: (() => Upstream | undefined) | undefined, ownSpawn: typeof spawnUpstream | undefined, logger: Logger): typeof spawnUpstream | undefined {
  if (take === undefined) return ownSpawn;
  const spawn = ownSpawn ?? spawnUpstream;
  let firstRun = true;
  return (argv, options) => {
    const warm = firstRun ? take() : undefined;
    firstRun = false;
    if (warm === undefined) return spawn(argv, options);
    logger.debug({ pid: warm.pid }, 'the session runs a warm server');
    return warm;
  };
}

function exitCodeFor(fatal: GovernorFatal): ExitCode {
  if (fatal.exitCode === 69) return EXIT_CODES.UPSTREAM_UNAVAILABLE;
  if (fatal.exitCode === 78) return EXIT_CODES.CONFIG;
  return EXIT_CODES.UPSTREAM_FAILED;
}

/** A service of the gateway as admitted at start: its settings, the executable the allowlist resolved, its account. */
export interface AdmittedService {
  readonly settings: GatewayServiceSettings;
  readonly executable: string;
  readonly account: ServerAccount | undefined;
}

/** The gateway channel as this session uses it (components/gateway `createGatewayChannel`). */
export type GatewayChannelFactory = (options: {
  readonly services: ReadonlyArray<{ readonly name: string; readonly channel: FrameChannel }>;
  readonly separator: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly serverInfo: { readonly name: string; readonly version: string };
}) => FrameChannel & Partial<GatewayRoutes> & {
  serviceDown(name: string, reason: string): void;
  /** A service's restarted server answered the replayed initialize (session recovery): a left-out one joins. */
  serviceRecovered?(name: string, result: Record<string, unknown>, listChangedSent: readonly string[]): void;
  correlationOf?(clientId: string): string | undefined;
};

export interface GatewaySession {
  /** Each service's governor, by namespace. */
  readonly services: ReadonlyMap<string, Governor>;
  readonly pump: Pump;
  /** Starts the stop sequence (drain, then every service's, in parallel); a second call skips the waits. */
  stop(reason: string): Promise<ExitCode>;
  readonly done: Promise<ExitCode>;
}

export interface GatewaySessionOptions {
  readonly services: readonly AdmittedService[];
  readonly separator: string;
  readonly createGateway: GatewayChannelFactory;
  /** The gateway's own serverInfo (the client's initialize is answered once, from the merge). */
  readonly serverInfo: { readonly name: string; readonly version: string };
}

/**
 * One client in front of many services (--servers, docs/gateway.md): each service has its own
 * governor (restarts, backoff, kill timeout, environment, account) and its own session recovery,
 * and the pump's server side is the gateway channel over all of them. A service whose governor
 * gives up is marked down in the gateway (its namespace answers errors) and the session goes on;
 * it ends when the client goes, or when every service is down (nothing is left to serve).
 */
export function startGatewaySession(context: SessionContext, gatewayOptions: GatewaySessionOptions, client: FrameChannel, identity?: Identity, stoppedMessage = 'session stopped'): GatewaySession {
  const { config, logger } = context;
  const governors = new Map<string, Governor>();
  const down = new Set<string>();
  const lifecycle = createSessionLifecycle(context, client, {
    stoppedMessage,
    serversNoun: 'the servers',
    stopServers: async (hurried) => {
      // Every service's stop sequence at once: the slowest sets the pace, not their sum.
      const stopped = await Promise.all([...governors].map(async ([name, governor]) => ({ name, outcome: await governor.stop(hurried) })));
      for (const { name, outcome: { survivors } } of stopped) {
        if (survivors > 0) logger.error({ service: name, survivors }, 'processes of the server\'s tree survived SIGKILL');
      }
      return { services: Object.fromEntries(stopped.map(({ name, outcome: { step } }) => [name, { stop: step, restarts: governors.get(name)!.generation, down: down.has(name) }])) };
    },
  });

  let gateway: ReturnType<GatewayChannelFactory> | undefined;
  // A governor that gives up before the gateway exists (it cannot today: no pin, spawn errors come
  // later) is told to the gateway once it does.
  const downBeforeGateway: Array<[string, string]> = [];
  // Each service's deadline and circuit breaker (docs/gateway.md, Failures): one service's failures fail only its namespace.
  const guards = new Map<string, GuardedServiceChannel>();

  const serviceDown = (name: string, fatal: GovernorFatal): void => {
    if (down.has(name)) return;
    down.add(name);
    logger.error({ service: name, exitCode: fatal.exitCode, reason: fatal.reason }, 'a service is down: its namespace answers errors, the others go on');
    if (gateway === undefined) downBeforeGateway.push([name, fatal.reason]);
    else gateway.serviceDown(name, fatal.reason);
    guards.get(name)?.serviceDown();
    if (down.size === gatewayOptions.services.length) void lifecycle.finish(exitCodeFor(fatal), `every service is down (the last: ${name}, ${fatal.reason})`, false);
  };

  const takeWarm = context.takeWarmService;
  const services = gatewayOptions.services.map(({ settings, executable, account }) => {
    const serviceLogger = logger.child({ service: settings.name });
    const recovery = createSessionRecovery({
      logger: serviceLogger,
      // A service the client's handshake left out joins once its restarted server answers it (docs/gateway.md).
      onRecovered: ({ result, listChangedSent }) => gateway?.serviceRecovered?.(settings.name, result, listChangedSent),
    });
    const governor = createGovernor({
      executable,
      argv: settings.argv,
      env: childEnvironment(context.env, { ...settings.childEnv, account }),
      account,
      maxFrameBytes: config.maxFrameBytes,
      flushOn: context.serverFlushOn,
      restart: settings.restart,
      stop: { stdinCloseGraceMs: config.stdinCloseGraceMs, killTimeoutMs: settings.killTimeoutMs },
      logger: serviceLogger,
      onFatal: (fatal) => serviceDown(settings.name, fatal),
      onEvent: context.onGovernorEvent === undefined ? undefined : (event) => context.onGovernorEvent!(event, settings.name),
      shouldRestart: () => !lifecycle.isFinishing(),
      onServerStart: recovery.onServerStart,
      clock: context.clock,
      random: context.random,
      // Its first run takes a warm server of this service's pool when one waits (--http, `warm`).
      spawn: firstRunFromPool(takeWarm === undefined ? undefined : () => takeWarm(settings.name), context.spawn, serviceLogger),
    });
    governors.set(settings.name, governor);
    const channel = recovery.wrap(governor.channel);
    const breaker = context.breakers?.forSession(serviceLogger);
    if (breaker !== undefined) void lifecycle.done.then(() => context.breakers!.release(breaker));
    if (!needsServiceGuards(settings.requestTimeoutMs, breaker)) return { name: settings.name, channel };
    const guarded = guardServiceChannel({
      name: settings.name, channel, clock: context.clock, logger: serviceLogger, requestTimeoutMs: settings.requestTimeoutMs,
      resetsOnProgress: config.requestTimeoutResetsOnProgress, breaker,
    });
    guards.set(settings.name, guarded);
    return { name: settings.name, channel: guarded };
  });
  gateway = gatewayOptions.createGateway({ services, separator: gatewayOptions.separator, logger, clock: context.clock, serverInfo: gatewayOptions.serverInfo });
  for (const [name, reason] of downBeforeGateway.splice(0)) gateway.serviceDown(name, reason);

  const pump = lifecycle.startPump({
    server: gateway,
    // Deadlines are each service's (its guards: timeouts.requestMs, else this flag), not the session's.
    requestTimeoutMs: undefined,
    // No session-wide breaker: each service has its own (its guards), so one service's failures never fail the others.
    breaker: undefined,
    observer: withCorrelation(combineObservers(context.observers(identity, () => sumOf(governors.values(), (governor) => governor.generation))), gateway),
    identity,
    // Rules see the service each frame belongs to (`server:`, CEL `server`), the gateway's name for the others.
    // What the gateway routes by its state (resource URIs, cancellations, the services' own frames), the gateway itself tells.
    serverName: createNamespaceResolver(gatewayOptions.separator, services.map((service) => service.name), GATEWAY_SERVER_NAME, gateway),
  });

  return { services: governors, pump, stop: lifecycle.stop, done: lifecycle.done };
}

/**
 * Each request's end with the id its service received it under (reports' `correlationId`), or a
 * fan-out's ids by service (`correlationIds`), read from the gateway as the request ends (it ends
 * while the gateway settles the call or answers the fan-out). Set on the end the pump made for
 * this call (a fresh object it does not keep), not on a copy: this runs once per request.
 * Gateway mode only: the one-server proxy's observers are not wrapped.
 */
function withCorrelation(
  observer: PumpObserver | undefined,
  gateway: { correlationOf?(clientId: string): string | undefined; correlationsOf?(clientId: string): Readonly<Record<string, string>> | undefined },
): PumpObserver | undefined {
  const correlationOf = gateway.correlationOf?.bind(gateway);
  const correlationsOf = gateway.correlationsOf?.bind(gateway);
  if (observer === undefined || correlationOf === undefined) return observer;
  return {
    ...observer,
    onRequestEnd(end) {
      const clientId = end.request.id;
      if (clientId !== undefined && end.request.direction === 'client-to-server') {
        const correlationId = correlationOf(clientId);
        if (correlationId !== undefined) end.correlationId = correlationId;
        else if (correlationsOf !== undefined) {
          const correlationIds = correlationsOf(clientId);
          if (correlationIds !== undefined) end.correlationIds = correlationIds;
        }
      }
      return observer.onRequestEnd(end);
    },
  };
}


function sumOf<T>(items: Iterable<T>, value: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += value(item);
  return total;
}
