import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createPump, type Pump } from '../../../components/pump/index.js';
import { createNdjsonChannel } from '../../../components/transport/index.js';
import { captureLogs } from '../../helpers/log-capture.js';

// A pump between in-memory streams: what the client writes, what the server writes, and
// what each of them receives.
function setup(options: { maxFrameBytes?: number; clientOutput?: Writable } = {}) {
  const clientIn = new PassThrough();
  const clientOut = options.clientOutput ?? new PassThrough();
  const serverStdout = new PassThrough();
  const serverStdin = new PassThrough();
  const maxFrameBytes = options.maxFrameBytes ?? 1 << 20;
  const logs = captureLogs();
  const events = { clientEnded: 0, serverEnded: 0 };
  const pump: Pump = createPump({
    client: createNdjsonChannel(clientIn, clientOut, { maxFrameBytes }),
    server: createNdjsonChannel(serverStdout, serverStdin, { maxFrameBytes }),
    logger: logs.logger,
    events: { onClientEnd: () => events.clientEnded++, onClientGone: () => {}, onServerEnd: () => events.serverEnded++ },
  });
  const received = (stream: Writable | PassThrough): (() => string) => {
    let text = '';
    if (stream instanceof PassThrough) stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    return () => text;
  };
  return { pump, clientIn, clientOut, serverStdout, serverStdin, logs, events, toServer: received(serverStdin), toClient: received(clientOut) };
}

const lines = (text: string): Array<Record<string, any>> => text.split('\n').filter(Boolean).map((line) => JSON.parse(line));

describe('pump', () => {
  it('should forward frames both ways byte for byte, unknown fields and number forms included', async () => {
    const s = setup();
    const request = '{ "id" : 1.50 ,"method":"tools/call","jsonrpc":"2.0","params":{"name":"x","_meta":{"progressToken":"p"}},"extra":{"k":1e3}}\n';
    const notification = '{"jsonrpc":"2.0","method":"notifications/unknown-thing","params":{}}\r\n';
    s.clientIn.write(request + notification);
    await tick();
    assert.equal(s.toServer(), request + notification);
    assert.equal(s.pump.pendingCount, 1);

    const response = '{"result":{"content":[]},"jsonrpc":"2.0","id":1.5}\n';
    const serverRequest = '{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{}}\n';
    s.serverStdout.write(response + serverRequest);
    await tick();
    assert.equal(s.toClient(), response + serverRequest);
    assert.equal(s.pump.pendingCount, 0, 'the id 1.5 answers the request 1.50');

    s.clientIn.write('{"jsonrpc":"2.0","id":"s1","result":{"role":"assistant"}}\n');
    await tick();
    assert.ok(s.toServer().endsWith('{"jsonrpc":"2.0","id":"s1","result":{"role":"assistant"}}\n'));
  });

  it('should add the missing newline to a last frame cut by end of input', async () => {
    const s = setup();
    s.clientIn.end('{"jsonrpc":"2.0","method":"notifications/initialized"}');
    await tick();
    assert.equal(s.toServer(), '{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    assert.equal(s.events.clientEnded, 1);
  });

  it('should answer invalid JSON from the client with -32700, its id when read before the fault (else null), and go on', async () => {
    const s = setup();
    s.clientIn.write('{"jsonrpc":"2.0","id":3,"method":\n{"jsonrpc":"2.0","method":"ping","id":\n{"jsonrpc":"2.0","id":4,"method":"ping"}\n');
    await tick();
    const [reply, second] = lines(s.toClient());
    assert.equal(reply!.id, 3);
    assert.equal(second!.id, null);
    assert.equal(reply!.error.code, -32700);
    assert.equal(reply!.error.data.category, 'user_error');
    assert.equal(s.toServer(), '{"jsonrpc":"2.0","id":4,"method":"ping"}\n');
  });

  it('should skip whitespace-only lines from either side without a reply or a log', async () => {
    const s = setup();
    s.clientIn.write('   \n\t\r\n{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    s.serverStdout.write(' \n{"jsonrpc":"2.0","id":1,"result":{}}\n');
    await tick();
    assert.equal(s.toServer(), '{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    assert.equal(s.toClient(), '{"jsonrpc":"2.0","id":1,"result":{}}\n');
    assert.deepEqual([s.pump.stats.invalidFromClient, s.pump.stats.invalidFromServer], [0, 0]);
    assert.equal(s.logs.entries.filter((e) => (e.level as number) >= 40).length, 0);
  });

  it('should answer JSON that is not JSON-RPC with -32600 and its id when readable', async () => {
    const s = setup();
    s.clientIn.write('[]\n{"jsonrpc":"2.0","id":"q"}\n');
    await tick();
    const replies = lines(s.toClient());
    assert.deepEqual(replies.map((r) => [r.id, r.error.code]), [[null, -32600], ['q', -32600]]);
    assert.equal(s.toServer(), '');
  });

  it('should drop and log garbage from the server, and still deliver the next frame', async () => {
    const s = setup();
    s.serverStdout.write('Server listening on stdio...\n{"broken":\n{"jsonrpc":"2.0","method":"notifications/message","params":{}}\n');
    await tick();
    assert.equal(s.toClient(), '{"jsonrpc":"2.0","method":"notifications/message","params":{}}\n');
    assert.equal(s.pump.stats.invalidFromServer, 2);
    const dropped = s.logs.entries.filter((e) => e.msg === 'dropped a line from the server that is not one reading of a JSON-RPC frame');
    assert.deepEqual(dropped.map((e) => e.line), ['Server listening on stdio...', '{"broken":']);
  });

  it('should answer every pending request when the server is gone, echoing each id exactly', async () => {
    const s = setup();
    s.clientIn.write('{"jsonrpc":"2.0","id":"a\\"b","method":"tools/call"}\n{"jsonrpc":"2.0","id":7,"method":"ping"}\n');
    await tick();
    s.pump.failPending('SIDECAR_ERR_UPSTREAM_EXITED', 'the server exited (exit code 1)');
    await tick();
    const text = s.toClient();
    assert.ok(text.includes('"id":"a\\"b"'), text);
    const replies = lines(text);
    assert.deepEqual(replies.map((r) => r.id), ['a"b', 7]);
    for (const reply of replies) {
      assert.equal(reply.error.code, -32003);
      assert.deepEqual([reply.error.data.category, reply.error.data.retryable], ['transient_error', true]);
      assert.match(reply.error.message, /exited/);
    }
    assert.equal(s.pump.pendingCount, 0);
  });

  it('should refuse new requests once told to, without forwarding them', async () => {
    const s = setup();
    s.pump.refuseNewRequests('SIDECAR_ERR_SHUTTING_DOWN', 'received SIGTERM');
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n');
    await tick();
    assert.equal(s.toServer(), '');
    const [reply] = lines(s.toClient());
    assert.equal(reply!.error.data.code, 'SIDECAR_ERR_SHUTTING_DOWN');
    assert.match(reply!.error.message, /SIGTERM/);
  });

  it('should answer an over-limit request with -32001 for its id, and carry on', async () => {
    const s = setup({ maxFrameBytes: 2048 });
    s.clientIn.write(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"x":"${'a'.repeat(10_000)}"}}\n`);
    s.clientIn.write('{"jsonrpc":"2.0","id":10,"method":"ping"}\n');
    await tick();
    const [reply] = lines(s.toClient());
    assert.deepEqual([reply!.id, reply!.error.code, reply!.error.data.code], [9, -32001, 'SIDECAR_ERR_FRAME_TOO_LARGE']);
    assert.equal(s.toServer(), '{"jsonrpc":"2.0","id":10,"method":"ping"}\n');
  });

  it('should fail the request whose response is over the limit with -32002', async () => {
    const s = setup({ maxFrameBytes: 2048 });
    s.clientIn.write('{"jsonrpc":"2.0","id":"big","method":"resources/read"}\n');
    await tick();
    s.serverStdout.write(`{"jsonrpc":"2.0","result":{"contents":[{"text":"${'b'.repeat(10_000)}"}]},"id":"big"}\n`);
    await tick();
    const [reply] = lines(s.toClient());
    assert.deepEqual([reply!.id, reply!.error.code], ['big', -32002]);
    assert.equal(s.pump.pendingCount, 0);
  });

  it('should resolve whenIdle when the last pending response arrives', async () => {
    const s = setup();
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    await tick();
    let idle = false;
    const waiting = s.pump.whenIdle(10_000).then(() => (idle = true));
    await tick();
    assert.equal(idle, false);
    s.serverStdout.write('{"jsonrpc":"2.0","id":1,"result":{}}\n');
    await waiting;
    assert.equal(idle, true);
  });

  it('should stop reading the server while the client is not reading, and resume after', async () => {
    // A client output that accepts nothing until released: the proxy must not buffer without bound.
    const held: Array<() => void> = [];
    const slowClient = new Writable({ highWaterMark: 1024, write: (_chunk, _enc, callback) => void held.push(callback) });
    const s = setup({ clientOutput: slowClient });
    const frame = `{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"${'m'.repeat(500)}"}}\n`;
    for (let i = 0; i < 20; i++) s.serverStdout.write(frame);
    await tick();
    await tick();
    assert.equal(s.serverStdout.isPaused(), true, 'server output paused while the client is congested');
    while (held.length > 0) held.shift()!();
    await tick();
    await tick();
    assert.equal(s.serverStdout.isPaused(), false, 'resumed after the client drained');
  });
});
