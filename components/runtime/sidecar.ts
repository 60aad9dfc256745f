import type { Readable, Writable } from 'node:stream';
import { createUpstreamBreakers } from '../circuit-breaker/index.js';
import type { SidecarConfig } from '../config/index.js';
import { SidecarError } from '../errors/index.js';
import { createLogger, type Logger } from '../logging/index.js';
import {
  checkLaunch, childEnvironment, prepareServerAccount, spawnUpstream, systemClock, type AccountSystem, type Clock, type ExecutablePin, type Governor, type GovernorEvent, type ProxySecretFile,
  type RestartPolicy, type ServerAccount, type StopTimeouts,
} from '../proxy-process-governor/index.js';
import type { PumpObserver } from '../pump/index.js';
import { createNdjsonChannel } from '../transport/index.js';
import { EXIT_CODES, type ExitCode } from './exit-codes.js';
import type { ReloadablePolicy } from './policy-holder.js';
import type { Reporting } from './reporting.js';
import { startGatewaySession, startSession, type AdmittedService, type GatewayChannelFactory, type GatewaySessionOptions, type Session, type SessionContext } from './session.js';
import type { WarmPool } from '../warm-pool/index.js';

/** The client side: in --stdio mode, the proxy's own stdin and stdout. */
export interface SidecarIo {
  readonly input: Readable;
  readonly output: Writable;
}

export interface SidecarDeps {
  readonly logger?: Logger;
  /** The proxy's environment: where PATH and pass-through variables are read. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly spawn?: typeof spawnUpstream;
  /** Every timer of the proxy runs on this one clock (tests drive it). Default: the system's. */
  readonly clock?: Clock;
  readonly random?: () => number;
  /** The version /version reports. */
  readonly version?: string;
  /** Where --server-user names, capabilities and file modes are read. Default: this system. */
  readonly accounts?: AccountSystem;
  /** --servers: the gateway channel over the services. Default: components/gateway's (loaded only then). */
  readonly createGateway?: GatewayChannelFactory;
}

export interface SidecarHandle {
  /** Starts the stop sequence; a second call skips the remaining waits. Resolves with the exit code. */
  stop(reason: string): Promise<ExitCode>;
  /** Resolves with the exit code once the proxy has finished. */
  readonly done: Promise<ExitCode>;
  /** The server of the stdio session; undefined over HTTP (one per session there). */
  readonly governor: Governor | undefined;
  /** --servers over stdio: each service's governor, by namespace; undefined otherwise. */
  readonly services?: ReadonlyMap<string, Governor> | undefined;
  /** The policy in force, if a file was given; `reload` on SIGHUP. */
  readonly policy: ReloadablePolicy | undefined;
  /** Where the HTTP and admin endpoints listen (port 0 in the config picks a free one). */
  readonly addresses: { readonly http?: { host: string; port: number }; readonly admin?: { host: string; port: number } };
}

/**
 * Checks the server command against the allowlist, or throws the refusal (exit 78; 69 when the
 * executable does not exist). Nothing is started before this passes. The pin, when a sha256 is
 * configured, goes to every governor: each spawn checks the executable again.
 */
function admit(config: SidecarConfig, deps: SidecarDeps, logger: Logger, reporting: Reporting | undefined): { executable: string; pin: ExecutablePin | undefined; account: ServerAccount | undefined } {
  const env = deps.env ?? process.env;
  const decision = checkLaunch(config.argv, config.allow, { cwd: deps.cwd ?? process.cwd(), pathVariable: env.PATH, executableSha256: config.executableSha256 });
  if (decision.allowed) {
    logger.debug({ rule: decision.rule, executable: decision.executable }, 'the allowlist admits the server command');
    return { executable: decision.executable, pin: decision.pin, account: admitAccount(config, deps, logger, reporting) };
  }
  const code = decision.reason === 'not_found' ? 'SIDECAR_ERR_UPSTREAM_SPAWN' : 'SIDECAR_ERR_GOVERNOR_NOT_ALLOWED';
  logger.error({ code, reason: decision.reason }, decision.message);
  reporting?.refused(decision.reason);
  throw new SidecarError(code, decision.message);
}

/**
 * --server-user: the account, the proxy's right to switch to it and stop it, and that the
 * proxy's secret files are not readable by it; or the refusal (exit 78). Never the same user
 * silently.
 */
function admitAccount(config: SidecarConfig, deps: SidecarDeps, logger: Logger, reporting: Reporting | undefined, settings = config.serverAccount): ServerAccount | undefined {
  if (settings === undefined) return undefined;
  const secrets: ProxySecretFile[] = [];
  if (config.reports?.signingKeyFile !== undefined) secrets.push({ path: config.reports.signingKeyFile, setting: '--report-signing-key' });
  if (config.auth?.kind === 'token') secrets.push({ path: config.auth.tokenFile, setting: '--auth-token-file' });
  try {
    const account = prepareServerAccount(settings, secrets, deps.accounts);
    logger.info({ user: account.user, uid: account.uid, group: account.group, gid: account.gid }, 'the MCP server runs as its own user');
    return account;
  } catch (error) {
    logger.error({ code: (error as SidecarError).code, reason: 'server_user' }, (error as Error).message);
    reporting?.refused('server_user');
    throw error;
  }
}

// Wires the proxy: the policy, reports, the admitted server command, then either one stdio
// session or the HTTP endpoint with a session per MCP session. Each optional part (policy
// engine, reports, HTTP, metrics) is loaded only when configured.
export async function startSidecar(config: SidecarConfig, io: SidecarIo, deps: SidecarDeps = {}): Promise<SidecarHandle> {
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  const clock = deps.clock ?? systemClock;
  const closers: Array<() => unknown> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    // Fleet-wide rate limits (--redis-url): the store `store: redis` rules lease from, set before
    // the policy compiles; the Redis client loads only then.
    if (config.redisUrl !== undefined) {
      const { connectRedisLeaseStore, setFleetLeaseStore } = await import('../rate-limit-store/index.js');
      const leaseStore = await connectRedisLeaseStore(config.redisUrl, { logger });
      setFleetLeaseStore(leaseStore);
      closers.push(async () => {
        setFleetLeaseStore(undefined);
        await leaseStore.close();
      });
    }
    // Without a policy file the engine is never loaded: frames pass untouched, at no cost.
    // --tool-pins without a policy file: a built-in policy of the pins rule alone.
    // --policy-url: signed bundles from a control plane, the --policy file as the fallback.
    const policy = config.policy === undefined && config.toolPins === undefined && config.policyBundle === undefined
      ? undefined
      : await (await import('./policy-holder.js')).createPolicyHolder(config.policy, config.modeOverride, logger, clock, config.toolPins, config.policyBundle);
    if (policy !== undefined) closers.push(() => policy.close());
    // Reports and the transcript open before anything starts: a refusal is reported too.
    const reporting = config.reports === undefined && config.record === undefined
      ? undefined
      : await (await import('./reporting.js')).openReporting(config, { policy: () => policy?.current, logger, clock });
    if (reporting !== undefined) closers.push(() => reporting.close());
    // Traces (--otlp-traces): the OpenTelemetry SDK loads only when configured; closed (its last spans exported) before the reports.
    const tracing = config.traces === undefined ? undefined : (await import('../tracing/index.js')).startTracing(config.traces, { logger, clock, version: deps.version, transport: config.transport });
    if (tracing !== undefined) closers.push(() => tracing.close());
    // --servers: every service is admitted before any starts; there is no one server then.
    const { executable, pin: executablePin, account: serverAccount } = config.gateway === undefined ? admit(config, deps, logger, reporting) : NO_SINGLE_SERVER;
    const gateway = config.gateway === undefined ? undefined : await admitGateway(config, deps, logger, reporting);

    // Circuit breakers: one per session (each has its own server), so one session's failures never reach another.
    const breakers = config.circuit === undefined ? undefined : createUpstreamBreakers(config.circuit, clock);
    // The admin endpoint, before any server starts: a port in use stops the proxy at start.
    // What /readyz reads: set below (over stdio, the server's and its session's breaker's).
    let readiness: () => { ready: boolean; reason?: string } = () => ({ ready: false, reason: 'the proxy is starting' });
    const admin = config.admin === undefined ? undefined : await startAdmin(config, logger, deps.version ?? 'unknown', () => readiness(), policy, reporting);
    if (admin !== undefined) closers.unshift(() => admin.endpoint.close()); // closed last: /readyz says 503 while the rest stops
    admin?.metrics.watchCircuitBreakers(() => breakers);
    admin?.metrics.watchTraceExport(() => tracing?.exportStats);

    const observers: Array<(identity: Parameters<SessionContext['observers']>[0], generation: () => number) => PumpObserver[]> = [];
    const eventSinks: Array<(event: GovernorEvent, server?: string) => void> = [];
    if (reporting !== undefined) {
      observers.push((identity, generation) => reporting.observers(identity, generation));
      eventSinks.push(reporting.lifecycle);
    }
    if (admin !== undefined) observers.push(() => [admin.metrics.observer as PumpObserver]);
    if (tracing !== undefined) {
      observers.push(() => [tracing.observer as PumpObserver]);
      eventSinks.push(tracing.observer.lifecycle);
    }
    const context: SessionContext = {
      config,
      executable,
      executablePin,
      serverAccount,
      logger,
      policy,
      observers: (identity, generation) => observers.flatMap((make) => make(identity, generation)),
      onGovernorEvent: eventSinks.length === 0 ? undefined : (event, server) => eventSinks.forEach((sink) => sink(event, server)),
      env: deps.env ?? process.env,
      clock,
      random: deps.random,
      spawn: deps.spawn,
      breakers,
      holdAnswers: reporting?.holdAnswers,
    };

    if (config.transport === 'http') return await serveHttp(context, closeAll, policy, admin, (ready) => (readiness = ready), gateway);
    if (gateway !== undefined) return await serveGatewayOverStdio(context, gateway, io, closeAll, policy, admin, (ready) => (readiness = ready));

    const session = startSession(context, createNdjsonChannel(io.input, io.output, { maxFrameBytes: config.maxFrameBytes }), undefined, 'proxy stopped');
    if (admin !== undefined) {
      admin.metrics.trackUpstream(session.governor);
      const { circuitReadiness, combineReadiness, upstreamReadiness } = await import('../admin-endpoint/index.js');
      // The one session is the whole proxy: while its breaker is open, the pod serves nothing.
      const { breaker } = session;
      readiness = breaker === undefined
        ? () => upstreamReadiness(session.governor.state)
        : combineReadiness(() => upstreamReadiness(session.governor.state), () => circuitReadiness(breaker));
    }
    const done = session.done.then(async (code) => {
      await closeAll();
      return code;
    });
    return { stop: (reason) => session.stop(reason).then(() => done), done, governor: session.governor, policy, addresses: { admin: admin?.endpoint.address } };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Metrics and the admin endpoint (--admin): loaded only when asked for, so without it the frame path carries no metrics. */
async function startAdmin(config: SidecarConfig, logger: Logger, version: string, readiness: () => { ready: boolean; reason?: string }, policy: ReloadablePolicy | undefined, reporting: Reporting | undefined) {
  const [{ createMetrics }, { startAdminEndpoint }] = await Promise.all([import('../metrics/index.js'), import('../admin-endpoint/index.js')]);
  const metrics = createMetrics();
  metrics.watchPolicy(() => policy?.current);
  metrics.watchPolicyBundle(() => policy?.bundle?.status());
  // The pins rule counts its mismatches; its module is loaded only when a policy uses it.
  if (config.toolPins !== undefined || policy?.current.rules.some((rule) => rule.kind === 'pins') === true) {
    const { pinMismatchCounts } = await import('../policy/rules/pins.js');
    metrics.watchPinMismatches(pinMismatchCounts);
  }
  metrics.watchReportSink(() => reporting?.sinkStats);
  metrics.watchReportExport(() => reporting?.exportStats);
  metrics.watchTranscript(() => reporting?.transcriptStats);
  // A bundle's state shows in /readyz's body; a control-plane outage never makes the pod unready.
  const { policyReadiness } = await import('../admin-endpoint/index.js');
  const policyState = (): string | undefined => {
    const bundle = policy?.bundle;
    return bundle === undefined ? undefined : policyReadiness(bundle.status()).policy;
  };
  const endpoint = await startAdminEndpoint({ listen: config.admin!, metrics, readiness, policyState, version, logger });
  return { metrics, endpoint };
}

/**
 * --http: Streamable HTTP at /mcp, a session (a governed server and its pump) per MCP session
 * and one per caller for the stateless era. The proxy runs until it is asked to stop.
 */
async function serveHttp(
  context: SessionContext, closeAll: () => Promise<void>, policy: ReloadablePolicy | undefined, admin: Awaited<ReturnType<typeof startAdmin>> | undefined,
  setReadiness: (readiness: () => { ready: boolean; reason?: string }) => void, gateway?: GatewaySessionOptions,
): Promise<SidecarHandle> {
  const { config, logger } = context;
  const [{ startHttpNorthbound }, auth] = await Promise.all([
    import('../http-northbound/index.js'), config.auth === undefined ? undefined : import('../http-auth/index.js'),
  ]);
  const authenticate = auth === undefined ? undefined : await auth.createAuthenticator(config.auth!, { logger });
  const sessions = new Set<Pick<Session, 'stop'>>();
  let pool: WarmPool | undefined;
  // --servers: a pool per service that has warm servers, by namespace.
  const servicePools = new Map<string, WarmPool>();
  const northbound = await startHttpNorthbound({
    settings: config.http!,
    maxFrameBytes: config.maxFrameBytes,
    authenticate,
    logger,
    clock: context.clock,
    async openSession(client, info) {
      // Each session's logs say which session they are about.
      // A session's server that comes up tells a warm pool that gave up on dying servers to try again.
      const onGovernorEvent = (event: GovernorEvent): void => {
        context.onGovernorEvent?.(event);
        if (event.event === 'ready') pool?.resume();
      };
      if (gateway !== undefined) {
        // --servers: each MCP session has its own gateway, with a governor per service, each
        // service's first server taken from its pool when one waits.
        const onServiceEvent = (event: GovernorEvent, service?: string): void => {
          context.onGovernorEvent?.(event, service);
          if (event.event === 'ready' && service !== undefined) servicePools.get(service)?.resume();
        };
        const session = startGatewaySession({
          ...context, logger: logger.child({ session: info.sessionId ?? 'stateless' }), serverFlushOn: 'turn', onGovernorEvent: onServiceEvent,
          takeWarmService: (service) => servicePools.get(service)?.take(),
        }, gateway, client, info.identity);
        sessions.add(session);
        const untrack = [...session.services.values()].map((governor) => admin?.metrics.trackUpstream(governor));
        void session.done.then(() => {
          sessions.delete(session);
          for (const release of untrack) release?.();
          for (const servicePool of servicePools.values()) servicePool.refill(); // its servers are gone: the budgets may have room again
        });
        return { close: (reason) => session.stop(reason).then(() => undefined), closed: session.done.then(() => undefined), busyUntil: () => session.pump.busyUntil() };
      }
      const session = startSession({ ...context, logger: logger.child({ session: info.sessionId ?? 'stateless' }), takeWarmServer: pool?.take, serverFlushOn: 'turn', onGovernorEvent }, client, info.identity);
      sessions.add(session);
      const untrack = admin?.metrics.trackUpstream(session.governor);
      void session.done.then(() => {
        sessions.delete(session);
        untrack?.();
        pool?.refill(); // its server is gone: the budget may have room again
      });
      return { close: (reason) => session.stop(reason).then(() => undefined), closed: session.done.then(() => undefined), busyUntil: () => session.pump.busyUntil() };
    },
  });
  admin?.metrics.watchHttpSessions(() => northbound.sessionCount + northbound.statelessCount);
  admin?.metrics.watchHttpEvictions(() => northbound.evictedCount);
  // --servers: the services' pools summed (one series, as with --proxy; each pool logs its own service).
  admin?.metrics.watchWarmServers(() => (pool?.waitingPids.length ?? 0) + sumWaiting(servicePools.values()));
  if (gateway === undefined) pool = await startPool(context, () => sessions.size);
  else for (const [name, servicePool] of await startServicePools(context, gateway, () => sessions.size)) servicePools.set(name, servicePool);
  logger.info({
    address: northbound.address, path: config.http!.path, maxSessions: config.http!.maxSessions, idleTimeoutMs: config.http!.idleTimeoutMs, statelessLingerMs: config.http!.statelessLingerMs,
  }, 'serving MCP over Streamable HTTP');
  let stopping: Promise<ExitCode> | undefined;
  // A session's open circuit breaker is that session's alone: it never makes the pod unready,
  // or one caller's failing server would turn every new caller away.
  setReadiness(() => (stopping === undefined ? { ready: true } : { ready: false, reason: 'the proxy is stopping' }));
  let resolveDone!: (code: ExitCode) => void;
  const done = new Promise<ExitCode>((resolve) => (resolveDone = resolve));
  let hurry!: () => void;
  const hurried = new Promise<void>((resolve) => (hurry = resolve));
  const stop = (reason: string): Promise<ExitCode> => {
    if (stopping !== undefined) {
      // Asked again: every session skips its remaining waits.
      for (const session of sessions) void session.stop(reason);
      hurry();
      return stopping;
    }
    // The waiting servers stop alongside the sessions' (a second stop hurries them too).
    stopping = Promise.all([northbound.close(reason), pool?.stop(hurried), ...[...servicePools.values()].map((servicePool) => servicePool.stop(hurried))]).then(closeAll).then(() => {
      logger.info({ reason }, 'proxy stopped');
      return EXIT_CODES.OK;
    });
    void stopping.then(resolveDone);
    return stopping;
  };
  return { stop, done, governor: undefined, policy, addresses: { http: northbound.address, admin: admin?.endpoint.address } };
}

/**
 * --warm-servers: n servers spawned as a session's governor would spawn them, waiting for new
 * sessions. The process budget is --http-max-sessions + n: the pool fills only while its servers
 * and the sessions' together stay within it, so at the cap with n waiting nothing more starts.
 */
async function startPool(context: SessionContext, sessionServers: () => number): Promise<WarmPool | undefined> {
  const { config, logger } = context;
  const size = config.http?.warmServers ?? 0;
  if (size === 0) return undefined;
  return warmPoolOf(context, {
    size, argv: config.argv, childEnv: config.childEnv, executable: context.executable, account: context.serverAccount, pin: context.executablePin,
    restart: config.restart, stop: config, logger,
  }, sessionServers);
}

/**
 * --servers over HTTP: a pool per service whose `warm` (default --warm-servers) is above 0, each
 * spawning as that service's governor would (its command, environment, account, backoff, kill
 * timeout). Every gateway session holds one server of each service, so each service's budget is
 * --http-max-sessions + its own `warm`, counted against the sessions alone.
 */
async function startServicePools(context: SessionContext, gateway: GatewaySessionOptions, sessionServers: () => number): Promise<Map<string, WarmPool>> {
  const pools = new Map<string, WarmPool>();
  for (const { settings, executable, account } of gateway.services) {
    if (settings.warmServers === 0) continue;
    pools.set(settings.name, await warmPoolOf(context, {
      size: settings.warmServers, argv: settings.argv, childEnv: settings.childEnv, executable, account, pin: undefined,
      restart: settings.restart, stop: { stdinCloseGraceMs: context.config.stdinCloseGraceMs, killTimeoutMs: settings.killTimeoutMs },
      logger: context.logger.child({ service: settings.name }),
    }, sessionServers));
  }
  return pools;
}

/** One command's warm servers, as its governor would spawn them. */
interface PooledCommand {
  readonly size: number;
  readonly argv: readonly string[];
  readonly childEnv: SidecarConfig['childEnv'];
  readonly executable: string;
  readonly account: ServerAccount | undefined;
  readonly pin: ExecutablePin | undefined;
  readonly restart: RestartPolicy;
  readonly stop: StopTimeouts;
  readonly logger: Logger;
}

async function warmPoolOf(context: SessionContext, command: PooledCommand, sessionServers: () => number): Promise<WarmPool> {
  const { config } = context;
  const { size, restart, logger } = command;
  const { startWarmPool } = await import('../warm-pool/index.js');
  const env = childEnvironment(context.env, { ...command.childEnv, account: command.account });
  const spawn = context.spawn ?? spawnUpstream;
  const pool = startWarmPool({
    size,
    spawn: () => spawn(command.argv, { env, executable: command.executable, account: command.account }),
    pin: command.pin,
    sessionServers,
    maxProcesses: config.http!.maxSessions + size,
    readyTimeoutMs: config.http!.warmServerReadyTimeoutMs,
    backoff: { baseMs: restart.backoffBaseMs, maxMs: restart.backoffMaxMs, jitter: restart.backoffJitter, maxRestarts: restart.maxRestarts },
    stop: command.stop,
    logger: logger.child({ pool: 'warm' }),
    clock: context.clock,
    random: context.random,
  });
  logger.info({ warmServers: size, pids: pool.waitingPids }, 'warm servers are waiting for sessions');
  return pool;
}

function sumWaiting(pools: Iterable<WarmPool>): number {
  let total = 0;
  for (const pool of pools) total += pool.waiting;
  return total;
}

/** --servers: what `admit` returns for the one server there is not. */
const NO_SINGLE_SERVER = { executable: '', pin: undefined, account: undefined } as const;

/**
 * --servers: every service's command through the allowlist and its executable checks, and its
 * account, before any starts; the first refused stops the proxy (exit 78, 69 when not found),
 * its message naming the service. Then the gateway channel is loaded.
 */
async function admitGateway(config: SidecarConfig, deps: SidecarDeps, logger: Logger, reporting: Reporting | undefined): Promise<GatewaySessionOptions> {
  const env = deps.env ?? process.env;
  const accounts = new Map<string, ServerAccount | undefined>();
  const services = config.gateway!.services.map((settings): AdmittedService => {
    const decision = checkLaunch(settings.argv, config.allow, { cwd: deps.cwd ?? process.cwd(), pathVariable: env.PATH });
    if (!decision.allowed) {
      const code = decision.reason === 'not_found' ? 'SIDECAR_ERR_UPSTREAM_SPAWN' : 'SIDECAR_ERR_GOVERNOR_NOT_ALLOWED';
      const message = `service ${JSON.stringify(settings.name)} (${config.gateway!.source}): ${decision.message}`;
      logger.error({ code, reason: decision.reason, service: settings.name }, message);
      reporting?.refused(decision.reason);
      throw new SidecarError(code, message);
    }
    logger.debug({ service: settings.name, rule: decision.rule, executable: decision.executable }, 'the allowlist admits the service\'s command');
    // Services sharing an account share its checks.
    const key = settings.serverAccount === undefined ? '' : `${settings.serverAccount.user}:${settings.serverAccount.group ?? ''}`;
    if (!accounts.has(key)) accounts.set(key, admitAccount(config, deps, logger, reporting, settings.serverAccount));
    return { settings, executable: decision.executable, account: accounts.get(key) };
  });
  const createGateway = deps.createGateway ?? (await import('../gateway/index.js')).createGatewayChannel;
  return { services, separator: config.gateway!.separator, createGateway, serverInfo: { name: 'mcp-sidecar-gateway', version: deps.version ?? 'unknown' } };
}

/**
 * --servers over stdio: one gateway session for the proxy's life. /readyz is ready while any
 * service is (a service that is down fails only its namespace).
 */
async function serveGatewayOverStdio(
  context: SessionContext, gateway: GatewaySessionOptions, io: SidecarIo, closeAll: () => Promise<void>, policy: ReloadablePolicy | undefined,
  admin: Awaited<ReturnType<typeof startAdmin>> | undefined, setReadiness: (readiness: () => { ready: boolean; reason?: string }) => void,
): Promise<SidecarHandle> {
  const session = startGatewaySession(context, gateway, createNdjsonChannel(io.input, io.output, { maxFrameBytes: context.config.maxFrameBytes }), undefined, 'proxy stopped');
  if (admin !== undefined) {
    for (const governor of session.services.values()) admin.metrics.trackUpstream(governor);
    const { upstreamReadiness } = await import('../admin-endpoint/index.js');
    setReadiness(() => {
      const states = [...session.services].map(([name, governor]) => ({ name, readiness: upstreamReadiness(governor.state) }));
      if (states.some((state) => state.readiness.ready)) return { ready: true };
      return { ready: false, reason: `no service is ready (${states.map((state) => `${state.name}: ${state.readiness.reason ?? 'not ready'}`).join('; ')})` };
    });
  }
  const done = session.done.then(async (code) => {
    await closeAll();
    return code;
  });
  return { stop: (reason) => session.stop(reason).then(() => done), done, governor: undefined, services: session.services, policy, addresses: { admin: admin?.endpoint.address } };
}
