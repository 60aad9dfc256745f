import { encodeErrorResponse, type ErrorCode } from '../errors/index.js';
import type { DenyCategory, DenyVerdict } from '../policy/index.js';

const CODE_FOR_CATEGORY: Record<DenyCategory, ErrorCode> = {
  forbidden: 'SIDECAR_ERR_POLICY_DENIED',
  transient_error: 'SIDECAR_ERR_POLICY_RATE_LIMITED',
  user_error: 'SIDECAR_ERR_POLICY_INVALID_REQUEST',
  internal_error: 'SIDECAR_ERR_POLICY_RULE_FAILED',
};

/**
 * The answer to a request a rule denied: a JSON-RPC error naming the rule and the reason, or,
 * for a tools/call whose rule asks for it, a tool result with isError, so the model reads why.
 */
export function encodeDenial(rawId: string | null, ruleId: string, verdict: DenyVerdict, method: string): Buffer {
  if (verdict.reply === 'tool-error' && method === 'tools/call' && rawId !== null) {
    const text = `Denied by policy (rule ${ruleId}, ${verdict.reason}): ${verdict.message}`;
    return Buffer.from(`{"jsonrpc":"2.0","id":${rawId},"result":${JSON.stringify({ content: [{ type: 'text', text }], isError: true })}}\n`);
  }
  const data: Record<string, unknown> = { ruleId, reason: verdict.reason };
  if (verdict.retryAfterMs !== undefined) data.retryAfterMs = verdict.retryAfterMs;
  return encodeErrorResponse(rawId, CODE_FOR_CATEGORY[verdict.category], verdict.message, data);
}
