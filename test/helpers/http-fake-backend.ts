// An in-memory backend for the HTTP northbound: `openSession` wires the session's channel to a
// fake MCP server that answers frames by method, so routing and HTTP behaviour are tested
// without a pump or a child process.
import type { FrameChannel, FrameChannelHandlers } from '../../components/transport/index.js';
import type { HttpSettings } from '../../components/config/index.js';
import { startHttpNorthbound, type HttpNorthbound, type HttpNorthboundOptions, type HttpSessionInfo, type SessionBackend } from '../../components/http-northbound/index.js';
import { captureLogs } from './log-capture.js';
import { INITIALIZE, send } from './http-raw.js';

type Message = { jsonrpc: '2.0'; id?: string | number | null; method?: string; params?: any; result?: any; error?: any };

export interface FakeSession {
  readonly info: HttpSessionInfo;
  readonly client: FrameChannel;
  /** Every frame the HTTP side delivered, as raw lines and parsed. */
  readonly lines: Buffer[];
  readonly received: Message[];
  readonly closes: string[];
  /** Sends a frame to the HTTP client (as the pump would). */
  send(message: unknown): void;
  sendRaw(line: string): void;
  /** Ends the backend by itself (a server that failed for good). */
  die(): void;
  readonly congestion: Array<'congested' | 'drained'>;
}

export interface FakeBackend {
  readonly sessions: FakeSession[];
  openSession(client: FrameChannel, info: HttpSessionInfo): Promise<SessionBackend>;
  /** Make the next openSession fail with this message. */
  failNextOpen(message: string): void;
}

/**
 * Methods the fake server knows:
 * - `initialize` → a result; `params.fail` → an error response
 * - `echo` → `{ echo: params }`; `slow` → the same after `params.ms`; `never` → no answer
 * - `progress` → `params.steps` progress notifications for `_meta.progressToken`, then a result
 * - `sample` → a `sampling/createMessage` request to the client, then a result with its answer
 * - `notify` → a `notifications/message` notification, then a result
 * - a batch → one batch of responses to its `echo` requests (others are left to the test)
 */
export function createFakeBackend(options: { openDelayMs?: number } = {}): FakeBackend {
  const sessions: FakeSession[] = [];
  let failure: string | undefined;
  return {
    sessions,
    failNextOpen(message) {
      failure = message;
    },
    async openSession(client, info) {
      if (options.openDelayMs) await new Promise((resolve) => setTimeout(resolve, options.openDelayMs));
      if (failure !== undefined) {
        const message = failure;
        failure = undefined;
        throw new Error(message);
      }
      let dieNow!: () => void;
      const closed = new Promise<void>((resolve) => (dieNow = resolve));
      const sampling = new Map<string | number, (answer: Message) => void>();
      let samples = 0;
      const session: FakeSession = {
        info, client, lines: [], received: [], closes: [], congestion: [],
        send: (message) => client.send(Buffer.from(`${JSON.stringify(message)}\n`)),
        sendRaw: (line) => client.send(Buffer.from(line.endsWith('\n') ? line : `${line}\n`)),
        die: () => {
          client.close();
          dieNow();
        },
      };
      const answer = (id: Message['id'], result: unknown): void => session.send({ jsonrpc: '2.0', id, result });
      const onMessage = async (message: Message): Promise<void> => {
        if (message.method === undefined) {
          // The client's answer to one of our requests.
          if (message.id !== undefined && message.id !== null) sampling.get(message.id)?.(message);
          return;
        }
        if (message.id === undefined) return; // notifications are only recorded
        const { id, method, params } = message;
        switch (method) {
          case 'initialize':
            if (params?.fail) return session.send({ jsonrpc: '2.0', id, error: { code: -32602, message: 'unsupported' } });
            return answer(id, { protocolVersion: params?.protocolVersion ?? '2025-06-18', capabilities: {}, serverInfo: { name: 'fake', version: '1' } });
          case 'echo':
            return answer(id, { echo: params ?? null });
          case 'slow':
            await new Promise((resolve) => setTimeout(resolve, params?.ms ?? 100));
            return answer(id, { slow: true });
          case 'never':
            return;
          case 'progress': {
            const token = params?._meta?.progressToken;
            for (let step = 1; step <= (params?.steps ?? 3); step++) {
              session.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: step, total: params?.steps ?? 3 } });
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
            return answer(id, { done: true });
          }
          case 'sample': {
            const sampleId = `sample-${++samples}`;
            const answered = new Promise<Message>((resolve) => sampling.set(sampleId, resolve));
            session.send({ jsonrpc: '2.0', id: sampleId, method: 'sampling/createMessage', params: { messages: [], maxTokens: 5 } });
            const reply = await answered;
            return answer(id, { sampled: reply.result ?? reply.error });
          }
          case 'notify':
            session.send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'hello' } });
            return answer(id, { notified: true });
          default:
            return session.send({ jsonrpc: '2.0', id, error: { code: -32601, message: `Method not found: ${method}` } });
        }
      };
      const handlers: FrameChannelHandlers = {
        onFrame(line) {
          session.lines.push(Buffer.from(line));
          const parsed = JSON.parse(line.toString('utf8')) as Message | Message[];
          if (Array.isArray(parsed)) {
            session.received.push(...parsed);
            const replies = parsed.filter((m) => m.method === 'echo' && m.id !== undefined).map((m) => ({ jsonrpc: '2.0', id: m.id, result: { echo: m.params ?? null } }));
            if (replies.length > 0) session.send(replies);
            return;
          }
          session.received.push(parsed);
          void onMessage(parsed);
        },
        onOversized: () => {},
        onEnd: () => {},
        onWriteError: () => {},
        onCongested: () => session.congestion.push('congested'),
        onDrained: () => session.congestion.push('drained'),
      };
      client.start(handlers);
      sessions.push(session);
      return {
        closed,
        async close(reason) {
          session.closes.push(reason);
          await client.drained();
          client.close();
          dieNow();
        },
      };
    },
  };
}

// --- a northbound over the fake backend, for the component tests ---


export const TEST_SETTINGS: HttpSettings = Object.freeze({
  listen: Object.freeze({ host: '127.0.0.1', port: 0 }),
  path: '/mcp' as const,
  maxSessions: 4,
  idleTimeoutMs: 60_000,
  maxBodyBytes: 1 << 20,
  allowedHosts: [],
  allowedOrigins: [],
});

export interface FakeNorthbound {
  readonly northbound: HttpNorthbound;
  readonly backend: FakeBackend;
  readonly port: number;
  readonly logs: ReturnType<typeof captureLogs>;
  /** POSTs `initialize` and returns the new session's id. */
  initialize(): Promise<string>;
}

export async function startFakeNorthbound(settings: Partial<HttpSettings> = {}, options: Partial<HttpNorthboundOptions> & { openDelayMs?: number } = {}): Promise<FakeNorthbound> {
  const backend = createFakeBackend({ openDelayMs: options.openDelayMs });
  const logs = captureLogs('debug');
  const northbound = await startHttpNorthbound({
    settings: { ...TEST_SETTINGS, ...settings },
    maxFrameBytes: options.maxFrameBytes ?? 1 << 20,
    logger: logs.logger,
    openSession: (client, info) => backend.openSession(client, info),
    ...(options.authenticate ? { authenticate: options.authenticate } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const port = northbound.address.port;
  return {
    northbound, backend, port, logs,
    async initialize() {
      const response = await send(port, { body: INITIALIZE });
      await response.done;
      if (response.status !== 200) throw new Error(`initialize answered ${response.status}`);
      return String(response.headers['mcp-session-id']);
    },
  };
}
