// --servers through the real startSidecar, with fake server processes on a fake clock: each
// service gets its own governor (its own command and restart settings), one service giving up
// does not end the session (its namespace is marked down in the gateway), the session ends when
// every service is down, and the stop sequence stops every service. A command the allowlist does
// not admit stops the proxy at start, naming its service.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { loadConfig, type SidecarConfig } from '../../../components/config/index.js';
import { startSidecar } from '../../../components/runtime/index.js';
import type { GatewayChannelFactory } from '../../../components/runtime/session.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { scriptedUpstream } from '../../helpers/fake-upstream.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { nextTurn, untilTurn } from '../../helpers/wait.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** A fake server process that answers nothing and exits on stdin EOF or a signal, or when the test kills it. */
function fakeServer(argv: readonly string[]) {
  return Object.assign(scriptedUpstream(), { argv });
}
type FakeServer = ReturnType<typeof fakeServer>;

/** The gateway as this test sees it: which services it was given and which it was told are down. */
function recordingGateway() {
  const seen = { services: [] as string[], separator: '', down: [] as Array<[string, string]> };
  const create: GatewayChannelFactory = (options) => {
    seen.services = options.services.map((service) => service.name);
    seen.separator = options.separator;
    const inner = options.services[0]!.channel;
    return {
      start: (handlers) => options.services.forEach((service) => service.channel.start(handlers)),
      send: (line) => inner.send(line),
      pause: () => options.services.forEach((service) => service.channel.pause()),
      resume: () => options.services.forEach((service) => service.channel.resume()),
      drained: () => Promise.all(options.services.map((service) => service.channel.drained())).then(() => undefined),
      endOutput: () => options.services.forEach((service) => service.channel.endOutput()),
      close: () => options.services.forEach((service) => service.channel.close()),
      serviceDown: (name, reason) => void seen.down.push([name, reason]),
    } as ReturnType<GatewayChannelFactory>;
  };
  return { seen, create };
}


async function configFor(serversYaml: string, allow = 'node'): Promise<SidecarConfig> {
  const dir = tempDir('gateway-session');
  const file = join(dir, 'servers.yaml');
  writeFileSync(file, serversYaml);
  const loaded = await loadConfig(['--servers', file, '--allow', allow, '--max-restarts', '5', '--restart-backoff-ms', '1000'], {});
  return (loaded as { config: SidecarConfig }).config;
}

const TWO_SERVICES = [
  'separator: "_"',
  'servers:',
  '  - name: files',
  '    command: node files.js',
  '  - name: memory',
  '    command: node memory.js --store x',
  '    restart: { maxRestarts: 0 }',
].join('\n');

async function start(serversYaml: string) {
  const clock = new FakeClock();
  const logs = captureLogs('info');
  const servers: FakeServer[] = [];
  const gateway = recordingGateway();
  const input = new PassThrough();
  const handle = await startSidecar(await configFor(serversYaml), { input, output: new PassThrough() }, {
    logger: logs.logger, env: process.env, clock, random: () => 0.5, version: 'test', createGateway: gateway.create,
    spawn: (argv) => {
      const server = fakeServer(argv);
      servers.push(server);
      return server.upstream;
    },
  });
  let finished = false;
  void handle.done.then(() => (finished = true));
  return { clock, logs, servers, gateway, handle, input, get finished() { return finished; } };
}

describe('a gateway session (--servers)', () => {
  it('should start a governor per service with its own command, and stop them all', async () => {
    const s = await start(TWO_SERVICES);
    assert.deepEqual(s.servers.map((server) => server.argv), [['node', 'files.js'], ['node', 'memory.js', '--store', 'x']]);
    assert.deepEqual(s.gateway.seen.services, ['files', 'memory']);
    assert.equal(s.gateway.seen.separator, '_');
    assert.deepEqual([...s.handle.services!.keys()], ['files', 'memory']);
    assert.equal(s.handle.governor, undefined, 'there is no one server');

    const stopped = s.handle.stop('test over');
    await untilTurn(() => s.servers.every((server) => server.exited), 'every server stopped');
    assert.equal(await stopped, 0);
    assert.deepEqual([...s.handle.services!.values()].map((governor) => governor.state), ['stopped', 'stopped']);
    const last = s.logs.entries.find((entry) => entry.msg === 'proxy stopped')!;
    assert.deepEqual(Object.keys(last.services as object), ['files', 'memory']);
  });

  it('should mark a service that gives up as down in the gateway and go on; the session ends when every service is down', async () => {
    const s = await start(TWO_SERVICES);
    const [files, memory] = s.servers;
    memory!.die({ code: 3, signal: null }); // maxRestarts 0: its governor gives up at once
    await untilTurn(() => s.gateway.seen.down.length === 1, 'memory marked down');
    assert.equal(s.gateway.seen.down[0]![0], 'memory');
    assert.equal(s.handle.services!.get('memory')!.state, 'fatal');
    for (let i = 0; i < 10; i++) await nextTurn();
    assert.equal(s.finished, false, 'the session goes on for the files service');
    assert.equal(s.handle.services!.get('files')!.state === 'fatal', false);
    assert.ok(s.logs.entries.some((entry) => entry.service === 'memory' && entry.msg.startsWith('a service is down')), 'the log names the service');

    // files: 5 restarts with backoff, then it gives up too, and nothing is left to serve.
    let current = files!;
    for (let attempt = 0; attempt <= 5; attempt++) {
      current.die({ code: 1, signal: null });
      const count = s.servers.length;
      await untilTurn(() => s.clock.pending().length > 0 || s.gateway.seen.down.length === 2, 'a backoff or the end');
      if (attempt < 5) {
        s.clock.advance(60_000);
        await untilTurn(() => s.servers.length > count, `restart ${attempt + 1}`);
        current = s.servers.at(-1)!;
        assert.deepEqual(current.argv, ['node', 'files.js'], 'a restart runs the same service');
      }
    }
    await untilTurn(() => s.finished, 'the session ended');
    assert.deepEqual(s.gateway.seen.down.map(([name]) => name), ['memory', 'files']);
    assert.equal(await s.handle.done, 70, 'crashed past the restart bound: exit 70');
  });

  it('should refuse to start when one service\'s command is not allowed, naming the service', async () => {
    const config = await configFor('servers:\n  - name: files\n    command: node files.js\n  - name: shell\n    command: bash -c true\n', 'node');
    const spawned: string[][] = [];
    await assert.rejects(
      startSidecar(config, { input: new PassThrough(), output: new PassThrough() }, {
        logger: captureLogs('info').logger, env: process.env, clock: new FakeClock(), createGateway: recordingGateway().create,
        spawn: (argv) => {
          spawned.push([...argv]);
          return fakeServer(argv).upstream;
        },
      }),
      (error: Error & { code?: string }) => error.code === 'SIDECAR_ERR_GOVERNOR_NOT_ALLOWED' && /service "shell"/.test(error.message),
    );
    assert.deepEqual(spawned, [], 'nothing started');
  });
});
