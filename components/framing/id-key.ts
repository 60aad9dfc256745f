// Request ids are compared by value: `"a"` and `"\u0061"`, `1` and `1.0` name the same request.
export function idKey(rawId: string): string {
  const c = rawId.charCodeAt(0);
  if (c === 0x22 /* " */) return rawId.includes('\\') ? JSON.stringify(JSON.parse(rawId)) : rawId;
  return /^-?\d+$/.test(rawId) ? rawId : String(JSON.parse(rawId));
}

