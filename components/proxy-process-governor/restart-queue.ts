import type { Logger } from 'pino';
import type { ErrorCode } from '../errors/index.js';
import type { Envelope } from '../framing/index.js';
import type { Clock } from '../clock/index.js';
import type { LocalReplyTarget } from '../transport/index.js';

interface HeldFrame {
  readonly line: Buffer;
  /** Set for a request: what the router needs to answer it (id as written and by value, method). */
  readonly request: LocalReplyTarget | undefined;
  readonly deadline: number;
}

export interface RestartQueueOptions {
  readonly limit: number;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Answers a request the queue gives up on (the governor hands it to the router: onLocalReply). */
  readonly answer: (request: LocalReplyTarget, code: ErrorCode, detail: string) => void;
}

// `line`: the held copy, so a request that is not in the router's ledger is still reported with its bytes.
function requestOf(envelope: Envelope, line: Buffer): LocalReplyTarget | undefined {
  // A request without a key (its id is one peers read differently) was refused before it came here.
  if (envelope.kind !== 'request' || envelope.id === undefined || envelope.key === undefined) return undefined;
  return envelope.method === undefined ? { id: envelope.id, key: envelope.key, line } : { id: envelope.id, key: envelope.key, method: envelope.method, line };
}

// While the server restarts, client frames wait here, bounded in count, bytes and time. Each
// request that cannot wait is answered with a retryable error; nothing is replayed.
export class RestartQueue {
  readonly #options: RestartQueueOptions;
  #held: HeldFrame[] = [];
  #bytes = 0;
  #timer: unknown;

  constructor(options: RestartQueueOptions) {
    this.#options = options;
  }

  hold(line: Buffer, envelope: Envelope | undefined): void {
    const { limit, maxBytes, timeoutMs, clock, logger, answer } = this.#options;
    const kind = envelope?.kind;
    if (kind === 'response' || kind === 'error') {
      logger.debug('dropped a client response meant for the server that exited');
      return;
    }
    const held = Buffer.from(line);
    const request = envelope === undefined ? undefined : requestOf(envelope, held);
    if (this.#held.length >= limit || this.#bytes + line.length > maxBytes) {
      if (request !== undefined) answer(request, 'SIDECAR_ERR_UPSTREAM_RESTARTING', 'too many requests are waiting for it');
      else logger.warn({ method: envelope?.method }, 'dropped a notification: too many frames are waiting for the restarting server');
      return;
    }
    this.#held.push({ line: held, request, deadline: clock.now() + timeoutMs });
    this.#bytes += line.length;
    if (this.#held.length === 1) this.#timer = clock.setTimeout(() => this.#expire(), timeoutMs);
  }

  /** The id keys of the requests waiting (they were not sent to the server that died). */
  waitingIds(): Set<string> {
    return new Set(this.#held.flatMap((frame) => (frame.request === undefined ? [] : [frame.request.key])));
  }

  /** Hands every held frame, in order, to the new server. */
  release(send: (line: Buffer) => void): void {
    for (const frame of this.#take()) send(frame.line);
  }

  /** Answers every held request with this error and drops the rest. */
  answerAll(code: ErrorCode, detail: string): void {
    for (const frame of this.#take()) if (frame.request !== undefined) this.#options.answer(frame.request, code, detail);
  }

  #take(): HeldFrame[] {
    this.#options.clock.clearTimeout(this.#timer);
    const frames = this.#held;
    this.#held = [];
    this.#bytes = 0;
    return frames;
  }

  #expire(): void {
    const { clock, timeoutMs, answer } = this.#options;
    const now = clock.now();
    while (this.#held.length > 0 && this.#held[0]!.deadline <= now) {
      const frame = this.#held.shift()!;
      this.#bytes -= frame.line.length;
      if (frame.request !== undefined) answer(frame.request, 'SIDECAR_ERR_UPSTREAM_RESTARTING', `it did not come back within ${timeoutMs} ms`);
    }
    if (this.#held.length > 0) this.#timer = clock.setTimeout(() => this.#expire(), this.#held[0]!.deadline - now);
  }
}
