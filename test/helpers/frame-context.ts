// A FrameContext for rule tests, from a JSON-RPC object: `line` is the JSON and a newline, the
// body is parsed on first use and deep-frozen (a rule that mutates it throws), and `now` can be
// set between evaluations.
import type { Direction, FrameContext, Phase } from '../../components/policy/engine/types.js';

export interface TestFrameOptions {
  /** Default: `request` for a message with a method, else `response`. */
  readonly phase?: Phase;
  /** Default: client-to-server for a request, server-to-client for a response. */
  readonly direction?: Direction;
  /** Default: the message's method. A response needs it: the method of the request it answers. */
  readonly method?: string;
  readonly now?: number;
  /** The raw line instead of JSON.stringify(message) (bytes the rule must scan as given). */
  readonly line?: string | Buffer;
}

export interface TestFrame extends FrameContext {
  now: number;
  /** How many times body() was called. */
  readonly bodyReads: number;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

export function frameContext(message: unknown, options: TestFrameOptions = {}): TestFrame {
  const record = (typeof message === 'object' && message !== null ? message : {}) as Record<string, unknown>;
  const ownMethod = typeof record['method'] === 'string' ? record['method'] : undefined;
  const method = options.method ?? ownMethod;
  if (method === undefined) throw new Error('frameContext: a response needs options.method (the method of the request it answers)');
  const phase = options.phase ?? (ownMethod !== undefined ? 'request' : 'response');
  const direction = options.direction ?? (phase === 'request' ? 'client-to-server' : 'server-to-client');
  const line = options.line === undefined
    ? Buffer.from(`${JSON.stringify(message)}\n`)
    : Buffer.isBuffer(options.line) ? options.line : Buffer.from(options.line);
  let parsed: { value: unknown } | undefined;
  let reads = 0;
  return {
    direction,
    phase,
    method,
    line,
    now: options.now ?? 0,
    get bodyReads() {
      return reads;
    },
    body() {
      reads++;
      parsed ??= { value: deepFreeze(JSON.parse(line.toString('utf8'))) };
      return parsed.value;
    },
  };
}

/** A tools/call request. */
export function toolCall(name: unknown, args?: unknown, id: number | string = 1): Record<string, unknown> {
  const params: Record<string, unknown> = { name };
  if (args !== undefined) params['arguments'] = args;
  return { jsonrpc: '2.0', id, method: 'tools/call', params };
}

/** A result response. */
export function resultOf(result: unknown, id: number | string = 1): Record<string, unknown> {
  return { jsonrpc: '2.0', id, result };
}
