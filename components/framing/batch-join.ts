import type { BatchMember, Envelope } from './envelope.js';

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']\n');

/** A frame's JSON text: without its line end and any whitespace after the value (a view, no copy). */
export function jsonTextOf(frame: Buffer): Buffer {
  let end = frame.length;
  while (end > 0 && (frame[end - 1] === 0x0a || frame[end - 1] === 0x0d || frame[end - 1] === 0x20 || frame[end - 1] === 0x09)) end--;
  return end === frame.length ? frame : frame.subarray(0, end);
}

/**
 * Messages (each its JSON text: jsonTextOf) joined as one batch frame, `[a,b]\n`, and the batch's
 * envelope, each member a view of the frame with its own envelope: whoever reads the batch next
 * reads no byte again. One allocation, exactly the frame's length. `parts` is not empty.
 */
export function joinBatch(parts: readonly Buffer[], envelopes: readonly Envelope[]): { readonly line: Buffer; readonly envelope: Envelope } {
  let length = OPEN.length + CLOSE.length + parts.length - 1;
  for (const part of parts) length += part.length;
  const line = Buffer.allocUnsafe(length);
  const members: BatchMember[] = [];
  let offset = OPEN.copy(line, 0);
  parts.forEach((part, index) => {
    if (index > 0) offset += COMMA.copy(line, offset);
    const start = offset;
    offset += part.copy(line, offset);
    const { kind, id, key, method } = envelopes[index]!;
    members.push({ kind, id, key, method, bytes: line.subarray(start, offset) });
  });
  CLOSE.copy(line, offset);
  return { line, envelope: { kind: 'batch', id: undefined, key: undefined, method: undefined, members } };
}
