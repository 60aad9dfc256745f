import { ERROR_CODES, type ErrorCode, type ErrorSpec } from './codes.js';

// A local error: thrown inside the proxy, caught at a boundary, matched by `code`.
export class SidecarError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorSpec['category'];
  readonly hint: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; hint?: string }) {
    const spec: ErrorSpec = ERROR_CODES[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, { cause: options?.cause });
    this.name = 'SidecarError';
    this.code = code;
    this.category = spec.category;
    this.hint = options?.hint;
  }
}

export function isSidecarError(value: unknown): value is SidecarError {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string'
    && (value as { code: string }).code in ERROR_CODES && value instanceof Error;
}
