// Time, injected: every timer of the proxy (restart backoff and stability, the stop sequence,
// the pump's drain, HTTP idle and linger, the policy reload debounce) runs on one Clock, so
// tests (and replays) drive them exactly instead of waiting.
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
