import assert from 'node:assert/strict';
import { isSidecarError } from '../../components/errors/index.js';

/** Runs `run`, which must throw a SidecarError with this code; gives its message for the test's own checks. */
export function sidecarErrorMessage(run: () => unknown, code: string): string {
  try {
    run();
  } catch (error) {
    assert.ok(isSidecarError(error), String(error));
    assert.equal(error.code, code);
    return error.message;
  }
  assert.fail(`no error (expected ${code})`);
}
