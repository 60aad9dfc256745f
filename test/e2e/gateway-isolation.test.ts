// Deadlines and circuit breakers per service, end to end through dist/cli.js: two real
// server-memory servers behind one gateway, each on its own graph file. server-memory answers at
// once, so a test stops a server (SIGSTOP) to keep a call in flight: a stopped service's call passes
// its own deadline (timeouts.requestMs) while the other service, with none, answers a call held
// longer than that; a service crashing under a call opens its own breaker (new calls to it fail
// fast, -32009) while the other is served.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { GatewayChild, MEMORY_ENTRY, memoryEnvYaml, pauseServer, resumeServer } from '../fixtures/gateway-three-servers.js';
import { commandLine } from '../helpers/paths.js';
import { type Frame, type LogRecord } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const MEMORY = commandLine([process.execPath, MEMORY_ENTRY]);

/** A servers file of two memory servers (each its own graph file), each entry's extra YAML given. */
function serversFile(entries: Record<string, string>): string {
  const dir = tempDir('gateway-isolation');
  const file = join(dir, 'servers.yaml');
  const entry = ([name, extra]: [string, string]): string => `  - { name: ${name}, command: ${JSON.stringify(MEMORY)}, env: ${memoryEnvYaml(join(dir, `${name}.jsonl`))}${extra} }`;
  writeFileSync(file, ['servers:', ...Object.entries(entries).map(entry), ''].join('\n'));
  return file;
}

/** The gateway as a child, with the calls and log reads these tests make. */
class Gateway extends GatewayChild {
  call(name: string, args: object = {}): Promise<Frame> {
    return this.request('tools/call', { name, arguments: args });
  }

  /** The pid of `service`'s (first) server. */
  async serverPid(service: string): Promise<number> {
    const started = await this.proxy.waitForLog((r) => r.msg === 'started the MCP server' && r['service'] === service, 10_000);
    assert.equal(typeof started.pid, 'number', `${service}'s server pid is logged`);
    return started.pid!;
  }

  /** A call to `name`, resolved (with its id) once the gateway forwarded it to its service. */
  async forwardedCall(name: string, args: object = {}): Promise<{ id: number; answer: Promise<Frame> }> {
    const sent = this.send('tools/call', { name, arguments: args });
    await this.proxy.waitForLog((r) => r.msg === 'a call was forwarded to its service' && r['clientId'] === String(sent.id), 10_000);
    return sent;
  }

  async stop(): Promise<void> {
    this.proxy.endInput();
    assert.deepEqual(await this.proxy.waitForExit(), { code: 0, signal: null });
    this.proxy.assertStdoutClean();
  }
}

const graphOf = (frame: Frame): unknown => {
  assert.ok(frame.result !== undefined, `a result: ${JSON.stringify(frame)}`);
  return frame.result.structuredContent;
};
const EMPTY_GRAPH = { entities: [], relations: [] };
const lateAnswerDropped = (r: LogRecord): boolean => /late answer|answer to nothing in flight/.test(String(r.msg));

describe('deadlines and breakers per service', () => {
  test('a stopped service\'s call passes its own deadline (-32008, cancelled at it) while another service, without one, answers a call held longer', async () => {
    const gateway = new Gateway(serversFile({ slow: ', timeouts: { requestMs: 300 }', steady: '' }));
    after(() => gateway.proxy.dispose());
    await gateway.initialize('gateway-isolation');
    const [slowPid, steadyPid] = await Promise.all([gateway.serverPid('slow'), gateway.serverPid('steady')]);
    await Promise.all([pauseServer(slowPid), pauseServer(steadyPid)]);
    const timedOut = await gateway.forwardedCall('slow.read_graph');
    const held = await gateway.forwardedCall('steady.read_graph');
    const timedOutAnswer = await timedOut.answer;
    assert.equal(timedOutAnswer.error?.code, -32008, JSON.stringify(timedOutAnswer));
    assert.equal(timedOutAnswer.error?.data?.retryable, true);
    assert.match(timedOutAnswer.error!.message, /slow/, 'the error names the service');
    // steady's call has waited as long as slow's deadline, in flight: slow's deadline does not apply to it.
    resumeServer(steadyPid);
    assert.deepEqual(graphOf(await held.answer), EMPTY_GRAPH, 'the other service has no deadline of its own: the slow one\'s does not apply to it');
    // Continued, the slow server reads the call and the gateway's cancellation of it (under the gateway's id): the SDK
    // server then never answers it. Had the cancellation not reached it, its late answer would be dropped (logged) before
    // it answers the next call. And one timeout does not open its breaker.
    resumeServer(slowPid);
    assert.deepEqual(graphOf(await gateway.call('slow.read_graph')), EMPTY_GRAPH);
    assert.deepEqual(gateway.proxy.logs().filter(lateAnswerDropped), [], 'the slow server did not answer the cancelled call');
    await gateway.stop();
  });

  test('a service crashing under a call opens its own breaker (-32009 fast), while the other service is served', async () => {
    const gateway = new Gateway(serversFile({ crashy: ', restart: { maxRestarts: 5, backoffMs: 0 }', steady: '' }), ['--circuit-failures', '1', '--circuit-cooldown-ms', '600000']);
    after(() => gateway.proxy.dispose());
    await gateway.initialize('gateway-isolation');
    const crashyPid = await gateway.serverPid('crashy');
    await pauseServer(crashyPid);
    const underCrash = await gateway.forwardedCall('crashy.read_graph');
    process.kill(crashyPid, 'SIGKILL');
    assert.equal((await underCrash.answer).error?.code, -32003, 'the call under the crash gets the retryable error');
    const refused = await gateway.call('crashy.read_graph');
    assert.equal(refused.error?.code, -32009, JSON.stringify(refused));
    assert.match(refused.error!.message, /crashy/);
    await gateway.proxy.waitForLog((r) => /circuit breaker opened/.test(String(r.msg)) && (r as { service?: string }).service === 'crashy', 5000);
    assert.deepEqual(graphOf(await gateway.call('steady.read_graph')), EMPTY_GRAPH);
    await gateway.stop();
  });
});
