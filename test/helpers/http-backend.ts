// Real backends for the HTTP northbound: each session gets what the runtime gives it, one pump
// and one governed server-everything, with the stdio runtime's stop sequence (refuse new
// requests, drain, stop the child, fail what is left, flush). The shape the runtime's own
// `openSession` takes.
import type { HttpSessionInfo, SessionBackend } from '../../components/http-northbound/index.js';
import type { Logger } from '../../components/logging/index.js';
import { childEnvironment, createGovernor } from '../../components/proxy-process-governor/index.js';
import { createPump } from '../../components/pump/index.js';
import type { FrameChannel } from '../../components/transport/index.js';
import { EVERYTHING_ARGV } from './paths.js';

export interface BackendRecord {
  readonly info: HttpSessionInfo;
  /** server-everything's pid (first run). */
  readonly pid: number;
  /** Why it was closed, if it was. */
  closeReason: string | undefined;
  /** Resolves when the backend has fully stopped. */
  readonly stopped: Promise<void>;
}

export interface RealBackends {
  readonly records: BackendRecord[];
  openSession(client: FrameChannel, info: HttpSessionInfo): Promise<SessionBackend>;
}

export interface RealBackendOptions {
  readonly logger: Logger;
  readonly argv?: readonly string[];
  readonly maxFrameBytes?: number;
  readonly drainTimeoutMs?: number;
}

export function createRealBackends(options: RealBackendOptions): RealBackends {
  const records: BackendRecord[] = [];
  const argv = options.argv ?? EVERYTHING_ARGV;
  const maxFrameBytes = options.maxFrameBytes ?? 16 * 1024 * 1024;
  return {
    records,
    async openSession(client, info) {
      const logger = options.logger.child({ session: info.sessionId ?? 'stateless' });
      let finishing: Promise<void> | undefined;
      let resolveClosed!: () => void;
      const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
      const governor = createGovernor({
        executable: argv[0]!,
        argv,
        env: childEnvironment(process.env),
        maxFrameBytes,
        restart: { maxRestarts: 0, backoffBaseMs: 100, backoffMaxMs: 1000, backoffJitter: 0, stableAfterMs: 60_000, queueLimit: 16, queueTimeoutMs: 5000 },
        stop: { stdinCloseGraceMs: 300, killTimeoutMs: 1000 },
        logger,
        onFatal: (fatal) => void finish(fatal.reason, false),
        // Once the session is ending, a server that exits stays down.
        shouldRestart: () => finishing === undefined,
      });
      const pump = createPump({
        client,
        server: governor.channel,
        logger,
        identity: info.identity,
        // Over HTTP the client's input never "ends" and a write failure ends one request, not the session.
        events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
      });
      let record!: BackendRecord;
      const finish = (reason: string, drain: boolean): Promise<void> => {
        finishing ??= (async () => {
          record.closeReason ??= reason;
          pump.refuseNewRequests('SIDECAR_ERR_SHUTTING_DOWN', reason);
          if (drain) await pump.whenIdle(options.drainTimeoutMs ?? 2000);
          await governor.stop();
          pump.failPending('SIDECAR_ERR_UPSTREAM_EXITED', reason);
          await pump.flushClient();
          client.close();
          resolveClosed();
        })();
        return finishing;
      };
      record = { info, pid: governor.upstream!.pid!, closeReason: undefined, stopped: closed };
      records.push(record);
      return { close: (reason) => finish(reason, true), closed };
    },
  };
}
