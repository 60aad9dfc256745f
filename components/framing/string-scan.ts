import { STRING_SCAN_WASM } from './string-scan-wasm.js';

// Finds where a JSON string's plain run stops: the first control character (< 0x20), quote or
// backslash at or after `from`. Past a few bytes, a string goes through a small WebAssembly SIMD
// loop over a window of the frame copied into its memory (the rest of the frame, once per frame,
// ~30 ns for a small one): ~80 µs a MiB with the copy, where a JavaScript loop over the bytes
// takes ~1.1 ns a byte (~1,100 µs a MiB) and 32 `indexOf` passes ~450 µs. The module is compiled
// on the first such string.

const WINDOW_BYTES = 1024 * 1024;
/** Below this many bytes left, a plain loop is cheaper than a call (and a copy of the rest of the frame). */
const WASM_MIN_BYTES = 96;

interface Scanner {
  readonly scan: (from: number, end: number) => number;
  /** The module's memory as a Buffer: `Buffer#copy` into it allocates nothing (a `subarray` would). */
  readonly memory: Buffer;
}

/** Bit 30 of a scan's result: a byte of 0x80 or more was looked at. */
const HIGH = 1 << 30;

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
    return { scan: exports.scan, memory: Buffer.from(exports.memory.buffer) };
  } catch {
    return null; // no WebAssembly SIMD here: the loop below does the same, slower
  }
}

function isStop(c: number): boolean {
  return c < 0x20 || c === 0x22 || c === 0x5c;
}

/** Whether a byte of 0x80 or more may have been passed over since the last reset (then UTF-8 needs a check). */
export let passedNonAscii = false;

/** The first index at or after `from` (and before `end`) whose byte stops a plain string run; `end` if none. */
export function nextStringStop(b: Buffer, from: number, end: number): number {
  if (end - from >= WASM_MIN_BYTES) {
    if (scanner === undefined) scanner = load();
    if (scanner !== null) return scanWindows(scanner, b, from, end);
  }
  for (let j = from; j < end; j++) {
    const c = b[j]!;
    if (c >= 0x80) passedNonAscii = true;
    else if (isStop(c)) return j;
  }
  return end;
}

function scanWindows(s: Scanner, b: Buffer, from: number, end: number): number {
  for (let at = from; at < end;) {
    if (windowOf !== b || at < windowStart || at >= windowEnd) {
      // A new window: the frame's bytes from here, as many as fit.
      windowOf = b;
      windowStart = at;
      windowEnd = Math.min(end, at + WINDOW_BYTES);
      b.copy(s.memory, 0, windowStart, windowEnd);
    }
    const result = s.scan(at - windowStart, Math.min(end, windowEnd) - windowStart);
    if ((result & HIGH) !== 0) passedNonAscii = true;
    const found = result & ~HIGH;
    if (found < Math.min(end, windowEnd) - windowStart) return windowStart + found;
    at = Math.min(end, windowEnd);
  }
  return end;
}

/** Forgets the window: call between frames (a frame's buffer may be reused for other bytes). */
export function resetStringScan(): void {
  windowOf = undefined;
  passedNonAscii = false;
}
