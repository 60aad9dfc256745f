// Unicode simple case folding, as peers that match member names without case compare them
// (Go's encoding/json v1: `Method` is `method`, `paramſ` is `params`, `STRAẞE` is `straße`).
// Shared by the envelope reader (member names of a frame) and the arguments rule (a pointer
// step that finds only a case-folded twin).

// Simple case folding (CaseFolding.txt's C and S mappings: one code point to one), as a
// case-insensitive decoder compares member names. Upper-casing then lower-casing gives it for
// all but the code points below. JavaScript's toUpperCase and toLowerCase apply the full
// mappings (ß → SS, ŉ → ʼN, İ → i̇): full folding is not simple folding, so a result of more
// than one code point is discarded and the code point kept. ı and İ fold with i, as in Go
// (ToUpper(ToLower(r))), though simple folding keeps them apart: wider is safer here.
// test/components/policy/rules/json-pointer.test.ts checks this against the
// simple folding of the regular-expression engine (/iu) for every code point with a case.
const FOLD_EXCEPTIONS: ReadonlyMap<number, number> = new Map([
  [0x0130, 0x0069], // İ: simple lower case i (JavaScript has only the full i̇)
  [0x1fd3, 0x0390], // ΐ, ΰ, ﬅ: folded (Unicode 14) to code points no case mapping reaches
  [0x1fe3, 0x03b0],
  [0xfb05, 0xfb06],
]);

function singleCodePoint(text: string, otherwise: number): number {
  const codePoint = text.codePointAt(0)!;
  return text.length === (codePoint > 0xffff ? 2 : 1) ? codePoint : otherwise;
}

/** One code point, simply case-folded: `K` (U+212A) → `k`, `ſ` (U+017F) → `s`; `ß` stays `ß`. */
export function foldCodePoint(codePoint: number): number {
  if (codePoint < 0x80) return codePoint >= 0x41 && codePoint <= 0x5a ? codePoint + 0x20 : codePoint;
  const exception = FOLD_EXCEPTIONS.get(codePoint);
  if (exception !== undefined) return exception;
  const upper = singleCodePoint(String.fromCodePoint(codePoint).toUpperCase(), codePoint);
  return singleCodePoint(String.fromCodePoint(upper).toLowerCase(), upper);
}

/** The text, simply case-folded. Folding keeps each code point's UTF-16 length (the test checks). */
export function foldCase(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const codePoint = text.codePointAt(i)!;
    if (codePoint > 0xffff) i++;
    out += String.fromCodePoint(foldCodePoint(codePoint));
  }
  return out;
}

