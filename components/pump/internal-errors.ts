// Faults inside the proxy while handling a frame, counted across every session of the process
// (mcp_sidecar_internal_errors_total): each is a bug, answered and survived, never silent.
let count = 0;

export function countInternalError(): void {
  count++;
}

export function internalErrorCount(): number {
  return count;
}
