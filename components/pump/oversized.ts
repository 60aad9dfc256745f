import { readOversizedId, type OversizedLine } from '../framing/index.js';
import type { PumpContext } from './context.js';
import type { LocalReply } from './local-reply.js';

// Lines over --max-frame-bytes: only their ends were kept, enough to read the id. A request is
// answered for its id; an over-long answer fails what it answers; the rest is dropped, logged.
export function createOversizedHandlers(ctx: PumpContext, localReply: LocalReply): { fromClient(line: OversizedLine): void; fromServer(line: OversizedLine): void } {
  const { logger, ledger } = ctx;
  return {
    fromClient(line) {
      const { id, key, method } = readOversizedId(line);
      const answer = { code: 'SIDECAR_ERR_FRAME_TOO_LARGE' as const, detail: `${line.bytes} bytes` };
      if (id !== undefined && method !== undefined) {
        logger.warn({ bytes: line.bytes, id, method }, 'request over the frame limit answered with an error');
        localReply('client', { id, key, method }, answer);
        return;
      }
      if (id !== undefined) {
        // The client's answer to a server→client request: tell the server, which is waiting for it.
        logger.warn({ bytes: line.bytes, id }, 'response from the client over the frame limit; the server gets an error instead');
        localReply('server', { id, key }, answer);
        return;
      }
      logger.warn({ bytes: line.bytes, method }, 'frame from the client over the frame limit dropped (no id to answer)');
    },
    fromServer(line) {
      const { id, key, method } = readOversizedId(line);
      const detail = `${line.bytes} bytes`;
      if (key !== undefined && method === undefined) {
        const pending = ledger.settle(key);
        if (pending !== undefined) {
          logger.warn({ bytes: line.bytes, id, method: pending.method }, 'response from the server over the frame limit; the client gets an error instead');
          localReply('client', pending, { code: 'SIDECAR_ERR_UPSTREAM_FRAME_TOO_LARGE', detail }, 'upstream_error');
          return ctx.notifyIfIdle();
        }
      } else if (id !== undefined) {
        logger.warn({ bytes: line.bytes, id, method }, 'request from the server over the frame limit answered with an error');
        localReply('server', { id, key, method }, { code: 'SIDECAR_ERR_FRAME_TOO_LARGE', detail });
        return;
      }
      logger.warn({ bytes: line.bytes, id, method }, 'frame from the server over the frame limit dropped');
    },
  };
}
