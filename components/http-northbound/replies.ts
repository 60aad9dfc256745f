import type { ServerResponse } from 'node:http';
import { encodeErrorResponse, type ErrorCode } from '../errors/index.js';

export interface HttpRefusal {
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: string;
  /** The id of the request refused (JSON text), when it could be read. */
  readonly id?: string | undefined;
  /** A batch refused whole: the id of each request in it (JSON text); the body is then an array of errors. */
  readonly batchIds?: readonly string[] | undefined;
  readonly headers?: Readonly<Record<string, string>>;
  readonly data?: Record<string, unknown>;
}

// Answers an HTTP request with an error status and a JSON-RPC error body (from the catalogue).
export function refuse(res: ServerResponse, refusal: HttpRefusal): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const body = refusal.batchIds !== undefined && refusal.batchIds.length > 0
    ? Buffer.from(`[${refusal.batchIds.map((id) => encodeErrorResponse(id, refusal.code, refusal.detail, refusal.data).toString('utf8').trimEnd()).join(',')}]`)
    : encodeErrorResponse(refusal.id ?? null, refusal.code, refusal.detail, refusal.data);
  refuseWithBody(res, refusal.status, body, refusal.headers);
}

/** Answers an HTTP request with an error status and a JSON-RPC body already encoded (the pump's local reply). */
export function refuseWithBody(res: ServerResponse, status: number, body: Buffer, extraHeaders?: Readonly<Record<string, string>>): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': body.length, ...extraHeaders };
  res.writeHead(status, headers);
  res.end(body);
}
