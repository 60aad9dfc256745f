import type { Readable, Writable } from 'node:stream';
import type { SidecarConfig } from '../config/index.js';
import { SidecarError } from '../errors/index.js';
import { createLogger, type Logger } from '../logging/index.js';
import { checkLaunch, childEnvironment, createGovernor, type Clock, type Governor, type GovernorFatal, type spawnUpstream } from '../proxy-process-governor/index.js';
import { createPump, type DecisionEvent } from '../pump/index.js';
import { createNdjsonChannel } from '../transport/index.js';
import { EXIT_CODES, type ExitCode } from './exit-codes.js';
import type { ReloadablePolicy } from './policy-holder.js';

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
  readonly clock?: Clock;
  readonly random?: () => number;
}

export interface SidecarHandle {
  /** Starts the stop sequence; a second call skips the remaining waits. Resolves with the exit code. */
  stop(reason: string): Promise<ExitCode>;
  /** Resolves with the exit code once the proxy has finished. */
  readonly done: Promise<ExitCode>;
  readonly governor: Governor;
  /** The policy in force, if a file was given; `reload` on SIGHUP. */
  readonly policy: ReloadablePolicy | undefined;
}

/**
 * Checks the server command against the allowlist, or throws the refusal (exit 78; 69 when the
 * executable does not exist). Nothing is started before this passes.
 */
function admit(config: SidecarConfig, deps: SidecarDeps, logger: Logger): { executable: string } {
  const env = deps.env ?? process.env;
  const decision = checkLaunch(config.argv, config.allow, { cwd: deps.cwd ?? process.cwd(), pathVariable: env.PATH, executableSha256: config.executableSha256 });
  if (decision.allowed) {
    logger.debug({ rule: decision.rule, executable: decision.executable }, 'the allowlist admits the server command');
    return { executable: decision.executable };
  }
  const code = decision.reason === 'not_found' ? 'SIDECAR_ERR_UPSTREAM_SPAWN' : 'SIDECAR_ERR_GOVERNOR_NOT_ALLOWED';
  logger.error({ code, reason: decision.reason }, decision.message);
  throw new SidecarError(code, decision.message);
}

// Wires one proxy session: the client channel, the governed server and the pump between them.
// Nothing is started before the command is admitted and the policy compiled.
export async function startSidecar(config: SidecarConfig, io: SidecarIo, deps: SidecarDeps = {}): Promise<SidecarHandle> {
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  const { executable } = admit(config, deps, logger);
  // Without a policy file the engine is never loaded: frames pass untouched, at no cost.
  const policy = config.policy === undefined ? undefined : await (await import('./policy-holder.js')).createPolicyHolder(config.policy, config.modeOverride, logger);

  let finishing: Promise<ExitCode> | undefined;
  // A second request to stop (e.g. the client's SIGTERM after its stdin EOF, as the MCP SDK
  // sends 2 s later, followed by SIGKILL 2 s after that) skips the remaining waits.
  let hurry!: () => void;
  const hurried = new Promise<void>((resolve) => (hurry = resolve));
  let resolveDone!: (code: ExitCode) => void;
  const done = new Promise<ExitCode>((resolve) => (resolveDone = resolve));

  const governor = createGovernor({
    executable,
    argv: config.argv,
    env: childEnvironment(deps.env ?? process.env, config.childEnv),
    maxFrameBytes: config.maxFrameBytes,
    restart: config.restart,
    stop: config,
    logger,
    onFatal: (fatal) => void finish(exitCodeFor(fatal), fatal.reason, false),
    // Once the client is gone there is nobody to serve: a server that exits then stays down.
    shouldRestart: () => finishing === undefined,
    clock: deps.clock,
    random: deps.random,
    spawn: deps.spawn,
  });
  const client = createNdjsonChannel(io.input, io.output, { maxFrameBytes: config.maxFrameBytes });
  const pump = createPump({
    client,
    server: governor.channel,
    logger,
    events: {
      onClientEnd: () => void stop('the client closed its input'),
      onClientGone: (error) => void finish(EXIT_CODES.OK, `the client went away (${error.message})`, false),
      onServerEnd: () => {},
      onDecisions: (event) => logDecisions(logger, event),
    },
    policy,
    now: deps.clock ? () => deps.clock!.now() : undefined,
  });

  function finish(code: ExitCode, reason: string, drain: boolean): Promise<ExitCode> {
    finishing ??= (async () => {
      pump.refuseNewRequests(code === EXIT_CODES.OK ? 'SIDECAR_ERR_SHUTTING_DOWN' : 'SIDECAR_ERR_UPSTREAM_EXITED', reason);
      if (drain) await Promise.race([pump.whenIdle(config.drainTimeoutMs), hurried]);
      const { step, descendantsSignalled, survivors } = await governor.stop(hurried);
      if (survivors > 0) logger.error({ survivors }, 'processes of the server\'s tree survived SIGKILL');
      pump.failPending('SIDECAR_ERR_UPSTREAM_EXITED', code === EXIT_CODES.OK ? 'the proxy stopped the server' : reason);
      await pump.flushClient();
      client.close();
      policy?.close();
      logger.info({ reason, stop: step, descendantsSignalled, restarts: governor.generation, exitCode: code, ...pump.stats }, 'proxy stopped');
      return code;
    })();
    void finishing.then(resolveDone);
    return finishing;
  }

  function stop(reason: string): Promise<ExitCode> {
    if (finishing) {
      logger.info({ reason }, 'asked to stop again: no more waiting for in-flight requests or the server');
      hurry();
    }
    return finish(EXIT_CODES.OK, reason, true);
  }

  return { stop, done, governor, policy };
}

/** Logs what rules did or would have done (reports take this over with the report issue). */
function logDecisions(logger: Logger, event: DecisionEvent): void {
  for (const decision of event.decisions) {
    const verb = decision.effect === 'deny' ? (decision.enforced ? 'denied' : 'would deny') : (decision.enforced ? 'rewrote' : 'would rewrite');
    logger.info({
      ruleId: decision.ruleId, kind: decision.kind, effect: decision.effect, enforced: decision.enforced, reason: decision.reason,
      direction: event.direction, phase: event.phase, method: event.method, id: event.id, ...(decision.changes === undefined ? {} : { changes: decision.changes }),
    }, `policy ${verb} ${event.method}`);
  }
}

function exitCodeFor(fatal: GovernorFatal): ExitCode {
  if (fatal.exitCode === 69) return EXIT_CODES.UPSTREAM_UNAVAILABLE;
  if (fatal.exitCode === 78) return EXIT_CODES.CONFIG;
  return EXIT_CODES.UPSTREAM_FAILED;
}
