import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { encodeErrorResponse, type ErrorCode } from '../../../components/errors/index.js';
import { readEnvelope } from '../../../components/framing/index.js';
import { createSessionRecovery } from '../../../components/session-recovery/index.js';
import type { FrameChannel, LocalReplyTarget } from '../../../components/transport/index.js';
import { createGovernor, type ExecutablePin, type Governor, type GovernorEvent, type GovernorFatal, type PinRefusal, type RestartPolicy } from '../../../components/proxy-process-governor/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { isRunning, waitFor } from '../../helpers/processes.js';
import { tempDir } from '../../helpers/temp-dir.js';

const FIXTURE = resolve('test/fixtures/governor/mcp-server.js');
const POLICY: RestartPolicy = {
  maxRestarts: 3, backoffBaseMs: 100, backoffMaxMs: 30_000, backoffJitter: 0.1, stableAfterMs: 60_000, queueLimit: 4, queueTimeoutMs: 5_000,
};

// Drives a governor's channel directly, as the pump would: frames in, frames out. `frames` is
// what the client sees: the server's frames and the router's answers to what the governor gave
// up on (encoded as the pump's localReply encodes them); `serverFrames` and `localReplies` apart.
// With `recovery`, the channel is seen through session recovery, as the runtime wires it.
function harness(env: Record<string, string>, options: { clock?: FakeClock; restart?: Partial<RestartPolicy>; pin?: ExecutablePin; recovery?: boolean } = {}) {
  const frames: Array<Record<string, any>> = [];
  const serverFrames: Array<Record<string, any>> = [];
  const localReplies: Array<{ request: LocalReplyTarget; code: ErrorCode; detail: string }> = [];
  const resets: Array<{ reason: string; waiting: ReadonlySet<string> }> = [];
  const fatals: GovernorFatal[] = [];
  const events: GovernorEvent[] = [];
  const logs = captureLogs('info');
  const recovery = options.recovery === true ? createSessionRecovery({ logger: logs.logger }) : undefined;
  const governor: Governor = createGovernor({
    executable: process.execPath,
    argv: ['node', FIXTURE],
    env: { PATH: process.env.PATH, ...env },
    maxFrameBytes: 1 << 20,
    restart: { ...POLICY, ...options.restart },
    stop: { stdinCloseGraceMs: 500, killTimeoutMs: 500 },
    logger: logs.logger,
    onFatal: (fatal) => fatals.push(fatal),
    onEvent: (event) => events.push(event),
    pin: options.pin,
    clock: options.clock,
    random: () => 0.5, // no jitter: exact delays
    onServerStart: recovery?.onServerStart,
  });
  const channel: FrameChannel = recovery === undefined ? governor.channel : recovery.wrap(governor.channel);
  channel.start({
    onFrame: (line) => {
      const frame = JSON.parse(line.toString());
      serverFrames.push(frame);
      frames.push(frame);
    },
    onLocalReply: (request, code, detail) => {
      localReplies.push({ request, code, detail });
      frames.push(JSON.parse(encodeErrorResponse(request.id, code, detail).toString()));
    },
    onOversized: () => {},
    onEnd: () => {},
    onWriteError: () => {},
    onCongested: () => {},
    onDrained: () => {},
    onReset: (reason, waiting) => resets.push({ reason, waiting }),
  });
  const send = (message: object | string): void => {
    const line = Buffer.from(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
    channel.send(line, readEnvelope(line) as never);
  };
  const frameWithId = async (id: unknown): Promise<Record<string, any>> => {
    await waitFor(() => frames.some((f) => f.id === id), 5000, `a frame with id ${JSON.stringify(id)}`);
    return frames.find((f) => f.id === id)!;
  };
  // The restart is scheduled (its backoff timer set) once the `restart` event is out.
  const restarted = (times: number): Promise<void> => waitFor(() => events.filter((e) => e.event === 'restart').length >= times, 5000, `restart ${times}`);
  return { governor, frames, serverFrames, localReplies, resets, fatals, events, logs, send, frameWithId, restarted };
}

const INITIALIZE = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: { sampling: {} }, clientInfo: { name: 't', version: '1' } } };
const call = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'x', arguments: {} } });

let running: Governor[] = [];
afterEach(async () => {
  await Promise.all(running.map((g) => g.stop()));
  running = [];
});
const track = <T extends { governor: Governor }>(h: T): T => {
  running.push(h.governor);
  return h;
};

describe('governor', () => {
  it('should go from starting to ready when the server answers its first request', async () => {
    const h = track(harness({}));
    assert.equal(h.governor.state, 'starting');
    h.send(call(1));
    await h.frameWithId(1);
    assert.equal(h.governor.state, 'ready');
  });

  it('should back off 100, 200, 400 ms on a crash loop, then give up with exit 70 and the stderr tail', async () => {
    const clock = new FakeClock();
    const h = track(harness({ EXIT_AT_START: '1' }, { clock }));
    const delays: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      await h.restarted(attempt + 1); // the backoff timer is set
      const [timer] = clock.pending();
      delays.push(timer!.ms);
      assert.equal(h.governor.state, 'backoff');
      clock.advance(timer!.ms);
    }
    await waitFor(() => h.fatals.length > 0, 5000, 'the governor to give up');
    assert.deepEqual(delays, [100, 200, 400]);
    assert.equal(h.governor.generation, 3, 'one first run and three restarts');
    assert.equal(h.fatals[0]!.exitCode, 70);
    assert.match(h.fatals[0]!.reason, /failed 4 times in a row.*exit code 1.*after 3 restarts/);
    assert.ok(h.fatals[0]!.stderrTail.includes('fixture: exiting at start with 1'));
    assert.equal(h.governor.state, 'fatal');
  });

  it('should not restart a server that exits with 78 (EX_CONFIG)', async () => {
    const clock = new FakeClock();
    const h = track(harness({ EXIT_AT_START: '78' }, { clock }));
    await waitFor(() => h.fatals.length > 0, 5000, 'fatal');
    assert.equal(h.fatals[0]!.exitCode, 78);
    assert.equal(clock.pending().length, 0, 'no restart scheduled');
    assert.equal(h.governor.generation, 0);
  });

  it('should never restart at all with maxRestarts 0', async () => {
    const h = track(harness({ EXIT_AT_START: '1' }, { restart: { maxRestarts: 0 } }));
    await waitFor(() => h.fatals.length > 0, 5000, 'fatal');
    assert.equal(h.governor.generation, 0);
  });

  it('should recover a crashed session: in-flight call fails retryably, the next one is served after a replayed initialize', async () => {
    const dir = tempDir('governor');
    const record = join(dir, 'received.log');
    const h = track(harness({ CRASH_ON_CALL: '2', STATE_FILE: join(dir, 'calls'), RECORD_FILE: record, LIST_CHANGED: '1' }, { restart: { backoffBaseMs: 10 }, recovery: true }));
    h.send(INITIALIZE);
    await h.frameWithId(0);
    h.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    h.send(call(1));
    assert.match((await h.frameWithId(1)).result.content[0].text, /call 1/);
    const firstPid = h.governor.upstream!.pid!;

    h.send(call(2)); // the server dies on this one
    await waitFor(() => h.resets.length === 1, 5000, 'the reset');
    assert.match(h.resets[0]!.reason, /exited \(exit code 1\)/);
    h.send(call(3)); // waits for the new server
    const third = await h.frameWithId(3);
    assert.match(third.result.content[0].text, /call 3/);
    assert.notEqual(h.governor.upstream!.pid, firstPid);
    assert.equal(isRunning(firstPid), false);

    // The new server saw the handshake first, under a proxy-owned id, and the client was told to re-list.
    const lines = readFileSync(record, 'utf8').trim().split('\n').filter((l) => !l.startsWith(`${firstPid} `)).map((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)));
    assert.deepEqual(lines.map((l) => l.method), ['initialize', 'notifications/initialized', 'tools/call']);
    assert.equal(lines[0].id, 'mcp-sidecar:recovery:1');
    assert.deepEqual(lines[0].params, INITIALIZE.params);
    assert.ok(!h.frames.some((f) => f.id === 'mcp-sidecar:recovery:1'), 'the replayed initialize response never reaches the client');
    assert.ok(h.frames.some((f) => f.method === 'notifications/tools/list_changed'));
    assert.equal(h.frames.filter((f) => f.id === 0).length, 1, 'the client saw one initialize response');
  });

  it('should hold requests during a restart in a bounded queue, refusing the excess and those that wait too long', async () => {
    const clock = new FakeClock();
    const h = track(harness({ CRASH_ON_CALL: '1', STATE_FILE: join(tempDir('governor'), 'calls') }, { clock }));
    h.send(call(1));
    await waitFor(() => h.governor.state === 'backoff' && h.resets.length === 1, 5000, 'the crash');
    for (let id = 10; id < 16; id++) h.send(call(id)); // limit is 4
    const refused = h.frames.filter((f) => f.error?.data?.code === 'SIDECAR_ERR_UPSTREAM_RESTARTING').map((f) => f.id);
    assert.deepEqual(refused, [14, 15]);
    clock.advance(POLICY.queueTimeoutMs - 1);  // the backoff (100 ms) fires first: the held go to the new server
    await waitFor(() => [10, 11, 12, 13].every((id) => h.frames.some((f) => f.id === id)), 5000, 'the held requests to be served');
    for (const id of [10, 11, 12, 13]) assert.ok(h.frames.find((f) => f.id === id)!.result, `request ${id} was served`);
  });

  it('should answer held requests with an error when the server does not come back in time', async () => {
    const clock = new FakeClock();
    const h = track(harness({ CRASH_ON_CALL: '1', STATE_FILE: join(tempDir('governor'), 'calls') }, { clock, restart: { backoffBaseMs: 20_000, queueTimeoutMs: 1_000 } }));
    h.send(call(1));
    await waitFor(() => h.governor.state === 'backoff' && h.resets.length === 1, 5000, 'the crash');
    h.send(call(2));
    clock.advance(1_000);
    const reply = await h.frameWithId(2);
    assert.deepEqual([reply.error.code, reply.error.data.category, reply.error.data.retryable], [-32005, 'transient_error', true]);
    assert.match(reply.error.message, /did not come back within 1000 ms/);
  });

  it('should hand the requests it gives up on to the router (onLocalReply) with their id, key and method, never as server frames', async () => {
    const clock = new FakeClock();
    const h = track(harness({ CRASH_ON_CALL: '1', STATE_FILE: join(tempDir('governor'), 'calls') }, { clock, restart: { backoffBaseMs: 20_000, queueTimeoutMs: 1_000, queueLimit: 1 } }));
    h.send(call(1));
    await waitFor(() => h.governor.state === 'backoff' && h.resets.length === 1, 5000, 'the crash');
    const serverFramesBefore = h.serverFrames.length;
    h.send('{"jsonrpc":"2.0","id":2.0,"method":"tools/call","params":{"name":"x","arguments":{}}}'); // held; its id as written is not its key
    h.send({ jsonrpc: '2.0', id: 'full', method: 'prompts/get', params: { name: 'p' } }); // over the limit of 1
    // Each target carries the request's own bytes (for a report when the router never saw it).
    const lineOf = (text: string): Buffer => Buffer.from(`${text}\n`);
    assert.deepEqual(h.localReplies, [
      { request: { id: '"full"', key: '"full"', method: 'prompts/get', line: lineOf('{"jsonrpc":"2.0","id":"full","method":"prompts/get","params":{"name":"p"}}') }, code: 'SIDECAR_ERR_UPSTREAM_RESTARTING', detail: 'too many requests are waiting for it' },
    ]);
    clock.advance(1_000);
    assert.deepEqual(h.localReplies[1], { request: { id: '2.0', key: '2', method: 'tools/call', line: lineOf('{"jsonrpc":"2.0","id":2.0,"method":"tools/call","params":{"name":"x","arguments":{}}}') }, code: 'SIDECAR_ERR_UPSTREAM_RESTARTING', detail: 'it did not come back within 1000 ms' });
    assert.equal(h.localReplies.length, 2);
    assert.equal(h.serverFrames.length, serverFramesBefore, 'nothing was made to look like a server frame');
  });

  it('should reset the failure count after a run stays ready for stableAfterMs', async () => {
    const clock = new FakeClock();
    const dir = tempDir('governor');
    const h = track(harness({ CRASH_ON_CALL: '2', STATE_FILE: join(dir, 'calls') }, { clock }));
    h.send(call(1));
    await h.frameWithId(1);
    h.send(call(2));
    await waitFor(() => h.governor.state === 'backoff' && clock.pending().some((t) => t.ms === 100), 5000, 'first backoff');
    clock.advance(100);
    h.send(call(3));
    await h.frameWithId(3);
    assert.equal(h.governor.state, 'ready');
    clock.advance(60_000); // stable: the count starts over
    assert.match(h.logs.text(), /restart count and backoff reset/);
  });

  it('should stop the current child and restart nothing afterwards', async () => {
    const h = harness({});
    h.send(call(1));
    await h.frameWithId(1);
    const pid = h.governor.upstream!.pid!;
    const outcome = await h.governor.stop();
    assert.equal(outcome.step, 'stdin-closed');
    assert.equal(h.governor.state, 'stopped');
    assert.equal(isRunning(pid), false);
    assert.equal(h.resets.length, 0);
  });
});

describe('governor with a pinned executable', () => {
  // A pin whose verdicts the test sets; counts its checks.
  const scriptedPin = (verdicts: Array<PinRefusal | undefined>) => {
    const pin = { path: process.execPath, sha256: '0'.repeat(64), checks: 0, check: () => verdicts[pin.checks++] };
    return pin;
  };
  const MISMATCH: PinRefusal = { reason: 'digest_mismatch', message: `refused to start node x: ${process.execPath} has sha256 ${'1'.repeat(64)}, but ${'0'.repeat(64)} is pinned` };

  it('should check the pin before a restart and, refused, spawn nothing and end as a server that cannot start: exit 78', async () => {
    const clock = new FakeClock();
    const pin = scriptedPin([undefined, MISMATCH]);
    const h = track(harness({ CRASH_ON_CALL: '1', STATE_FILE: join(tempDir('governor'), 'calls') }, { clock, pin }));
    h.send(call(1));
    await h.restarted(1); // the backoff after the crash
    assert.equal(pin.checks, 1, 'checked before the first spawn');
    h.send(call(2)); // held for the new server
    clock.advance(clock.pending()[0]!.ms);
    await waitFor(() => h.fatals.length > 0, 5000, 'the refusal to end the governor');
    assert.equal(pin.checks, 2);
    assert.deepEqual({ ...h.fatals[0], stderrTail: [] }, { exitCode: 78, reason: MISMATCH.message, stderrTail: [] });
    assert.equal(h.governor.state, 'fatal');
    assert.deepEqual(h.events.filter((e) => e.event === 'spawn').length, 1, 'the refused restart spawned nothing');
    assert.deepEqual(h.events.slice(-2), [
      { event: 'refused', generation: 1, reason: 'digest_mismatch' },
      { event: 'fatal', generation: 1, exitCode: 78, reason: MISMATCH.message },
    ]);
    const held = await h.frameWithId(2);
    assert.deepEqual([held.error.code, held.error.data.code], [-32003, 'SIDECAR_ERR_UPSTREAM_EXITED']);
    const logged = h.logs.entries.find((r) => r.msg === MISMATCH.message);
    assert.deepEqual([logged?.level, logged?.code, logged?.reason, logged?.exitCode], [50, 'SIDECAR_ERR_GOVERNOR_NOT_ALLOWED', 'digest_mismatch', 78]);
  });

  it('should answer what was sent to a first spawn refused (an HTTP session\'s) with -32003, and give 69 for a vanished executable', async () => {
    const gone: PinRefusal = { reason: 'not_found', message: `cannot start node x: ${process.execPath} no longer exists` };
    const h = track(harness({}, { pin: scriptedPin([gone]) }));
    h.send(INITIALIZE); // sent by the pump before the refusal is known
    const reply = await h.frameWithId(0);
    assert.deepEqual([reply.error.code, reply.error.data.code], [-32003, 'SIDECAR_ERR_UPSTREAM_EXITED']);
    assert.match(reply.error.message, /no longer exists/);
    assert.equal(h.fatals[0]?.exitCode, 69);
    assert.equal(h.governor.upstream, undefined);
    assert.ok(!h.events.some((e) => e.event === 'spawn'));
  });
});
