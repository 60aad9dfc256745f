import { idKey } from '../framing/index.js';
import type { Renumbering } from './exchange.js';

export interface RenumberedRequest {
  readonly key: string;
  readonly clientRawId: string;
  readonly backendRawId: string;
  readonly progressToken: string | undefined;
}

type Message = { id?: unknown; method?: unknown; params?: { _meta?: { progressToken?: unknown } } };

// A shared stateless backend serves callers that each number their own requests: a POST whose
// ids (or progress tokens) clash with ones in flight has every request renumbered
// (`"mcp-sidecar:<n>"`), and the exchange restores the client's ids in what it delivers. The
// body is re-serialized: the one case where a client's bytes do not reach the server as sent.
export function renumberRequests(line: Buffer, next: () => number): { line: Buffer; requests: RenumberedRequest[]; renumbering: Renumbering } {
  const parsed = JSON.parse(line.toString('utf8')) as Message | Message[];
  const ids = new Map<string, string>();
  const tokens = new Map<string, string>();
  const requests: RenumberedRequest[] = [];
  for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
    if (typeof message?.method !== 'string' || message.id === undefined) continue;
    const n = next();
    const clientRawId = JSON.stringify(message.id);
    const backendRawId = JSON.stringify(`mcp-sidecar:${n}`);
    message.id = `mcp-sidecar:${n}`;
    const key = idKey(backendRawId)!; // a string id the proxy wrote: always a key
    ids.set(key, clientRawId);
    let progressToken: string | undefined;
    const meta = message.params?._meta;
    if (meta !== undefined && (typeof meta.progressToken === 'string' || typeof meta.progressToken === 'number')) {
      progressToken = JSON.stringify(`mcp-sidecar:progress:${n}`);
      tokens.set(progressToken, JSON.stringify(meta.progressToken));
      meta.progressToken = `mcp-sidecar:progress:${n}`;
    }
    requests.push({ key, clientRawId, backendRawId, progressToken });
  }
  return { line: Buffer.from(`${JSON.stringify(parsed)}\n`), requests, renumbering: { ids, tokens } };
}
