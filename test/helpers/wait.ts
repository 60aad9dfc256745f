import assert from 'node:assert/strict';

/**
 * Polls `read` until it gives a value (anything but undefined or false) and resolves with it;
 * fails the test naming `what` after `timeoutMs`. For events that have no callback to await.
 */
export async function waitForValue<T>(read: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
