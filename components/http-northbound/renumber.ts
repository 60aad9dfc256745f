import { idKey, type BatchMember, type Envelope } from '../framing/index.js';
import { paramsOf, requestProgressToken } from '../mcp/index.js';
import type { Renumbering } from './exchange.js';

export interface RenumberedRequest {
  readonly key: string;
  readonly clientRawId: string;
  readonly backendRawId: string;
  readonly progressToken: string | undefined;
}

type Message = { id?: unknown; method?: unknown };

// A shared stateless backend serves callers that each number their own requests: a POST whose
// ids (or progress tokens) clash with ones in flight has every request renumbered
// (`"mcp-sidecar:<n>"`), and the exchange restores the client's ids in what it delivers. The
// body is re-serialized: the one case where a client's bytes do not reach the server as sent.
// `envelope` is the one read of the client's bytes; the envelope returned describes the bytes
// returned (ids as re-serialized, batch members as views of the new line), built as they are
// written rather than read again.
export function renumberRequests(line: Buffer, envelope: Envelope, next: () => number): {
  line: Buffer; envelope: Envelope; requests: RenumberedRequest[]; renumbering: Renumbering;
} {
  const parsed = JSON.parse(line.toString('utf8')) as Message | Message[];
  const ids = new Map<string, string>();
  const tokens = new Map<string, string>();
  const requests: RenumberedRequest[] = [];
  const messages = Array.isArray(parsed) ? parsed : [parsed];
  const described = envelope.kind === 'batch' ? envelope.members ?? [] : [envelope];
  const rewritten: Array<{ readonly text: string; readonly envelope: Envelope }> = [];
  for (const [index, message] of messages.entries()) {
    const original = described[index]!;
    if (original.kind !== 'request') {
      // Re-serialized like the rest: its id is now written as JSON.stringify writes it (same key).
      const id = original.id === undefined ? undefined : JSON.stringify(message.id);
      rewritten.push({ text: JSON.stringify(message), envelope: { kind: original.kind, id, key: original.key, method: original.method } });
      continue;
    }
    const n = next();
    const clientRawId = JSON.stringify(message.id);
    const backendRawId = JSON.stringify(`mcp-sidecar:${n}`);
    message.id = `mcp-sidecar:${n}`;
    const key = idKey(backendRawId)!; // a string id the proxy wrote: always a key
    ids.set(key, clientRawId);
    let progressToken: string | undefined;
    const clientToken = requestProgressToken(message);
    if (clientToken !== undefined) {
      progressToken = JSON.stringify(`mcp-sidecar:progress:${n}`);
      tokens.set(progressToken, JSON.stringify(clientToken));
      (paramsOf(message)!['_meta'] as { progressToken: unknown }).progressToken = `mcp-sidecar:progress:${n}`;
    }
    requests.push({ key, clientRawId, backendRawId, progressToken });
    rewritten.push({ text: JSON.stringify(message), envelope: { kind: 'request', id: backendRawId, key, method: original.method } });
  }
  // Only ids and progress tokens change: the nesting the reader measured (Envelope.depth) stays.
  const depth = envelope.depth === undefined ? {} : { depth: envelope.depth };
  if (envelope.kind !== 'batch') {
    const only = rewritten[0]!;
    return { line: Buffer.from(`${only.text}\n`), envelope: { ...only.envelope, ...depth }, requests, renumbering: { ids, tokens } };
  }
  const renumbered = Buffer.from(`[${rewritten.map((member) => member.text).join(',')}]\n`);
  // Each member's bytes: a view of the new line, where its text was written (1 for `[`, then text and `,`).
  const members: BatchMember[] = [];
  let offset = 1;
  for (const member of rewritten) {
    const bytes = Buffer.byteLength(member.text);
    members.push({ ...member.envelope, bytes: renumbered.subarray(offset, offset + bytes) });
    offset += bytes + 1;
  }
  return { line: renumbered, envelope: { kind: 'batch', id: undefined, key: undefined, method: undefined, members, ...depth }, requests, renumbering: { ids, tokens } };
}
