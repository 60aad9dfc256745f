/**
 * Text a peer chose, copied into a report (the request id, the method, the target's name), is
 * bounded (issue 19: 100k hostile frames with huge ids drove the proxy to 420–490 MB): longer
 * than `MAX_COPIED_CHARS`, it is recorded as its first `KEPT_CHARS` characters, then
 * `…[truncated: <bytes> bytes, sha256:<hex of the whole text's UTF-8>]` — still a string the
 * schema accepts, still telling two long ids apart, and checkable against the frame.
 */
import { sha256Digest } from './digest.js';

export const MAX_COPIED_CHARS = 256;
const KEPT_CHARS = 128;

export function boundedText(text: string): string {
  if (text.length <= MAX_COPIED_CHARS) return text;
  // Not between the two halves of a surrogate pair.
  const cut = text.charCodeAt(KEPT_CHARS - 1) >= 0xd800 && text.charCodeAt(KEPT_CHARS - 1) <= 0xdbff ? KEPT_CHARS - 1 : KEPT_CHARS;
  return `${text.slice(0, cut)}…[truncated: ${Buffer.byteLength(text)} bytes, ${sha256Digest(text)}]`;
}
