import { jsonTextOf, joinBatch, type Envelope } from '../framing/index.js';

/** Where a routed message's bytes go: a lone frame is sent at once, a batch member collected. */
export interface FrameSink {
  /** `original`: the bytes are the message as received (not rewritten, not a local reply). */
  deliver(bytes: Buffer, envelope: Envelope, original: boolean): void;
  /** A message that is not delivered (denied, refused, dropped). */
  drop(): void;
}

// What a batch's members became, in order: joined as one JSON array when anything changed (a
// member dropped, rewritten or answered by the proxy), else the batch goes on as its original bytes.
export class BatchSink implements FrameSink {
  readonly #parts: Buffer[] = [];
  readonly #envelopes: Envelope[] = [];
  /** Set when what is delivered is no longer the batch as received. */
  changed = false;

  get size(): number {
    return this.#parts.length;
  }

  deliver(bytes: Buffer, envelope: Envelope, original: boolean): void {
    if (!original) this.changed = true;
    this.#parts.push(jsonTextOf(bytes));
    this.#envelopes.push(envelope);
  }

  drop(): void {
    this.changed = true;
  }

  /** The members delivered, as one batch frame and its envelope (each member a view of the frame); undefined when none. */
  joined(): { readonly line: Buffer; readonly envelope: Envelope } | undefined {
    return this.#parts.length === 0 ? undefined : joinBatch(this.#parts, this.#envelopes);
  }
}
