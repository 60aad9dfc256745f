#!/usr/bin/env node
// The bench's MCP server: as cheap as a server can be, so that what a proxy adds stays
// visible. No SDK. One tool, `echo`, which returns its `text` argument as a text content
// block. The bench client's calls take a fast path that builds the response from the
// request's bytes (the text is copied as the JSON string it already is, never decoded);
// anything else (initialize, tools/list, ping, other shapes of a call) is parsed.
//   node bench/server.mjs [--json]
// --json turns the fast path off: every request is JSON.parse'd and every response
// JSON.stringify'd, as a typical hand-written server does (the bytes are the same).
import { createLineReader } from './lib/lines.mjs';

const PROTOCOL_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];
const TOOLS = [{
  name: 'echo',
  description: 'Returns the text it is given.',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
}];

const QUOTE = 0x22;
const CALL_HEAD = Buffer.from('{"jsonrpc":"2.0","id":');
const CALL_MIDDLE = Buffer.from(',"method":"tools/call","params":{"name":"echo","arguments":{"text":');
const CALL_TAIL = Buffer.from('}}}\n');
const RESULT_MIDDLE = Buffer.from(',"result":{"content":[{"type":"text","text":');
const RESULT_TAIL = Buffer.from('}]}}\n');
const SMALL_RESPONSE_BYTES = 16 * 1024; // below this a response is one buffer; above, three (no copy of the text)

const out = process.stdout;
const parseEverything = process.argv.includes('--json');

function startsWith(line, at, expected) {
  return line.length - at >= expected.length && line.compare(expected, 0, expected.length, at, at + expected.length) === 0;
}

// `{"jsonrpc":"2.0","id":<digits>,"method":"tools/call","params":{"name":"echo","arguments":{"text":"<no quote>"}}}`
function echoFast(line) {
  if (!startsWith(line, 0, CALL_HEAD)) return false;
  const idStart = CALL_HEAD.length;
  let idEnd = idStart;
  while (idEnd < line.length && line[idEnd] >= 0x30 && line[idEnd] <= 0x39) idEnd++;
  if (idEnd === idStart || !startsWith(line, idEnd, CALL_MIDDLE)) return false;
  const textStart = idEnd + CALL_MIDDLE.length;
  const textEnd = line.length - CALL_TAIL.length; // just past the closing quote
  if (textEnd <= textStart || !startsWith(line, textEnd, CALL_TAIL) || line[textStart] !== QUOTE) return false;
  // One string: its first unescaped quote is the last. (Escapes inside are copied as written.)
  if (line.indexOf(QUOTE, textStart + 1) !== textEnd - 1) return false;
  const headBytes = CALL_HEAD.length + (idEnd - idStart) + RESULT_MIDDLE.length;
  const total = headBytes + (textEnd - textStart) + RESULT_TAIL.length;
  if (total <= SMALL_RESPONSE_BYTES) {
    const response = Buffer.allocUnsafe(total);
    line.copy(response, 0, 0, idEnd);
    RESULT_MIDDLE.copy(response, idEnd);
    line.copy(response, headBytes, textStart, textEnd);
    RESULT_TAIL.copy(response, total - RESULT_TAIL.length);
    out.write(response);
  } else {
    const head = Buffer.allocUnsafe(headBytes);
    line.copy(head, 0, 0, idEnd);
    RESULT_MIDDLE.copy(head, idEnd);
    out.write(head);
    out.write(line.subarray(textStart, textEnd));
    out.write(RESULT_TAIL);
  }
  return true;
}

function result(message) {
  const { method, params } = message;
  switch (method) {
    case 'initialize':
      return {
        protocolVersion: PROTOCOL_VERSIONS.includes(params?.protocolVersion) ? params.protocolVersion : PROTOCOL_VERSIONS.at(-1),
        capabilities: { tools: {} },
        serverInfo: { name: 'mcp-bench-server', version: '1.0.0' },
      };
    case 'ping':
      return {};
    case 'tools/list':
      return { tools: TOOLS };
    case 'tools/call':
      if (params?.name !== 'echo') throw Object.assign(new Error(`Unknown tool: ${params?.name}`), { code: -32602 });
      if (typeof params.arguments?.text !== 'string') return { content: [{ type: 'text', text: 'echo needs a string "text"' }], isError: true };
      return { content: [{ type: 'text', text: params.arguments.text }] };
    default:
      throw Object.assign(new Error(`Method not found: ${method}`), { code: -32601 });
  }
}

function send(message) {
  out.write(`${JSON.stringify(message)}\n`);
}

function handle(line) {
  if (!parseEverything && echoFast(line)) return;
  let message;
  try {
    message = JSON.parse(line.toString('utf8'));
  } catch {
    return send({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
  }
  if (typeof message !== 'object' || message === null || typeof message.method !== 'string') return; // responses, batches
  if (message.id === undefined) return; // notifications
  try {
    send({ jsonrpc: '2.0', id: message.id, result: result(message) });
  } catch (error) {
    send({ jsonrpc: '2.0', id: message.id, error: { code: error.code ?? -32603, message: error.message } });
  }
}

const readLines = createLineReader(handle);
// The responses to one chunk of requests go out in one write (writev).
process.stdin.on('data', (chunk) => {
  out.cork();
  readLines(chunk);
  out.uncork();
});
process.stdin.on('end', () => process.exit(0));
out.on('error', () => process.exit(0)); // the client went away
