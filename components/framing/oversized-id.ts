import type { OversizedLine } from './line-splitter.js';
import { idKey } from './id-key.js';
import { readEnvelope } from './envelope.js';

// An over-long frame is discarded as it streams past, keeping only its ends. Its id is
// usually near one of them: clients write `{"jsonrpc","id","method",…}`, servers often end
// with `…,"id":7}`. The head is scanned as far as it goes (the envelope reader keeps what it
// read before the cut); failing that, the tail is matched as the last member of the object.
const TRAILING_ID = /"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*\}\s*$/;

export interface OversizedFrameInfo {
  readonly id: string | undefined;
  /** The id by value; undefined when none was read, or when peers could read it differently. */
  readonly key: string | undefined;
  /** The method if it was seen in the head: a request or notification, else probably a response. */
  readonly method: string | undefined;
}

/** Best-effort id and method of an over-long frame from its kept ends. */
export function readOversizedId(line: OversizedLine): OversizedFrameInfo {
  const partial = readEnvelope(line.head);
  if (partial.id !== undefined && partial.key !== undefined) return { id: partial.id, key: partial.key, method: partial.method };
  const id = TRAILING_ID.exec(line.tail.toString('utf8'))?.[1];
  const key = id === undefined ? undefined : idKey(id);
  return { id: key === undefined ? undefined : id, key, method: partial.method };
}
