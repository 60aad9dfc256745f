// ReloadablePolicy.onChange: told after another policy is in force, never for a reload that was
// rejected or changed nothing; a listener that throws neither fails the reload nor silences the others.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadPolicyFile } from '../../../components/policy/document/index.js';
import { createPolicyHolder } from '../../../components/runtime/policy-holder.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { tempDir } from '../../helpers/temp-dir.js';

const revision = (n: number): string => readFileSync('policies/readonly.yaml', 'utf8').replace('revision: 1', `revision: ${n}`);

describe('policy holder change listeners', () => {
  it('should call each listener once per policy put in force, with the new policy already current', async () => {
    const file = join(tempDir('policy-holder-changes'), 'live.yaml');
    copyFileSync('policies/readonly.yaml', file);
    const holder = await createPolicyHolder(loadPolicyFile(file), undefined, captureLogs('info').logger, new FakeClock());
    try {
      const seen: string[] = [];
      const stop = holder.onChange(() => seen.push(holder.current.revision));
      writeFileSync(file, revision(2));
      assert.equal(await holder.reload('test'), true);
      assert.deepEqual(seen, ['2']);

      assert.equal(await holder.reload('unchanged'), true);
      writeFileSync(file, 'rules: [');
      assert.equal(await holder.reload('broken'), false);
      assert.deepEqual(seen, ['2'], 'an unchanged or rejected reload is not a change');

      stop();
      writeFileSync(file, revision(3));
      assert.equal(await holder.reload('test'), true);
      assert.deepEqual(seen, ['2'], 'an ended subscription hears nothing');
    } finally {
      holder.close();
    }
  });

  it('should tell the other listeners, keep the new policy and log once when one listener throws', async () => {
    const file = join(tempDir('policy-holder-changes'), 'live.yaml');
    copyFileSync('policies/readonly.yaml', file);
    const logs = captureLogs('info');
    const holder = await createPolicyHolder(loadPolicyFile(file), undefined, logs.logger, new FakeClock());
    try {
      let told = 0;
      holder.onChange(() => {
        throw new Error('listener broke');
      });
      holder.onChange(() => told++);
      writeFileSync(file, revision(2));
      assert.equal(await holder.reload('test'), true);
      assert.equal(holder.current.revision, '2');
      assert.equal(told, 1);
      assert.deepEqual(logs.entries.filter((e) => e.msg === 'internal error: a listener of policy changes failed').map((e) => e.err), ['listener broke']);
    } finally {
      holder.close();
    }
  });
});
