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

/** One turn of the event loop (pending I/O callbacks run first). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Turns the event loop (real I/O included, one setImmediate a turn) until `check` holds; fails the
 * test naming `what` after `turns` turns. For tests whose time moves only by a fake clock.
 */
export async function untilTurn(check: () => boolean | Promise<boolean>, what: string, turns = 5000): Promise<void> {
  for (let turn = 0; turn < turns; turn++) {
    if (await check()) return;
    await nextTurn();
  }
  assert.fail(`never happened: ${what}`);
}
