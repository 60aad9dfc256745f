// A client batch (2025-03-26) answered as JSON-RPC asks: one array holding the answers of its
// requests (in the order they come: JSON-RPC lets a batch's answers come in any order). Its
// members are routed as lone requests, each to its own service, so their answers arrive apart;
// they are held here until the last one, then written as one frame.
import { jsonTextOf, joinBatch, type Envelope } from '../framing/index.js';

export type BatchWrite = (line: Buffer, envelope: Envelope) => void;

export class BatchAnswer {
  /** Answers still to come, plus one held while the batch is being routed (so answers given at once cannot finish it early). */
  #awaited = 1;
  #abandoned = false;
  readonly #parts: Buffer[] = [];
  readonly #envelopes: Envelope[] = [];
  readonly #write: BatchWrite;

  constructor(write: BatchWrite) {
    this.#write = write;
  }

  /** A request of the batch was routed: its answer is awaited. Call before routing it. */
  expect(): void {
    this.#awaited++;
  }

  /** Every member was routed: once every request has its answer (or none is due), the array is written. */
  routed(): void {
    this.#settle();
  }

  /**
   * Routing failed part way (a fault): the pump answers the whole batch itself, so nothing is
   * written from here, or the client would get two answers for one id.
   */
  abandon(): void {
    this.#abandoned = true;
  }

  /** One request's answer (a whole frame, its line end included). */
  answer(line: Buffer, envelope: Envelope): void {
    if (this.#abandoned) return;
    this.#parts.push(jsonTextOf(line));
    this.#envelopes.push(envelope);
    this.#settle();
  }

  /** A request that gets no answer (the client cancelled it: MCP answers nothing then). */
  skip(): void {
    this.#settle();
  }

  #settle(): void {
    if (--this.#awaited > 0 || this.#abandoned || this.#parts.length === 0) return;
    const joined = joinBatch(this.#parts, this.#envelopes);
    this.#parts.length = 0;
    this.#envelopes.length = 0;
    this.#write(joined.line, joined.envelope);
  }
}
