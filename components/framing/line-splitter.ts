// Splits an NDJSON byte stream into lines. Cost is linear in the bytes seen: a line that
// arrives in one chunk is a zero-copy view of it; a line spread over chunks is joined once,
// when its newline arrives. UTF-8 needs no care here: the byte 0x0A never occurs inside a
// multi-byte sequence, so a split on bytes never cuts a character.

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
/** How much of an over-long line is kept (at each end) so its id can still be read. */
export const OVERSIZED_KEEP_BYTES = 4096;

export interface OversizedLine {
  /** The first bytes of the line (at most OVERSIZED_KEEP_BYTES). */
  readonly head: Buffer;
  /** The last bytes of the line before its terminator (at most OVERSIZED_KEEP_BYTES). */
  readonly tail: Buffer;
  /** The line's full length in bytes, without the terminator. */
  readonly bytes: number;
}

export interface LineSplitterHandlers {
  /** A complete line: its bytes including the `\n` (absent only for a last line cut by EOF). Never empty (a lone `\r` counts as empty); whitespace-only lines are the envelope reader's `blank`. */
  onLine(line: Buffer): void;
  /** A line longer than the limit; its body was discarded as it streamed past. */
  onOversized(line: OversizedLine): void;
}

export class LineSplitter {
  readonly #maxLineBytes: number;
  readonly #handlers: LineSplitterHandlers;
  #parts: Buffer[] = [];
  #partsBytes = 0;
  // Set while an over-long line streams past: only its ends are kept.
  #discard: { head: Buffer; tail: Buffer; bytes: number } | undefined;

  constructor(maxLineBytes: number, handlers: LineSplitterHandlers) {
    this.#maxLineBytes = maxLineBytes;
    this.#handlers = handlers;
  }

  /** Bytes held for a line whose newline has not arrived yet (bounded by the limit). */
  get bufferedBytes(): number {
    return this.#partsBytes;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        if (start < chunk.length) this.#keepPartial(chunk.subarray(start));
        return;
      }
      this.#finishLine(chunk, start, newline);
      start = newline + 1;
    }
  }

  /** The input ended: a last line without a newline still counts. */
  end(): void {
    if (this.#discard) {
      this.#emitOversized(Buffer.alloc(0));
    } else if (this.#partsBytes > 0) {
      const line = Buffer.concat(this.#parts, this.#partsBytes);
      this.#parts = [];
      this.#partsBytes = 0;
      this.#emit(line, line.length);
    }
  }

  #keepPartial(piece: Buffer): void {
    if (this.#discard) {
      this.#discardMore(piece);
      return;
    }
    this.#parts.push(piece);
    this.#partsBytes += piece.length;
    if (this.#partsBytes > this.#maxLineBytes) {
      // Too long already: keep the ends, let the middle go.
      const joined = Buffer.concat(this.#parts, this.#partsBytes);
      this.#parts = [];
      this.#partsBytes = 0;
      this.#discard = {
        head: Buffer.from(joined.subarray(0, OVERSIZED_KEEP_BYTES)),
        tail: Buffer.from(joined.subarray(-OVERSIZED_KEEP_BYTES)),
        bytes: joined.length,
      };
    }
  }

  #discardMore(piece: Buffer): void {
    const state = this.#discard!;
    state.bytes += piece.length;
    state.tail = piece.length >= OVERSIZED_KEEP_BYTES
      ? Buffer.from(piece.subarray(-OVERSIZED_KEEP_BYTES))
      : Buffer.concat([state.tail, piece]).subarray(-OVERSIZED_KEEP_BYTES);
  }

  #finishLine(chunk: Buffer, start: number, newline: number): void {
    if (this.#discard) {
      this.#emitOversized(chunk.subarray(start, newline));
      return;
    }
    const contentBytes = this.#partsBytes + newline - start;
    if (this.#partsBytes === 0) {
      this.#emit(chunk.subarray(start, newline + 1), contentBytes);
      return;
    }
    this.#parts.push(chunk.subarray(start, newline + 1));
    const line = Buffer.concat(this.#parts, contentBytes + 1);
    this.#parts = [];
    this.#partsBytes = 0;
    this.#emit(line, contentBytes);
  }

  #emit(line: Buffer, contentBytes: number): void {
    // contentBytes excludes the `\n`; a `\r` before it is JSON whitespace and stays in the line.
    let visible = contentBytes;
    if (visible > 0 && line[visible - 1] === CARRIAGE_RETURN) visible--;
    if (visible === 0) return; // blank line
    if (visible > this.#maxLineBytes) {
      this.#handlers.onOversized({
        head: Buffer.from(line.subarray(0, Math.min(visible, OVERSIZED_KEEP_BYTES))),
        tail: Buffer.from(line.subarray(Math.max(0, visible - OVERSIZED_KEEP_BYTES), visible)),
        bytes: visible,
      });
      return;
    }
    this.#handlers.onLine(line);
  }

  #emitOversized(lastPiece: Buffer): void {
    this.#discardMore(lastPiece);
    const { head, tail, bytes } = this.#discard!;
    this.#discard = undefined;
    let tailEnd = tail.length;
    if (tailEnd > 0 && tail[tailEnd - 1] === CARRIAGE_RETURN) tailEnd--;
    this.#handlers.onOversized({ head, tail: tail.subarray(0, tailEnd), bytes: bytes - (tail.length - tailEnd) });
  }
}
