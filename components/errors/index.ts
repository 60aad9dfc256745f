export { ERROR_CODES, type ErrorCode, type ErrorCategory, type ErrorSpec } from './codes.js';
export { SidecarError, isSidecarError } from './sidecar-error.js';
export { encodeErrorResponse } from './json-rpc.js';
