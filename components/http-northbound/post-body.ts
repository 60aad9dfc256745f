import type { Envelope } from '../framing/index.js';
import { CANCELLED, cancelledRequestKey, INITIALIZE, isStatelessVersion, paramsOf, PROTOCOL_VERSION_META, requestProgressToken, requestProtocolVersion } from '../mcp/index.js';
import { readFrameEnvelope } from './envelope-reads.js';

/** A request the POST carries: its id as written and by value. */
export interface PostedRequest {
  readonly rawId: string;
  readonly key: string;
  readonly method: string;
  /** `params._meta.progressToken`, as JSON text (its key), when the request asks for progress. */
  readonly progressToken: string | undefined;
}

/** A POST body read as JSON-RPC: what routing and session handling need, parsed once. */
export interface PostBody {
  /** One NDJSON frame: the body's bytes (line breaks made spaces) and `\n`. */
  readonly line: Buffer;
  readonly envelope: Envelope;
  readonly requests: readonly PostedRequest[];
  /** A lone `initialize` request. */
  readonly isInitialize: boolean;
  /** An `initialize` inside a batch (refused). */
  readonly initializeInBatch: boolean;
  /** Request ids (keys) the client cancels with `notifications/cancelled` in this body. */
  readonly cancelledKeys: readonly string[];
  /** The 2026-07-28 `_meta` protocol version of the (first) request, if it names a stateless one. */
  readonly statelessMeta: boolean;
  /** The method of a lone request or notification (to compare with `Mcp-Method`). */
  readonly method: string | undefined;
}

export type PostBodyResult =
  | { readonly kind: 'ok'; readonly body: PostBody }
  | {
    readonly kind: 'invalid'; readonly problem: 'parse' | 'not_jsonrpc' | 'ambiguous'; readonly detail: string; readonly id: string | undefined;
    /** A batch: the id of each request in it (each is answered with its own error). */
    readonly batchIds?: readonly string[];
  };

const LF = 0x0a, CR = 0x0d, SPACE = 0x20;
// Cheap pre-checks: without these member names in the bytes, nothing nested is needed.
// Buffers, not strings: Buffer#includes would encode a string on every call.
const PROGRESS_TOKEN = Buffer.from('"progressToken"');
const VERSION_META = Buffer.from(JSON.stringify(PROTOCOL_VERSION_META));

// Reads a POST body (`line`: the body and its `\n`). The envelope reader checks the structure
// without building the body; the body is parsed only when something nested is needed (a
// progress token, a cancelled id, a `_meta` version) or when it spans lines. Line breaks can
// only be whitespace between tokens in valid JSON, so they become spaces: one NDJSON line with
// every other byte as the client sent it.
export function readPostBody(line: Buffer): PostBodyResult {
  const end = line.length - 1;
  let parsed: unknown;
  const firstBreak = line.indexOf(LF);
  if ((firstBreak !== -1 && firstBreak < end) || line.indexOf(CR) !== -1) {
    try {
      parsed = JSON.parse(line.toString('utf8'));
    } catch (error) {
      return { kind: 'invalid', problem: 'parse', detail: (error as Error).message, id: undefined };
    }
    for (let i = 0; i < end; i++) if (line[i] === LF || line[i] === CR) line[i] = SPACE;
  }
  const envelope = readFrameEnvelope(line);
  if (envelope.kind === 'invalid') {
    const problem = envelope.problem === 'blank' ? 'parse' : envelope.problem;
    // The id is echoed when it was read, unambiguously, before the fault.
    return {
      kind: 'invalid', problem, detail: envelope.problem === 'blank' ? 'the body is empty' : envelope.detail, id: envelope.key === undefined ? undefined : envelope.id,
      batchIds: envelope.requests?.map((request) => request.id),
    };
  }
  const messages = envelope.kind === 'batch' ? envelope.members ?? [] : [envelope];
  const body = (): unknown => (parsed ??= JSON.parse(line.toString('utf8')));
  const members = (): unknown[] => {
    const value = body();
    return Array.isArray(value) ? value : [value];
  };
  const mayHaveMeta = line.includes(PROGRESS_TOKEN) || line.includes(VERSION_META);

  let tokens: Array<string | undefined> | undefined;
  let statelessMeta = false;
  if (mayHaveMeta) {
    try {
      const all = members();
      tokens = all.map((m) => {
        const token = requestProgressToken(m);
        return token === undefined ? undefined : JSON.stringify(token);
      });
      // The version the first request with a `_meta` names (as before: one `_meta` decides).
      const version = requestProtocolVersion(all.find((m) => hasMeta(m)));
      statelessMeta = version !== undefined && isStatelessVersion(version);
    } catch (error) {
      return { kind: 'invalid', problem: 'parse', detail: (error as Error).message, id: undefined };
    }
  }

  const requests: PostedRequest[] = [];
  let initializeInBatch = false;
  let cancelledKeys: string[] = [];
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index]!;
    if (message.kind === 'request') {
      requests.push({ rawId: message.id!, key: message.key!, method: message.method!, progressToken: tokens?.[index] });
      if (message.method === INITIALIZE && envelope.kind === 'batch') initializeInBatch = true;
    } else if (message.kind === 'notification' && message.method === CANCELLED) {
      try {
        const key = cancelledRequestKey(members()[index]);
        if (key !== undefined) cancelledKeys = [...cancelledKeys, key];
      } catch {
        // unparseable nested value: the pump answers it as it would on stdio
      }
    }
  }
  const lone = envelope.kind === 'batch' ? undefined : envelope;
  return {
    kind: 'ok',
    body: {
      line, envelope, requests, initializeInBatch, cancelledKeys, statelessMeta,
      isInitialize: lone?.kind === 'request' && lone.method === INITIALIZE,
      method: lone?.kind === 'request' || lone?.kind === 'notification' ? lone.method : undefined,
    },
  };
}

/** Whether a message's `params` has a `_meta` object. */
function hasMeta(message: unknown): boolean {
  const meta = paramsOf(message)?.['_meta'];
  return meta !== null && typeof meta === 'object';
}
