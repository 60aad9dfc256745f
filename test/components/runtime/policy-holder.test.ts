import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadPolicyFile } from '../../../components/policy/document/index.js';
import { createPolicyHolder } from '../../../components/runtime/policy-holder.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { waitFor } from '../../helpers/processes.js';
import { tempDir } from '../../helpers/temp-dir.js';

describe('policy holder', () => {
  it('should reload a changed file once the debounce has passed on its clock, one timer for a burst of events', async () => {
    const clock = new FakeClock();
    const file = join(tempDir('policy-holder'), 'live.yaml');
    copyFileSync('policies/readonly.yaml', file);
    const holder = await createPolicyHolder(loadPolicyFile(file), undefined, captureLogs('info').logger, clock);
    try {
      assert.equal(holder.current.revision, '1');
      writeFileSync(file, readFileSync('policies/readonly.yaml', 'utf8').replace('revision: 1', 'revision: 2'));
      await waitFor(() => clock.pending().length > 0, 5000, 'the watcher to see the change');
      // Each event of the burst restarts the debounce: one live timer, of the debounce's length.
      assert.deepEqual(clock.pending().map((t) => t.ms), [200]);
      assert.equal(holder.current.revision, '1', 'nothing is reloaded before the debounce has passed');
      clock.advance(200);
      await waitFor(() => holder.current.revision === '2', 5000, 'the reload');

      writeFileSync(file, readFileSync('policies/readonly.yaml', 'utf8').replace('revision: 1', 'revision: 3'));
      await waitFor(() => clock.pending().length > 0, 5000, 'the watcher to see the second change');
    } finally {
      holder.close();
    }
    assert.equal(clock.pending().length, 0, 'close cancels the pending reload');
  });
});
