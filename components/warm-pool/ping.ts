import type { Readable } from 'node:stream';

/**
 * The pool's `ping` to a waiting server, and the reading of its answer off the server's stdout.
 * MCP lets a client ping before `initialize`; a server that answers, with a result or with an
 * error (e.g. "not initialized", or a 2026-07-28 server that has no ping), is alive, reading
 * its stdin, and has run its read-parse-answer-write path once, so the session's `initialize`
 * does not pay for its cold start.
 */

/** The id the pool owns: nothing a session sends is spelled like it, and the answer never reaches one. */
export const pingIdFor = (serial: number): string => `mcp-sidecar-warm-${serial}`;

export const pingFrame = (id: string): string => `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":"ping"}\n`;

/** A line before the answer that is not it: a log line on stdout, or a frame of the server's own. */
export interface StrayLine {
  /** Its first characters (logged under `line`, which the logger redacts). */
  readonly line: string;
  readonly reason: 'not JSON' | 'not the answer to the ping';
}

export interface PingAnswerHandlers {
  onAnswer(outcome: 'result' | 'error'): void;
  onStrayLine(stray: StrayLine): void;
}

// A ping answer is a few dozen bytes; a line past this is not one, and is not kept whole.
const MAX_LINE_BYTES = 64 * 1024;
const QUOTED_CHARACTERS = 200;
const NEWLINE = 0x0a;

/**
 * Reads `stdout` line by line until the answer to the ping `id`, which it consumes; the lines
 * before it are dropped (each reported), and whatever the server wrote after it is put back at
 * the front of the stream, so the session that takes the server reads exactly what follows the
 * answer. Reading is in paused mode ('readable'), so once the listener is gone the stream is as
 * if never read: the session's 'data' listener starts it flowing. Returns a function that stops
 * reading (the server exited, or is being stopped).
 */
export function readPingAnswer(stdout: Readable, id: string, handlers: PingAnswerHandlers): () => void {
  let partial: Buffer[] = [];
  let partialBytes = 0;
  // Set while the rest of an over-long line streams past: it is dropped up to its newline.
  let skippingLongLine = false;
  let done = false;

  const stop = (): void => {
    if (done) return;
    done = true;
    stdout.removeListener('readable', onReadable);
  };

  function onReadable(): void {
    let chunk: Buffer | null;
    while (!done && (chunk = stdout.read() as Buffer | null) !== null) {
      let start = 0;
      for (;;) {
        const newline = chunk.indexOf(NEWLINE, start);
        if (newline < 0) {
          keepPartial(chunk.subarray(start));
          break;
        }
        const line = takeLine(chunk.subarray(start, newline));
        start = newline + 1;
        if (line === undefined) continue;
        const outcome = answerOutcome(line, id);
        if (outcome === undefined) continue;
        if (typeof outcome !== 'string') {
          handlers.onStrayLine(outcome);
          continue;
        }
        stop();
        // What followed the answer belongs to the session.
        if (start < chunk.length) stdout.unshift(chunk.subarray(start));
        handlers.onAnswer(outcome);
        return;
      }
    }
  }

  function keepPartial(bytes: Buffer): void {
    if (bytes.length === 0 || skippingLongLine) return;
    if (partialBytes + bytes.length > MAX_LINE_BYTES) {
      handlers.onStrayLine({ line: Buffer.concat([...partial, bytes]).toString('utf8', 0, QUOTED_CHARACTERS), reason: 'not the answer to the ping' });
      partial = [];
      partialBytes = 0;
      skippingLongLine = true;
      return;
    }
    partial.push(bytes);
    partialBytes += bytes.length;
  }

  /** The whole line ending here, or undefined when it is the end of a line too long to keep. */
  function takeLine(tail: Buffer): Buffer | undefined {
    if (skippingLongLine) {
      skippingLongLine = false;
      return undefined;
    }
    if (partialBytes === 0) return tail;
    const line = Buffer.concat([...partial, tail]);
    partial = [];
    partialBytes = 0;
    return line;
  }

  stdout.on('readable', onReadable);
  return stop;
}

/** The answer's outcome; undefined for a blank line; a stray line otherwise. */
function answerOutcome(line: Buffer, id: string): 'result' | 'error' | StrayLine | undefined {
  const text = line.toString('utf8');
  if (text.trim() === '') return undefined;
  let frame: unknown;
  try {
    // Once per server start, off the per-frame path: a plain parse is the simplest exact reading.
    frame = JSON.parse(text);
  } catch {
    return { line: text.slice(0, QUOTED_CHARACTERS), reason: 'not JSON' };
  }
  if (typeof frame === 'object' && frame !== null && !Array.isArray(frame) && (frame as { id?: unknown }).id === id) {
    if ('result' in frame) return 'result';
    if ('error' in frame) return 'error';
  }
  return { line: text.slice(0, QUOTED_CHARACTERS), reason: 'not the answer to the ping' };
}
