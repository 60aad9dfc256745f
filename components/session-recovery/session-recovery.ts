import type { Logger } from 'pino';
import { parseFrameBody, readEnvelope, type Envelope } from '../framing/index.js';
import { INITIALIZE, INITIALIZED, LIST_CHANGED_NOTIFICATIONS } from '../mcp/index.js';
import type { StartedServer } from '../proxy-process-governor/index.js';
import type { FrameChannel, FrameChannelHandlers } from '../transport/index.js';

/** The lists a server may declare `listChanged` for, each with its notification. */
const LIST_KINDS = ['tools', 'prompts', 'resources'] as const;
type ListKind = (typeof LIST_KINDS)[number];
const LIST_CHANGED: Readonly<Record<ListKind, string>> = LIST_CHANGED_NOTIFICATIONS;
const INITIALIZED_FRAME = Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', method: INITIALIZED })}\n`);

export interface SessionRecoveryOptions {
  readonly logger: Logger;
  /**
   * Told when a restarted server answered the replayed initialize with a result and the held
   * frames were released (the gateway: a service the handshake left out joins now). Absent (the
   * one-server proxy): the answer is not read beyond its id.
   */
  readonly onRecovered?: (recovered: RecoveredSession) => void;
}

/** What a restarted server answered the replayed initialize, and what recovery told the client. */
export interface RecoveredSession {
  /** The answer's `result` (an object). */
  readonly result: Record<string, unknown>;
  /** The list_changed notifications (methods) recovery sent the client for it. */
  readonly listChangedSent: readonly string[];
}

/**
 * A legacy-era MCP session carried across server restarts. Wire it on both sides of one governor:
 * `onServerStart` as its `GovernorOptions.onServerStart`, and `wrap(governor.channel)` as the
 * server channel the pump is given.
 */
export interface SessionRecovery {
  /** The governor's hook: holds the client's frames while a restarted server is given the client's handshake. */
  readonly onServerStart: (server: StartedServer) => boolean;
  /** The governor's channel, seen through the session: what the client sent to initialize is kept, the replay's answer is not delivered. */
  wrap(inner: FrameChannel): FrameChannel;
}

interface Replay {
  readonly server: StartedServer;
  /** The key (id by value) of the replayed initialize: its answer is the proxy's, never the client's. */
  readonly key: string;
}

function recoveryIdOf(generation: number): string {
  return `mcp-sidecar:recovery:${generation}`;
}

function declaredLists(initializeResponse: Buffer): ListKind[] {
  const capabilities = resultOf(initializeResponse)?.['capabilities'] as Record<string, { listChanged?: unknown } | null | undefined> | null | undefined;
  if (typeof capabilities !== 'object' || capabilities === null) return [];
  return LIST_KINDS.filter((kind) => capabilities[kind]?.listChanged === true);
}

/** An initialize answer's `result`, when it is an object; else undefined. */
function resultOf(initializeResponse: Buffer): Record<string, unknown> | undefined {
  try {
    const result = (parseFrameBody(initializeResponse) as { result?: unknown }).result;
    return result !== null && typeof result === 'object' && !Array.isArray(result) ? result as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

// Legacy eras (before 2026-07-28) bind a session to the server process: a restarted server knows
// nothing of the client. So the client's initialize is kept, and a new server first gets it again
// under a proxy-owned id; its answer is consumed, `notifications/initialized` follows, and only
// then what waited is released. The client then hears `list_changed` for each list the server had
// declared as changing, since a new process may list other things. A stateless session never
// sends initialize, and nothing is replayed.
export function createSessionRecovery(options: SessionRecoveryOptions): SessionRecovery {
  const { logger, onRecovered } = options;
  let handlers: FrameChannelHandlers | undefined;
  let cachedInitialize: Buffer | undefined;
  /** The key of the client's own initialize, while its answer (the server's capabilities) is awaited. */
  let awaitedInitializeKey: string | undefined;
  let listChanged: ListKind[] = [];
  let replay: Replay | undefined;

  function onServerStart(server: StartedServer): boolean {
    replay = undefined;
    if (cachedInitialize === undefined) return false;
    const recoveryId = recoveryIdOf(server.generation);
    const request = parseFrameBody(cachedInitialize) as Record<string, unknown>;
    server.send(Buffer.from(`${JSON.stringify({ ...request, id: recoveryId })}\n`));
    replay = { server, key: JSON.stringify(recoveryId) };
    return true;
  }

  function completeReplay({ server }: Replay, answer: Envelope, line: Buffer): void {
    replay = undefined;
    const generation = server.generation;
    if (answer.kind === 'error') logger.warn({ generation }, 'the restarted server answered the replayed initialize with an error');
    server.send(INITIALIZED_FRAME);
    if (!server.release()) return; // the server exited meanwhile, or the proxy is stopping
    // What the client listed may have changed with the new process: tell it to list again.
    for (const kind of listChanged) handlers!.onFrame(Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', method: LIST_CHANGED[kind] })}\n`));
    logger.info({ generation }, 'session recovered: the client\'s initialize was replayed to the new server');
    if (onRecovered !== undefined && answer.kind === 'response') tellRecovered(onRecovered, line);
  }

  function tellRecovered(tell: (recovered: RecoveredSession) => void, line: Buffer): void {
    const result = resultOf(line);
    if (result === undefined) return;
    try {
      tell({ result, listChangedSent: listChanged.map((kind) => LIST_CHANGED[kind]) });
    } catch (error) {
      // The hook's fault is its own: the session goes on (its server is already released).
      logger.error({ err: error }, 'a hook failed on a recovered session');
    }
  }

  // A server frame, while an answer is awaited: the replay's is consumed, the client's initialize's teaches the capabilities.
  function onServerFrame(line: Buffer, given: Envelope | undefined): void {
    if (replay === undefined && awaitedInitializeKey === undefined) return handlers!.onFrame(line, given);
    const read = given ?? readEnvelope(line);
    if (read.kind === 'invalid') return handlers!.onFrame(line);
    if ((read.kind === 'response' || read.kind === 'error') && read.key !== undefined) {
      if (replay !== undefined && read.key === replay.key) return completeReplay(replay, read, line);
      if (read.key === awaitedInitializeKey) {
        awaitedInitializeKey = undefined;
        listChanged = read.kind === 'response' ? declaredLists(line) : [];
      }
    }
    handlers!.onFrame(line, read);
  }

  function wrap(inner: FrameChannel): FrameChannel {
    return {
      start(outer) {
        handlers = outer;
        inner.start({
          ...outer,
          onFrame: onServerFrame,
          onReset(reason, waiting) {
            // The server being prepared is gone: its replay will never be answered (the next server gets its own).
            replay = undefined;
            outer.onReset?.(reason, waiting);
          },
        });
      },
      send(line, envelope) {
        if (envelope?.kind === 'request' && envelope.method === INITIALIZE) {
          cachedInitialize = Buffer.from(line);
          awaitedInitializeKey = envelope.key;
        }
        inner.send(line, envelope);
      },
      pause: () => inner.pause(),
      resume: () => inner.resume(),
      drained: () => inner.drained(),
      endOutput: () => inner.endOutput(),
      close: () => inner.close(),
    };
  }

  return { onServerStart, wrap };
}
