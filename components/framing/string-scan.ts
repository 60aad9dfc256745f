import { STRING_SCAN_WASM } from './string-scan-wasm.js';

// Finds where a JSON string's plain run stops: the first control character (< 0x20), quote or
// backslash at or after `from`. Long strings (a 1 MiB tool result is one string) go through a
// small WebAssembly SIMD loop over a window of the frame copied into its memory: ~80 µs a MiB
// with the copy, where a JavaScript loop takes ~900 and 32 `indexOf` passes ~450. The module is
// compiled on the first long string, so a proxy that never sees one never loads it.

const WINDOW_BYTES = 256 * 1024;
/** Below this many bytes left, a plain loop is cheaper than a copy and a call. */
const WASM_MIN_BYTES = 512;

interface Scanner {
  readonly scan: (from: number, end: number) => number;
  readonly memory: Uint8Array;
}

let scanner: Scanner | null | undefined;
let windowOf: Buffer | undefined;
let windowStart = 0;
let windowEnd = 0;

// The few WebAssembly names used here (TypeScript's lib for Node has no WebAssembly types).
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { grow(pages: number): number; buffer: ArrayBuffer }; scan: (from: number, end: number) => number } };
}

function load(): Scanner | null {
  try {
    const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
    const { exports } = new wasm.Instance(new wasm.Module(Buffer.from(STRING_SCAN_WASM, 'base64')));
    exports.memory.grow(Math.ceil(WINDOW_BYTES / 65536));
    return { scan: exports.scan, memory: new Uint8Array(exports.memory.buffer) };
  } catch {
    return null; // no WebAssembly SIMD here: the loop below does the same, slower
  }
}

function isStop(c: number): boolean {
  return c < 0x20 || c === 0x22 || c === 0x5c;
}

/** The first index at or after `from` (and before `end`) whose byte stops a plain string run; `end` if none. */
export function nextStringStop(b: Buffer, from: number, end: number): number {
  if (end - from >= WASM_MIN_BYTES) {
    if (scanner === undefined) scanner = load();
    if (scanner !== null) return scanWindows(scanner, b, from, end);
  }
  for (let j = from; j < end; j++) if (isStop(b[j]!)) return j;
  return end;
}

function scanWindows(s: Scanner, b: Buffer, from: number, end: number): number {
  for (let at = from; at < end;) {
    if (windowOf !== b || at < windowStart || at >= windowEnd) {
      // A new window: the frame's bytes from here, as many as fit.
      windowOf = b;
      windowStart = at;
      windowEnd = Math.min(end, at + WINDOW_BYTES);
      s.memory.set(b.subarray(windowStart, windowEnd));
    }
    const found = s.scan(at - windowStart, Math.min(end, windowEnd) - windowStart);
    if (found < Math.min(end, windowEnd) - windowStart) return windowStart + found;
    at = Math.min(end, windowEnd);
  }
  return end;
}

/** Forgets the window: call between frames (a frame's buffer may be reused for other bytes). */
export function resetStringScan(): void {
  windowOf = undefined;
}
