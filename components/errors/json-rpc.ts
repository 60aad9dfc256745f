import { ERROR_CODES, type ErrorCode, type ErrorSpec } from './codes.js';

/**
 * Encodes a JSON-RPC error response as one NDJSON line.
 * `rawId` is the id exactly as the peer wrote it (JSON text, e.g. `7` or `"a-1"`), so the
 * reply echoes it byte for byte; `null` when it could not be read.
 */
export function encodeErrorResponse(
  rawId: string | null,
  code: ErrorCode,
  detail?: string,
  extraData?: Record<string, unknown>,
): Buffer {
  const spec: ErrorSpec = ERROR_CODES[code];
  if (spec.rpcCode === undefined) throw new TypeError(`${code} is a local error and never goes on the wire`);
  const data = { category: spec.category, code, retryable: spec.retryable, ...extraData };
  const message = detail ? `${spec.message}: ${detail}` : spec.message;
  const error = JSON.stringify({ code: spec.rpcCode, message, data });
  return Buffer.from(`{"jsonrpc":"2.0","id":${rawId ?? 'null'},"error":${error}}\n`);
}
