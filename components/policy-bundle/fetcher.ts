import { Agent, request } from 'undici';
import type { Clock } from '../clock/index.js';

/** Why a fetch failed: bounded, for the failures metric. */
export type FetchFailureReason = 'unreachable' | 'timeout' | 'too_large' | 'http_status';

export class FetchFailed extends Error {
  constructor(readonly reason: FetchFailureReason, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export type FetchOutcome =
  | { readonly kind: 'not-modified' }
  | { readonly kind: 'fetched'; readonly body: Uint8Array; readonly etag: string | undefined };

export interface FetcherOptions {
  /** The whole exchange, headers and body, must end within this (on the injected clock). */
  readonly timeoutMs: number;
  /** A larger body is refused as it streams in, never buffered past this. */
  readonly maxBytes: number;
  readonly clock: Clock;
}

export interface BundleFetcher {
  /** GET with If-None-Match when an ETag is known; throws FetchFailed. */
  fetch(url: string, etag: string | undefined): Promise<FetchOutcome>;
  close(): Promise<void>;
}

/**
 * One keep-alive pool to the control plane. The deadline runs on the injected clock and aborts
 * the request; undici's own header and body timeouts (twice as long) are the backstop should
 * the clock be one that never fires.
 */
export function createFetcher(options: FetcherOptions): BundleFetcher {
  const agent = new Agent({
    keepAliveTimeout: 60_000, headersTimeout: options.timeoutMs * 2, bodyTimeout: options.timeoutMs * 2, maxResponseSize: options.maxBytes, connections: 2,
  });
  return {
    async fetch(url, etag) {
      const controller = new AbortController();
      let timedOut = false;
      const deadline = options.clock.setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, options.timeoutMs);
      try {
        const response = await request(url, {
          method: 'GET', dispatcher: agent, signal: controller.signal,
          headers: { accept: 'application/yaml, text/plain, */*', ...(etag !== undefined && { 'if-none-match': etag }) },
        });
        if (response.statusCode === 304) {
          await response.body.dump();
          return { kind: 'not-modified' };
        }
        if (response.statusCode !== 200) {
          await response.body.dump();
          throw new FetchFailed('http_status', `${url}: HTTP ${response.statusCode}`);
        }
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > options.maxBytes) {
          response.body.destroy();
          throw new FetchFailed('too_large', `${url}: the bundle is ${declared} bytes, over the ${options.maxBytes}-byte cap`);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of response.body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > options.maxBytes) {
            response.body.destroy();
            throw new FetchFailed('too_large', `${url}: the bundle is over the ${options.maxBytes}-byte cap`);
          }
          chunks.push(chunk);
        }
        const header = response.headers.etag;
        return { kind: 'fetched', body: Buffer.concat(chunks, size), etag: typeof header === 'string' ? header : undefined };
      } catch (error) {
        if (error instanceof FetchFailed) throw error;
        if (timedOut) throw new FetchFailed('timeout', `${url}: no complete answer within ${options.timeoutMs} ms`, { cause: error });
        const code = (error as { code?: string }).code;
        if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') throw new FetchFailed('too_large', `${url}: the bundle is over the ${options.maxBytes}-byte cap`, { cause: error });
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') throw new FetchFailed('timeout', `${url}: ${(error as Error).message}`, { cause: error });
        throw new FetchFailed('unreachable', `${url}: ${(error as Error).message}`, { cause: error });
      } finally {
        options.clock.clearTimeout(deadline);
      }
    },
    close: () => agent.close(),
  };
}
