// The bench's calls, pre-encoded: a `tools/call` of the bench server's `echo` tool with a
// text of a given size, and the exact response the server gives to it. Ids have a fixed
// width, so a call is made by writing its digits into a template, not by encoding JSON.

export const ID_DIGITS = 6;
const FIRST_ID = 100_000;
const ID_SPAN = 900_000; // ids wrap after this many calls: long after the old ones were answered

const REQUEST_HEAD = '{"jsonrpc":"2.0","id":';
/** The tools/call's name: the bench server's `echo`, or `<namespace>.echo` through the gateway. */
export const DEFAULT_TOOL = 'echo';
const requestMiddle = (toolName) => `,"method":"tools/call","params":{"name":${JSON.stringify(toolName)},"arguments":{"text":"`;
const REQUEST_TAIL = '"}}}\n';
const RESPONSE_HEAD = '{"jsonrpc":"2.0","id":';
const RESPONSE_MIDDLE = ',"result":{"content":[{"type":"text","text":"';
const RESPONSE_TAIL = '"}]}}\n';

const ID_OFFSET = REQUEST_HEAD.length; // the same in requests and responses
const REQUEST_OVERHEAD = REQUEST_HEAD.length + ID_DIGITS + requestMiddle(DEFAULT_TOOL).length + REQUEST_TAIL.length;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';

/** The id of the n-th call of a session (0-based). */
export function idFor(n) {
  return FIRST_ID + (n % ID_SPAN);
}

/** Text size that makes a request line exactly `lineBytes` long (at least 1 character). */
export function textBytesForLine(lineBytes) {
  return Math.max(1, lineBytes - REQUEST_OVERHEAD);
}

function fillText(buffer, offset, length) {
  // A repeating pattern: plain ASCII, nothing the JSON encoder would escape.
  const pattern = Buffer.from(ALPHABET.repeat(Math.ceil(Math.min(length, 65_536) / ALPHABET.length)), 'latin1');
  for (let at = 0; at < length; at += pattern.length) pattern.copy(buffer, offset + at, 0, Math.min(pattern.length, length - at));
}

function build(head, middle, tail, textBytes) {
  const buffer = Buffer.allocUnsafe(head.length + ID_DIGITS + middle.length + textBytes + tail.length);
  let at = buffer.write(head, 0, 'latin1');
  at += buffer.write('0'.repeat(ID_DIGITS), at, 'latin1');
  at += buffer.write(middle, at, 'latin1');
  fillText(buffer, at, textBytes);
  buffer.write(tail, at + textBytes, 'latin1');
  return buffer;
}

/** Writes the id's digits into a request or response built here. */
export function setId(buffer, id) {
  for (let k = ID_OFFSET + ID_DIGITS - 1; k >= ID_OFFSET; k--) {
    buffer[k] = 0x30 + (id % 10);
    id = Math.floor(id / 10);
  }
}

/** A call: the request to send and the response expected back, both with id digits to fill. */
export function createCall(textBytes, toolName = DEFAULT_TOOL) {
  return {
    request: build(REQUEST_HEAD, requestMiddle(toolName), REQUEST_TAIL, textBytes),
    response: build(RESPONSE_HEAD, RESPONSE_MIDDLE, RESPONSE_TAIL, textBytes),
  };
}

/** `count` independent calls (a ring), so a call can be refilled while others are in flight. */
export function createCallRing(textBytes, count, toolName = DEFAULT_TOOL) {
  return Array.from({ length: count }, () => createCall(textBytes, toolName));
}

export function initializeRequest(id) {
  return Buffer.from(`${JSON.stringify({
    jsonrpc: '2.0', id, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'mcp-bench', version: '1.0.0' } },
  })}\n`);
}

export const INITIALIZED_NOTIFICATION = Buffer.from('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
