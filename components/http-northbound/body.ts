import type { IncomingMessage } from 'node:http';
import type { Clock } from '../clock/index.js';
import { headerValue } from './request-checks.js';

export type BodyResult =
  /** `line` is the body followed by one `\n` (a spare byte allocated with the body: no second copy). */
  | { readonly kind: 'ok'; readonly line: Buffer }
  /** Over the limit: reading stopped there (or never started, from Content-Length). */
  | { readonly kind: 'too-large'; readonly bytes: number }
  /** The client went away, or the stream failed, before the end. */
  | { readonly kind: 'aborted' };

const NEWLINE = 0x0a;

// Reads a request body into one buffer: chunks are kept in a list and joined once at the end,
// so the cost is linear in the body. Past `maxBytes` nothing more is kept: reading stops, the
// caller answers 413, and what follows is discarded (discardRest), never buffered.
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = headerValue(req.headers, 'content-length');
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.resolve({ kind: 'too-large', bytes: Number(declared) });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (result: BodyResult): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > maxBytes) {
        chunks.length = 0;
        req.pause();
        finish({ kind: 'too-large', bytes: total });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      const line = Buffer.concat(chunks, total + 1);
      line[total] = NEWLINE;
      finish({ kind: 'ok', line });
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onAbort);
    req.once('close', onAbort);
  });
}

/**
 * After an answer given before the body was read (413, 403, 415…): the rest of the body is
 * read and thrown away, so the client — still sending — can read the answer (closing a socket
 * with unread input resets it, and the reset can destroy the answer before the client reads
 * it). Bounded: past `maxBytes` more, or `maxMs` on `clock`, the connection is cut.
 */
export function discardRest(req: IncomingMessage, maxBytes: number, maxMs: number, clock: Clock): void {
  if (req.complete) return;
  let discarded = 0;
  const cut = (): void => {
    clock.clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = clock.setTimeout(cut, maxMs);
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > maxBytes) cut();
  });
  req.once('end', () => clock.clearTimeout(timer));
  req.once('close', () => clock.clearTimeout(timer));
  req.resume();
}
