import type { BatchMember, Envelope } from '../framing/index.js';

/** Where a routed message's bytes go: a lone frame is sent at once, a batch member collected. */
export interface FrameSink {
  /** `original`: the bytes are the message as received (not rewritten, not a local reply). */
  deliver(bytes: Buffer, envelope: Envelope, original: boolean): void;
  /** A message that is not delivered (denied, refused, dropped). */
  drop(): void;
}

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']\n');

/** A frame's bytes without its line end (and any whitespace after the JSON value). */
function withoutLineEnd(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d || bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)) end--;
  return end === bytes.length ? bytes : bytes.subarray(0, end);
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
    this.#parts.push(withoutLineEnd(bytes));
    this.#envelopes.push(envelope);
  }

  drop(): void {
    this.changed = true;
  }

  /** The members delivered, as one batch frame and its envelope (each member a view of the frame); undefined when none. */
  joined(): { readonly line: Buffer; readonly envelope: Envelope } | undefined {
    if (this.#parts.length === 0) return undefined;
    const pieces: Buffer[] = [OPEN];
    const starts: number[] = [];
    let offset = OPEN.length;
    this.#parts.forEach((part, i) => {
      if (i > 0) {
        pieces.push(COMMA);
        offset += COMMA.length;
      }
      starts.push(offset);
      pieces.push(part);
      offset += part.length;
    });
    pieces.push(CLOSE);
    const line = Buffer.concat(pieces);
    const members: BatchMember[] = this.#envelopes.map((envelope, i) => ({
      kind: envelope.kind, id: envelope.id, key: envelope.key, method: envelope.method, bytes: line.subarray(starts[i]!, starts[i]! + this.#parts[i]!.length),
    }));
    return { line, envelope: { kind: 'batch', id: undefined, key: undefined, method: undefined, members } };
  }
}
