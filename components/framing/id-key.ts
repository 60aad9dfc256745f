// Request ids are compared by value: `"a"` and `"\u0061"`, `1` and `1.0` name the same request.
export function idKey(rawId: string): string {
  const c = rawId.charCodeAt(0);
  if (c === 0x22 /* " */) return rawId.includes('\\') ? JSON.stringify(JSON.parse(rawId)) : rawId;
  return isPlainInteger(rawId) ? rawId : String(JSON.parse(rawId));
}

// `-?\d+`, checked by a loop: this runs twice per call (request and response), and a loop over
// a few characters costs less than a regular expression.
function isPlainInteger(text: string): boolean {
  let k = text.charCodeAt(0) === 0x2d /* - */ ? 1 : 0;
  if (k === text.length) return false;
  for (; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
