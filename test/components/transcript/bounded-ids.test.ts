// Issue 19, item 5: a transcript line copies the frame's id and method beside its body; a peer's
// huge id or method is bounded there (a prefix and a digest of the whole), and replay still pairs
// the request with its response — also when the two spell the long id differently, and when a
// cancellation names it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MAX_COPIED_CHARS } from '../../../components/execution-report/index.js';
import { openTranscript, type TranscriptFrame } from '../../../components/transcript/index.js';
import { cancelledKey, pairKey, recordedId } from '../../../components/transcript/pairing.js';
import { parseTranscriptLine, type FrameLine } from '../../../components/transcript/read.js';
import { policyYaml, quiet, replay, tempDir, writeTemp } from './session.js';

const dir = tempDir();
const MIB = 1024 * 1024;
const LONG = 'a'.repeat(MIB);
const AT = 1_767_225_600_000;

const frameLines = (path: string): Array<Record<string, unknown>> =>
  readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['type'] === 'frame');

function frame(fields: Partial<TranscriptFrame> & Pick<TranscriptFrame, 'direction' | 'phase' | 'kind' | 'method' | 'line'>): TranscriptFrame {
  return { decisions: [], action: 'forward', at: AT, ...fields } as TranscriptFrame;
}

async function record(path: string, frames: readonly TranscriptFrame[]): Promise<void> {
  const writer = openTranscript({ path, arguments: 'redacted', logger: quiet });
  for (const f of frames) writer.record(f);
  await writer.close();
  assert.equal(writer.stats.failures, 0);
  assert.equal(writer.stats.written, frames.length);
}

describe('transcript: bounded ids and methods', () => {
  it('should record a 1 MiB id bounded beside the body, and replay should pair its response spelled another way', async () => {
    const path = writeTemp(dir, 'long-id.ndjson', '');
    const requestId = JSON.stringify(LONG);
    // The same id value, its first character escaped: the pump pairs them by value, so must replay.
    const responseId = `"\\u0061${LONG.slice(1)}"`;
    const request = Buffer.from(`{"jsonrpc":"2.0","id":${requestId},"method":"tools/call","params":{"name":"delete_file","arguments":{}}}\n`);
    const response = Buffer.from(`{"jsonrpc":"2.0","id":${responseId},"result":{"content":[]}}\n`);
    await record(path, [
      frame({ direction: 'client-to-server', phase: 'request', kind: 'request', method: 'tools/call', id: requestId, line: request }),
      frame({ direction: 'server-to-client', phase: 'response', kind: 'response', method: 'tools/call', id: responseId, line: response, at: AT + 5 }),
    ]);

    const [requestLine, responseLine] = frameLines(path);
    for (const line of [requestLine!, responseLine!]) {
      const id = line['id'] as string;
      assert.ok(id.length <= MAX_COPIED_CHARS, `recorded id is ${id.length} characters`);
      assert.match(id, /^"a{127}…\[truncated: 1048578 bytes, sha256:[0-9a-f]{64}\]$/);
    }
    assert.equal(requestLine!['id'], responseLine!['id'], 'both spellings recorded as one text');
    // The id is in the body once, not again beside it: the line is the frame's size and a little.
    const fileBytes = readFileSync(path).length;
    assert.ok(fileBytes < request.length + response.length + 4096, `${fileBytes} bytes for ${request.length + response.length} bytes of frames`);

    const denyDelete = writeTemp(dir, 'deny.yaml', policyYaml('deny', '  - id: no-delete\n    tools: { deny: ["delete_*"] }\n'));
    const { code, out, err } = await replay('--transcript', path, '--policy', denyDelete, '--json');
    assert.equal(code, 0, err);
    const result = JSON.parse(out) as { invocations: number; notes: Record<string, unknown>; differences: Array<{ change: string; invocations: Array<{ id?: string }> }> };
    assert.equal(result.invocations, 1, 'request and response are one invocation');
    assert.equal(result.notes['unpairedResponses'], 0);
    assert.deepEqual(result.differences.map((d) => [d.change, d.invocations.map((i) => i.id)]), [['newly', [requestLine!['id']]]]);
  });

  it('should give a recorded long id, the full id and a cancellation naming it one pairing key', () => {
    const full = JSON.stringify(LONG);
    const base = { session: undefined, direction: 'client-to-server' as const, kind: 'request' as const };
    const key = pairKey({ ...base, id: full });
    assert.equal(pairKey({ ...base, id: recordedId(full) }), key);
    assert.equal(pairKey({ ...base, id: recordedId(`"\\u0061${LONG.slice(1)}"`) }), key);
    assert.equal(pairKey({ session: undefined, direction: 'server-to-client', kind: 'response', id: recordedId(full) }), key);
    const cancel = { ...base, kind: 'notification', method: 'notifications/cancelled', id: undefined, frame: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: LONG } } } as unknown as FrameLine;
    assert.equal(cancelledKey(cancel), key);
    // Another long id with the same prefix is another key.
    assert.notEqual(pairKey({ ...base, id: recordedId(JSON.stringify(`${LONG}b`)) }), key);
    // Short ids are recorded as written, and still paired by value.
    assert.equal(recordedId('7.0'), '7.0');
    assert.equal(pairKey({ ...base, id: '7.0' }), pairKey({ ...base, id: '7' }));
  });

  it('should bound a huge method in the line, and the line should still read back', async () => {
    const path = writeTemp(dir, 'long-method.ndjson', '');
    const method = `x/${'m'.repeat(MIB)}`;
    await record(path, [frame({ direction: 'client-to-server', phase: 'request', kind: 'notification', method, line: Buffer.from(`{"jsonrpc":"2.0","method":${JSON.stringify(method)}}\n`) })]);
    const [line] = frameLines(path);
    assert.ok((line!['method'] as string).length <= MAX_COPIED_CHARS);
    assert.match(line!['method'] as string, /^x\/m{126}…\[truncated: 1048578 bytes, sha256:/);
    const read = parseTranscriptLine({ text: readFileSync(path, 'utf8').split('\n')[1]!, number: 2, terminated: true }) as FrameLine;
    assert.equal(read.method, line!['method']);
  });
});
