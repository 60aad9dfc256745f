import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawnUpstream, stopUpstream, type Upstream } from '../../../components/proxy-process-governor/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { fakeUpstream, type FakeExitEvent } from '../../helpers/fake-upstream.js';
import { isRunning, waitFor } from '../../helpers/processes.js';

// Servers as inline scripts. Each prints the pids it started on stdout, one JSON line.
const IGNORES_TERM = `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`;
function spawnsGrandchild(grandchild: string, ownSession: boolean, parentIgnoresTerm: boolean): string {
  return `
    const { spawn } = require('node:child_process');
    ${parentIgnoresTerm ? "process.on('SIGTERM', () => {});" : ''}
    const g = spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'ignore', detached: ${ownSession} });
    process.stdout.write(JSON.stringify({ grandchild: g.pid }) + '\\n');
    process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
  `;
}

async function start(script: string): Promise<{ upstream: Upstream; pids: number[] }> {
  const upstream = spawnUpstream(['node', '-e', script], { env: process.env });
  const pids = [upstream.pid!];
  const firstLine = await new Promise<string>((resolve) => {
    let text = '';
    upstream.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.split('\n')[0]!);
    });
    setTimeout(() => resolve(''), 3000);
  });
  if (firstLine) pids.push((JSON.parse(firstLine) as { grandchild: number }).grandchild);
  await new Promise((resolve) => setTimeout(resolve, 150)); // let signal handlers install
  return { upstream, pids };
}

const timeouts = { stdinCloseGraceMs: 300, killTimeoutMs: 400 };

describe('stopUpstream', () => {
  it('should end a well-behaved server by closing its stdin', async () => {
    const { upstream, pids } = await start(`process.stdout.write('\\n'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`);
    const outcome = await stopUpstream(upstream, timeouts);
    assert.equal(outcome.step, 'stdin-closed');
    assert.equal(outcome.survivors, 0);
    assert.equal(isRunning(pids[0]!), false);
  });

  it('should SIGKILL a server that ignores stdin EOF and SIGTERM', async () => {
    const { upstream, pids } = await start(`process.stdout.write('\\n'); ${IGNORES_TERM}`);
    const outcome = await stopUpstream(upstream, timeouts);
    assert.deepEqual([outcome.step, outcome.survivors], ['sigkill', 0]);
    assert.equal(isRunning(pids[0]!), false);
  });

  it('should kill a grandchild in the same process group that ignores SIGTERM', async () => {
    const { upstream, pids } = await start(spawnsGrandchild(IGNORES_TERM, false, true));
    assert.equal(pids.length, 2);
    const outcome = await stopUpstream(upstream, timeouts);
    assert.equal(outcome.survivors, 0);
    for (const pid of pids) assert.equal(isRunning(pid), false, `pid ${pid} is gone`);
  });

  it('should kill a grandchild that left the group (setsid) and ignores SIGTERM', async () => {
    const { upstream, pids } = await start(spawnsGrandchild(IGNORES_TERM, true, true));
    const outcome = await stopUpstream(upstream, timeouts);
    assert.equal(outcome.survivors, 0);
    for (const pid of pids) assert.equal(isRunning(pid), false, `pid ${pid} is gone`);
  });

  it('should stop the descendants a server leaves behind when it exits on stdin EOF', async () => {
    const { upstream, pids } = await start(spawnsGrandchild(IGNORES_TERM, true, false));
    const outcome = await stopUpstream(upstream, timeouts);
    assert.equal(outcome.step, 'stdin-closed');
    assert.equal(outcome.descendantsSignalled, 1);
    await waitFor(() => !isRunning(pids[1]!), 2000, 'the grandchild to end');
  });

  it('should do nothing harmful for a server that already exited', async () => {
    const upstream = spawnUpstream(['node', '-e', 'process.exit(0)'], { env: process.env });
    await upstream.exited;
    const outcome = await stopUpstream(upstream, timeouts);
    assert.deepEqual(outcome, { step: 'already-exited', descendantsSignalled: 0, survivors: 0 });
  });
});

// The sequence's own timing, on a fake clock and a fake child: no process, no waiting.
describe('stopUpstream on a fake clock', () => {
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const fakeChild = (...exitsOn: FakeExitEvent[]) => fakeUpstream(new Set(exitsOn));
  const timeouts = { stdinCloseGraceMs: 2_000, killTimeoutMs: 5_000 };

  it('should close stdin, wait the grace, SIGTERM, wait the kill timeout, then SIGKILL, each wait on the clock', async () => {
    const clock = new FakeClock();
    const child = fakeChild('SIGKILL');
    const stopping = stopUpstream(child.upstream, timeouts, undefined, clock);
    await settle();
    assert.equal(child.stdinEnded, true);
    assert.deepEqual(clock.pending().map((t) => t.ms), [2_000]);
    clock.advance(1_999);
    await settle();
    assert.deepEqual(child.signals, [], 'nothing before the grace is over');
    clock.advance(1);
    await settle();
    assert.deepEqual(child.signals, ['SIGTERM']);
    assert.deepEqual(clock.pending().map((t) => t.ms), [5_000]);
    clock.advance(4_999);
    await settle();
    assert.deepEqual(child.signals, ['SIGTERM']);
    clock.advance(1);
    assert.deepEqual(await stopping, { step: 'sigkill', descendantsSignalled: 0, survivors: 0 });
    assert.deepEqual(child.signals, ['SIGTERM', 'SIGKILL', 'SIGKILL'], 'the group once more after the child is gone');
    assert.equal(clock.pending().length, 0);
  });

  it('should stop at SIGTERM when the child leaves on it, its kill timer cancelled', async () => {
    const clock = new FakeClock();
    const child = fakeChild('SIGTERM');
    const stopping = stopUpstream(child.upstream, timeouts, undefined, clock);
    await settle();
    clock.advance(2_000);
    assert.deepEqual(await stopping, { step: 'sigterm', descendantsSignalled: 0, survivors: 0 });
    assert.deepEqual(child.signals, ['SIGTERM', 'SIGKILL']);
    assert.equal(clock.pending().length, 0);
  });

  it('should end at stdin EOF with no timer left, and cut the grace short when hurried', async () => {
    const clock = new FakeClock();
    const polite = fakeChild('eof');
    assert.deepEqual(await stopUpstream(polite.upstream, timeouts, undefined, clock), { step: 'stdin-closed', descendantsSignalled: 0, survivors: 0 });
    assert.deepEqual(polite.signals, ['SIGTERM'], 'what it left in its group');
    assert.equal(clock.pending().length, 0);

    const stubborn = fakeChild('SIGTERM');
    let hurry!: () => void;
    const hurried = new Promise<void>((resolve) => (hurry = resolve));
    const stopping = stopUpstream(stubborn.upstream, timeouts, hurried, clock);
    await settle();
    hurry();
    assert.equal((await stopping).step, 'sigterm', 'SIGTERM at once, the clock never moved');
    assert.equal(clock.now(), 0);
  });
});
