import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { loadConfig, type SidecarConfig } from '../../../components/config/index.js';
import type { Upstream, UpstreamExit } from '../../../components/proxy-process-governor/index.js';
import { startSession, type SessionContext } from '../../../components/runtime/session.js';
import { createNdjsonChannel } from '../../../components/transport/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';

// A fake server process: what it was sent, and a way to make it die.
function fakeUpstream(name: string) {
  const received: string[] = [];
  let resolveExit!: (exit: UpstreamExit) => void;
  let hasExited = false;
  const stdout = new PassThrough();
  const exited = new Promise<UpstreamExit>((resolve) => (resolveExit = resolve)).then((exit) => {
    hasExited = true;
    return exit;
  });
  const die = (exit: UpstreamExit): void => {
    stdout.end();
    resolveExit(exit);
  };
  const upstream: Upstream = {
    pid: undefined,
    stdin: new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        received.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        callback();
      },
      final: (callback) => {
        die({ code: 0, signal: null });
        callback();
      },
    }),
    stdout,
    stderr: new PassThrough(),
    exited,
    get hasExited() {
      return hasExited;
    },
    signalGroup: () => {},
  };
  return { name, upstream, received, die };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const BASE = (await loadConfig(['--proxy', 'node server.js', '--allow', 'node', '--max-restarts', '2', '--restart-backoff-ms', '1000'], {}) as { config: SidecarConfig }).config;

describe('a session with a warm server', () => {
  it('should run its first server from the pool and spawn its own on a restart', async () => {
    const clock = new FakeClock();
    const logs = captureLogs('debug');
    const warm = fakeUpstream('warm');
    const spawned: Array<ReturnType<typeof fakeUpstream>> = [];
    let taken = 0;
    const context: SessionContext = {
      config: BASE,
      executable: '/usr/bin/node',
      executablePin: undefined,
      logger: logs.logger,
      policy: undefined,
      observers: () => [],
      env: {},
      clock,
      random: () => 0.5,
      spawn: () => {
        const server = fakeUpstream(`spawned ${spawned.length}`);
        spawned.push(server);
        return server.upstream;
      },
      takeWarmServer: () => {
        taken++;
        return taken === 1 ? warm.upstream : undefined;
      },
    };
    const clientIn = new PassThrough();
    const session = startSession(context, createNdjsonChannel(clientIn, new PassThrough(), { maxFrameBytes: BASE.maxFrameBytes }));
    clientIn.write('{"jsonrpc":"2.0","method":"notifications/first"}\n');
    await settle();
    assert.deepEqual(warm.received, ['{"jsonrpc":"2.0","method":"notifications/first"}'], 'the client\'s first frame went to the warm server');
    assert.equal(spawned.length, 0, 'nothing else was spawned');
    assert.equal(taken, 1);

    warm.die({ code: 1, signal: null });
    await settle();
    clock.advance(1000); // the governor's backoff
    await settle();
    assert.equal(spawned.length, 1, 'the restart spawned a server of its own');
    assert.equal(taken, 1, 'a restart does not drain the pool');
    clientIn.write('{"jsonrpc":"2.0","method":"notifications/second"}\n');
    await settle();
    assert.deepEqual(spawned[0]!.received, ['{"jsonrpc":"2.0","method":"notifications/second"}']);

    const stopped = session.stop('test over');
    await settle();
    clock.advance(60_000);
    await stopped;
  });

  it('should spawn its own first server when none waits', async () => {
    const clock = new FakeClock();
    const spawned: Upstream[] = [];
    const context: SessionContext = {
      config: BASE,
      executable: '/usr/bin/node',
      executablePin: undefined,
      logger: captureLogs('info').logger,
      policy: undefined,
      observers: () => [],
      env: {},
      clock,
      spawn: () => {
        const server = fakeUpstream('own').upstream;
        spawned.push(server);
        return server;
      },
      takeWarmServer: () => undefined,
    };
    const session = startSession(context, createNdjsonChannel(new PassThrough(), new PassThrough(), { maxFrameBytes: BASE.maxFrameBytes }));
    assert.equal(spawned.length, 1);
    const stopped = session.stop('test over');
    await settle();
    clock.advance(60_000);
    await stopped;
  });
});
