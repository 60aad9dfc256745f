// Warm servers per service (--servers over --http), through the real startSidecar with fake
// server processes on a fake clock: each service with a `warm` count (default --warm-servers)
// has its own pool, spawning that service's command; a new MCP session's governor of each pooled
// service runs a waiting server (only a service without a pool spawns cold); the pools refill in
// the background; the gauge sums them; stopping the proxy stops the waiting servers too. Over
// --stdio no pool starts.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { loadConfig, type SidecarConfig } from '../../../components/config/index.js';
import { startSidecar } from '../../../components/runtime/index.js';
import type { GatewayChannelFactory } from '../../../components/runtime/session.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { INITIALIZE, send } from '../../helpers/http-raw.js';
import { scriptedUpstream } from '../../helpers/fake-upstream.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { nextTurn, untilTurn } from '../../helpers/wait.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { sample } from '../metrics/exposition.js';

/** A fake MCP server that answers every request (the pool's ping included), named by its argv. */
function answeringServer(argv: readonly string[]) {
  return Object.assign(scriptedUpstream({ answers: true, name: argv.join(' ') }), { argv });
}
type FakeServer = ReturnType<typeof answeringServer>;

/** A gateway that sends the client's frames to its first service and relays what every service writes. */
const firstServiceGateway: GatewayChannelFactory = (options) => {
  const first = options.services[0]!.channel;
  return {
    start: (handlers) => options.services.forEach((service) => service.channel.start(handlers)),
    send: (line, envelope) => first.send(line, envelope),
    pause: () => options.services.forEach((service) => service.channel.pause()),
    resume: () => options.services.forEach((service) => service.channel.resume()),
    drained: () => Promise.all(options.services.map((service) => service.channel.drained())).then(() => undefined),
    endOutput: () => options.services.forEach((service) => service.channel.endOutput()),
    close: () => options.services.forEach((service) => service.channel.close()),
    serviceDown: () => {},
  } as ReturnType<GatewayChannelFactory>;
};


// files: 2 warm servers of its own; memory: the --warm-servers default; scratch: none.
const THREE_SERVICES = [
  'servers:',
  '  - name: files',
  '    command: node files.js',
  '    warm: 2',
  '  - name: memory',
  '    command: node memory.js',
  '  - name: scratch',
  '    command: node scratch.js',
  '    warm: 0',
].join('\n');

async function start(transport: string[]) {
  const dir = tempDir('gateway-warm');
  const file = join(dir, 'servers.yaml');
  writeFileSync(file, THREE_SERVICES);
  const loaded = await loadConfig(['--servers', file, '--allow', 'node', '--admin', '127.0.0.1:0', '--restart-backoff-ms', '1000', ...transport], {});
  const clock = new FakeClock();
  const logs = captureLogs('debug');
  const servers: FakeServer[] = [];
  const handle = await startSidecar((loaded as { config: SidecarConfig }).config, { input: new PassThrough(), output: new PassThrough() }, {
    logger: logs.logger, env: process.env, clock, random: () => 0.5, version: 'test', createGateway: firstServiceGateway,
    spawn: (argv) => {
      const server = answeringServer(argv);
      servers.push(server);
      return server.upstream;
    },
  });
  const warmGauge = async (): Promise<number | undefined> => sample(await (await fetch(`http://127.0.0.1:${handle.addresses.admin!.port}/metrics`)).text(), 'mcp_sidecar_warm_servers', {});
  const stop = async (): Promise<void> => {
    const stopped = handle.stop('test over');
    for (let i = 0; i < 20; i++) {
      await nextTurn();
      clock.advance(1000);
    }
    await stopped;
  };
  return { clock, logs, servers, handle, warmGauge, stop };
}

const commandsOf = (servers: readonly FakeServer[]): string[] => servers.map((server) => server.argv.join(' ')).sort();

describe('warm servers per service (--servers over --http)', () => {
  it('should pool each service\'s own servers, hand them to a new session, and refill in the background', async () => {
    const s = await start(['--http', '127.0.0.1:0', '--warm-servers', '1']);
    assert.deepEqual(commandsOf(s.servers), ['node files.js', 'node files.js', 'node memory.js'], 'files: its warm 2; memory: --warm-servers; scratch: none');
    await untilTurn(() => s.servers.every((server) => server.pinged), 'every waiting server pinged');
    assert.equal(await s.warmGauge(), 3, 'the gauge sums the pools');
    const pooled = new Set(s.servers);

    const response = await send(s.handle.addresses.http!.port, { body: INITIALIZE });
    await response.done;
    assert.equal(response.status, 200);
    const cold = s.servers.filter((server) => !pooled.has(server));
    assert.deepEqual(commandsOf(cold), ['node scratch.js'], 'only the service without a pool spawned cold');
    const taken = s.logs.entries.filter((entry) => entry.msg === 'the session runs a warm server');
    assert.deepEqual(taken.map((entry) => entry.service).sort(), ['files', 'memory'], 'each pooled service\'s governor ran a waiting server');
    const filesInitialized = s.servers.filter((server) => server.received.some((frame) => frame.method === 'initialize'));
    assert.equal(filesInitialized.length, 1);
    assert.ok(pooled.has(filesInitialized[0]!), 'the client\'s initialize went to a server from the pool');

    // The refills run a macrotask later on the proxy's clock, each spawning its own service's command.
    s.clock.advance(0);
    await untilTurn(() => s.servers.length === 6, 'the pools refilled');
    assert.deepEqual(commandsOf(s.servers.slice(4)), ['node files.js', 'node memory.js']);
    await untilTurn(() => s.servers.every((server) => server.pinged || cold.includes(server)), 'the new waiting servers pinged');
    assert.equal(await s.warmGauge(), 3);

    await s.stop();
    assert.ok(s.servers.every((server) => server.exited), 'the sessions\' servers and the waiting ones were stopped');
  });

  it('should start no pool over --stdio: one server per service', async () => {
    const s = await start(['--stdio']);
    assert.deepEqual(commandsOf(s.servers), ['node files.js', 'node memory.js', 'node scratch.js']);
    assert.equal(s.logs.entries.some((entry) => entry.msg === 'warm servers are waiting for sessions'), false);
    await s.stop();
  });
});
