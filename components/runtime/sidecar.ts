import type { Readable, Writable } from 'node:stream';
import type { SidecarConfig } from '../config/index.js';
import { createLogger, type Logger } from '../logging/index.js';
import { childEnvironment, spawnUpstream, stopUpstream, type Upstream, type UpstreamExit } from '../proxy-process-governor/index.js';
import { createPump } from '../pump/index.js';
import { createNdjsonChannel } from '../transport/index.js';
import { EXIT_CODES, type ExitCode } from './exit-codes.js';
import { relayServerStderr } from './server-stderr.js';

/** The client side: in --stdio mode, the proxy's own stdin and stdout. */
export interface SidecarIo {
  readonly input: Readable;
  readonly output: Writable;
}

export interface SidecarDeps {
  readonly logger?: Logger;
  readonly env?: NodeJS.ProcessEnv;
  readonly spawn?: typeof spawnUpstream;
}

export interface SidecarHandle {
  /** Starts the stop sequence (idempotent); resolves with the exit code. */
  stop(reason: string): Promise<ExitCode>;
  /** Resolves with the exit code once the proxy has finished. */
  readonly done: Promise<ExitCode>;
  readonly upstream: Upstream;
}

// How long to wait for the server's stdout to end after it exits: responses it wrote just
// before exiting are still in the pipe. A grandchild holding the pipe open must not stall us.
const STDOUT_SETTLE_MS = 500;

function describeExit(exit: UpstreamExit): string {
  if (exit.spawnError) return exit.spawnError.message;
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

function settle(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// Wires one proxy session: the client channel, the server process and the pump between them.
export function startSidecar(config: SidecarConfig, io: SidecarIo, deps: SidecarDeps = {}): SidecarHandle {
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  const upstream = (deps.spawn ?? spawnUpstream)(config.argv, { env: childEnvironment(deps.env ?? process.env) });
  logger.info({ pid: upstream.pid, executable: config.argv[0] }, 'started the MCP server');
  logger.debug({ argv: config.argv }, 'server argv');

  let resolveServerEnded!: () => void;
  const serverEnded = new Promise<void>((resolve) => (resolveServerEnded = resolve));
  const client = createNdjsonChannel(io.input, io.output, { maxFrameBytes: config.maxFrameBytes });
  const server = createNdjsonChannel(upstream.stdout, upstream.stdin, { maxFrameBytes: config.maxFrameBytes });
  relayServerStderr(upstream.stderr, logger);

  let finishing: Promise<ExitCode> | undefined;
  // A second request to stop (e.g. the client's SIGTERM after its stdin EOF, as the MCP SDK
  // sends 2 s later, followed by SIGKILL 2 s after that) skips the remaining waits.
  let hurry!: () => void;
  const hurried = new Promise<void>((resolve) => (hurry = resolve));
  let resolveDone!: (code: ExitCode) => void;
  const done = new Promise<ExitCode>((resolve) => (resolveDone = resolve));
  const pump = createPump({
    client,
    server,
    logger,
    events: {
      onClientEnd: () => void stop('the client closed its input'),
      onClientGone: (error) => void finish(EXIT_CODES.OK, `the client went away (${error.message})`, false),
      onServerEnd: resolveServerEnded,
    },
  });

  const finish = (code: ExitCode, reason: string, drain: boolean): Promise<ExitCode> => {
    finishing ??= (async () => {
      pump.refuseNewRequests('SIDECAR_ERR_SHUTTING_DOWN', reason);
      if (drain) await Promise.race([pump.whenIdle(config.drainTimeoutMs), hurried]);
      const { step, descendantsSignalled, survivors } = await stopUpstream(upstream, config, hurried);
      if (survivors > 0) logger.error({ survivors }, 'processes of the server\'s tree survived SIGKILL');
      await settle(serverEnded, STDOUT_SETTLE_MS);
      pump.failPending('SIDECAR_ERR_UPSTREAM_EXITED', 'the proxy stopped the server');
      await pump.flushClient();
      client.close();
      logger.info({ reason, stop: step, descendantsSignalled, exitCode: code, ...pump.stats }, 'proxy stopped');
      return code;
    })();
    void finishing.then(resolveDone);
    return finishing;
  };
  const stop = (reason: string): Promise<ExitCode> => {
    if (finishing) {
      logger.info({ reason }, 'asked to stop again: no more waiting for in-flight requests or the server');
      hurry();
    }
    return finish(EXIT_CODES.OK, reason, true);
  };

  void upstream.exited.then(async (exit) => {
    if (finishing) return;
    const spawnFailed = exit.spawnError !== undefined;
    // The server left on its own: nothing will answer what is pending or what comes next.
    const reason = spawnFailed ? `the MCP server could not be started: ${describeExit(exit)}` : `the MCP server exited on its own (${describeExit(exit)})`;
    pump.refuseNewRequests('SIDECAR_ERR_UPSTREAM_EXITED', reason);
    const code = spawnFailed ? 'SIDECAR_ERR_UPSTREAM_SPAWN' : 'SIDECAR_ERR_UPSTREAM_EXITED';
    logger.error({ code, exitCode: exit.code, signal: exit.signal, pending: pump.pendingCount }, reason);
    await settle(serverEnded, STDOUT_SETTLE_MS);
    pump.failPending('SIDECAR_ERR_UPSTREAM_EXITED', reason);
    void finish(spawnFailed ? EXIT_CODES.UPSTREAM_UNAVAILABLE : EXIT_CODES.UPSTREAM_EXITED, reason, false);
  });

  return { stop, done, upstream };
}
