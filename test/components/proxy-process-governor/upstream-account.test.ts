import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { spawnUpstream, stopUpstream } from '../../../components/proxy-process-governor/index.js';

const isRoot = process.platform === 'linux' && process.geteuid?.() === 0;

describe('spawnUpstream with an account', () => {
  it('should end a spawn Node refuses at once (EPERM from setuid, a bad uid) as a spawn error, never a throw', async () => {
    const upstream = spawnUpstream(['/bin/true'], { env: {}, account: { uid: 2 ** 32, gid: 1 } });
    assert.equal(upstream.pid, undefined);
    assert.equal(upstream.hasExited, true);
    const exit = await upstream.exited;
    assert.match(exit.spawnError?.message ?? '', /options\.uid/);
    assert.equal(await text(upstream.stdout), '');
    upstream.signalGroup('SIGKILL'); // nothing to signal: no throw
    assert.equal((await stopUpstream(upstream, { stdinCloseGraceMs: 10, killTimeoutMs: 10 })).step, 'already-exited');
  });

  it('should run the child as the uid and gid, with no supplementary groups and no capabilities', { skip: isRoot ? false : 'needs root on Linux' }, async () => {
    const upstream = spawnUpstream(['cat', '/proc/self/status'], { env: {}, executable: '/bin/cat', account: { uid: 65534, gid: 65534 } });
    const status = await text(upstream.stdout);
    assert.deepEqual((await upstream.exited).code, 0);
    const field = (name: string): string => new RegExp(`^${name}:\\t(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
    assert.equal(field('Uid'), '65534\t65534\t65534\t65534');
    assert.equal(field('Gid'), '65534\t65534\t65534\t65534');
    assert.equal(field('Groups'), '');
    assert.equal(field('CapEff'), '0000000000000000');
  });
});
