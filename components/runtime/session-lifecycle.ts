/**
 * The life cycle every proxy session shares, whether one server (`startSession`) or many services
 * behind the gateway (`startGatewaySession`) sit on the pump's server side: the pump and its
 * events, the stop sequence (refuse, drain, stop the servers, fail what is left, close), a second
 * stop that hurries it, the done promise and the policy-change subscription.
 */
import type { Logger } from '../logging/index.js';
import { createPump, type DecisionEvent, type Pump, type PumpOptions } from '../pump/index.js';
import type { FrameChannel } from '../transport/index.js';
import { EXIT_CODES, type ExitCode } from './exit-codes.js';
import type { SessionContext } from './session.js';

/** What differs between the two kinds of session, given once their servers exist. */
export type LifecyclePumpOptions = Pick<PumpOptions, 'server' | 'requestTimeoutMs' | 'breaker' | 'observer' | 'serverName' | 'identity'>;

export interface SessionLifecycleOptions {
  /** The log line at the end ('proxy stopped' for the one stdio session). */
  readonly stoppedMessage: string;
  /** Who is stopped, in the log and error texts: 'the server' or 'the servers'. */
  readonly serversNoun: string;
  /**
   * Stops the session's servers (a resolved `hurried` skips their waits) and logs what survived;
   * resolves with the fields the final log line reports about them.
   */
  readonly stopServers: (hurried: Promise<void>) => Promise<Readonly<Record<string, unknown>>>;
}

export interface SessionLifecycle {
  /** Resolves with the exit code once the session has finished. */
  readonly done: Promise<ExitCode>;
  /** Whether the stop sequence has begun: once it has, a server that exits stays down. */
  isFinishing(): boolean;
  /** Starts the stop sequence once (later calls return the same promise). */
  finish(code: ExitCode, reason: string, drain: boolean): Promise<ExitCode>;
  /** Starts the stop sequence, draining first; a second call skips the waits. */
  stop(reason: string): Promise<ExitCode>;
  /** Creates the session's pump (once, after its servers) and follows policy reloads until the session ends. */
  startPump(options: LifecyclePumpOptions): Pump;
}

/** `client` is wrapped here with the context's `holdAnswers` (reports), so callers pass it as received. */
export function createSessionLifecycle(context: SessionContext, client: FrameChannel, options: SessionLifecycleOptions): SessionLifecycle {
  const { config, logger, policy } = context;
  const { stoppedMessage, serversNoun, stopServers } = options;
  client = context.holdAnswers?.(client) ?? client;
  let finishing: Promise<ExitCode> | undefined;
  // A second request to stop (e.g. the client's SIGTERM after its stdin EOF, as the MCP SDK
  // sends 2 s later, followed by SIGKILL 2 s after that) skips the remaining waits.
  let hurry!: () => void;
  const hurried = new Promise<void>((resolve) => (hurry = resolve));
  let resolveDone!: (code: ExitCode) => void;
  const done = new Promise<ExitCode>((resolve) => (resolveDone = resolve));
  let clientGone = false;
  let pump: Pump | undefined;

  function startPump(pumpOptions: LifecyclePumpOptions): Pump {
    if (pump !== undefined) throw new Error('the session\'s pump is already started');
    const started = createPump({
      ...pumpOptions,
      client,
      logger,
      events: {
        onClientEnd: () => void stop('the client closed its input'),
        onClientGone: (error) => {
          clientGone = true;
          void finish(EXIT_CODES.OK, `the client went away (${error.message})`, false);
        },
        onServerEnd: () => {},
        onDecisions: (event) => logDecisions(logger, event),
      },
      policy,
      clock: context.clock,
      requestTimeoutResetsOnProgress: config.requestTimeoutResetsOnProgress,
    });
    pump = started;
    // A reload may change what lists show: the client hears list_changed for what it listed, until the session ends.
    if (policy !== undefined) void done.then(policy.onChange(() => started.policyChanged()));
    return started;
  }

  function finish(code: ExitCode, reason: string, drain: boolean): Promise<ExitCode> {
    finishing ??= (async () => {
      if (pump === undefined) throw new Error('the session stopped before its pump started');
      pump.refuseNewRequests(code === EXIT_CODES.OK ? 'SIDECAR_ERR_SHUTTING_DOWN' : 'SIDECAR_ERR_UPSTREAM_EXITED', reason);
      if (drain) await Promise.race([pump.whenIdle(config.drainTimeoutMs), hurried]);
      // What is still pending now was not answered in time (or its client is gone).
      const outcome = clientGone ? 'client_gone' : code !== EXIT_CODES.OK ? 'upstream_exited' : 'timeout';
      const servers = await stopServers(hurried);
      pump.failPending('SIDECAR_ERR_UPSTREAM_EXITED', code === EXIT_CODES.OK ? `the proxy stopped ${serversNoun}` : reason, outcome);
      await pump.flushClient();
      client.close();
      logger.info({ reason, ...servers, exitCode: code, ...pump.stats }, stoppedMessage);
      return code;
    })();
    void finishing.then(resolveDone);
    return finishing;
  }

  function stop(reason: string): Promise<ExitCode> {
    if (finishing) {
      logger.info({ reason }, `asked to stop again: no more waiting for in-flight requests or ${serversNoun}`);
      hurry();
    }
    return finish(EXIT_CODES.OK, reason, true);
  }

  return { done, isFinishing: () => finishing !== undefined, finish, stop, startPump };
}

/** Logs what rules did or would have done. */
function logDecisions(logger: Logger, event: DecisionEvent): void {
  for (const decision of event.decisions) {
    const verb = decision.effect === 'deny' ? (decision.enforced ? 'denied' : 'would deny') : (decision.enforced ? 'rewrote' : 'would rewrite');
    logger.info({
      ruleId: decision.ruleId, kind: decision.kind, effect: decision.effect, enforced: decision.enforced, reason: decision.reason,
      direction: event.direction, phase: event.phase, method: event.method, id: event.id, ...(decision.changes === undefined ? {} : { changes: decision.changes }),
    }, `policy ${verb} ${event.method}`);
  }
}
