import type { Readable, Writable } from 'node:stream';
import type { ErrorCode } from '../errors/index.js';
import { LineSplitter, type Envelope, type OversizedLine } from '../framing/index.js';
import { FrameWriter, type FlushOn } from './frame-writer.js';

/** What a channel reports to whoever routes its frames. */
export interface FrameChannelHandlers {
  /**
   * One frame: the bytes of one line, including its `\n`. `envelope` is what the channel already
   * read of it (an HTTP body is read before it is posted), so the router does not read it again;
   * a channel that reads nothing passes none.
   */
  onFrame(line: Buffer, envelope?: Envelope): void;
  /** A line over the frame limit; only its ends were kept. */
  onOversized(line: OversizedLine): void;
  /** The input side ended (EOF, or a read error). */
  onEnd(error?: Error): void;
  /** The output side failed (EPIPE: the peer went away). */
  onWriteError(error: Error): void;
  /** The output is over its high-water mark: stop feeding it. */
  onCongested(): void;
  /** The output drained after onCongested. */
  onDrained(): void;
  /**
   * The peer behind the channel was replaced (a restarted server): requests written to the old
   * one will never be answered, except those whose id keys are in `waiting` (not yet written).
   */
  onReset?(reason: string, waiting: ReadonlySet<string>): void;
  /**
   * The channel gives up on a client request it holds (a restart queue full or timed out, an HTTP
   * body refused before it was posted): the router answers it to the client with this error, as
   * every answer the proxy writes itself (encoded, counted, observed once: the pump's localReply).
   */
  onLocalReply?(request: LocalReplyTarget, code: ErrorCode, detail: string): void;
  /**
   * onLocalReply for an answer the channel writes itself, inside a frame of its own (the gateway's
   * error for a member of a client batch, in the batch's array): the router ends and counts the
   * request as its own local reply, but returns the bytes instead of sending them. When the
   * channel's frame reaches the router, that member's answer passes as a late one (already ended).
   */
  encodeLocalReply?(request: LocalReplyTarget, code: ErrorCode, detail: string): Buffer;
}

/** The request a channel wants answered by the proxy: its id as written and by value. */
export interface LocalReplyTarget {
  readonly id: string;
  readonly key: string;
  /** Its method, when the channel knows it (for the log and the report). */
  readonly method?: string;
  /** The request as the client sent it, when the channel kept it (what the report of a request that never reached the ledger records). */
  readonly line?: Buffer;
}

/**
 * The transport boundary: a bidirectional stream of NDJSON frames. The pump is written
 * against this interface only, so it runs the same over stdio, a child's pipes, or the
 * in-memory streams of a test.
 */
export interface FrameChannel {
  start(handlers: FrameChannelHandlers): void;
  /**
   * Queues one frame for writing; frames sent in one tick are written together. `envelope` is
   * what the caller already read of the frame, for channels that act on it (never re-read here).
   */
  send(line: Buffer, envelope?: Envelope): void;
  /** Stops or resumes reading input (backpressure from the other side). */
  pause(): void;
  resume(): void;
  /** Resolves when everything sent so far has been written out. */
  drained(): Promise<void>;
  /** Ends the output after what was sent (e.g. closes a child's stdin). */
  endOutput(): void;
  /** Stops reading; drops unsent output. */
  close(): void;
}

export interface NdjsonChannelOptions {
  readonly maxFrameBytes: number;
  /** When output is flushed (FrameWriter): 'turn' for a channel fed from many I/O callbacks (HTTP). */
  readonly flushOn?: FlushOn;
}

// A FrameChannel over a readable and a writable byte stream.
export function createNdjsonChannel(input: Readable, output: Writable, options: NdjsonChannelOptions): FrameChannel {
  let handlers: FrameChannelHandlers | undefined;
  let ended = false;
  let waitingForDrain = false;
  const onDrain = (): void => {
    waitingForDrain = false;
    handlers?.onDrained();
  };
  const writer = new FrameWriter(output, () => {
    if (waitingForDrain) return;
    waitingForDrain = true;
    output.once('drain', onDrain);
    handlers?.onCongested();
  }, options.flushOn);

  const finishInput = (error?: Error): void => {
    if (ended) return;
    ended = true;
    splitter.end();
    handlers?.onEnd(error);
  };
  const splitter = new LineSplitter(options.maxFrameBytes, {
    onLine: (line) => handlers!.onFrame(line),
    onOversized: (line) => handlers!.onOversized(line),
  });

  return {
    start(h) {
      handlers = h;
      input.on('data', (chunk: Buffer | string) => splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
      input.once('end', () => finishInput());
      input.once('error', (error: Error) => finishInput(error));
      input.once('close', () => finishInput());
      output.on('error', (error: Error) => h.onWriteError(error));
    },
    send: (line) => writer.send(line),
    pause: () => input.pause(),
    resume: () => input.resume(),
    drained: () => writer.drained(),
    endOutput() {
      writer.flush();
      if (!output.writableEnded) output.end();
    },
    close() {
      writer.close();
      input.pause();
      input.removeAllListeners('data');
    },
  };
}
