// Shrinks a failing input to a smaller one that still fails, within a budget of predicate
// calls: first whole values (a container or string replaced by `0`, `[]`, `{}` or `""`), which
// removes a deep nesting in one step where no byte-level cut keeps the brackets balanced; then
// chunks of bytes, halving the chunk size down to single bytes (a ddmin-style pass).
import { isUtf8 } from 'node:buffer';

/** [start, end) of every container and string in the text (strings skipped by their escapes), outermost first. */
function valueSpans(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  const open: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (i < text.length && i - start > 1) spans.push([start, i + 1]);
    } else if (c === '{' || c === '[') {
      open.push(i);
    } else if ((c === '}' || c === ']') && open.length > 0) {
      spans.push([open.pop()!, i + 1]);
    }
  }
  return spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
}

export async function shrinkBytes(input: Buffer, fails: (candidate: Buffer) => Promise<boolean>, budget = 1500): Promise<{ minimal: Buffer; calls: number }> {
  let best = input;
  let calls = 0;
  // Whole values first.
  for (let progress = true; progress && calls < budget;) {
    progress = false;
    const text = best.toString('latin1');
    for (const [start, end] of valueSpans(text)) {
      if (calls >= budget) break;
      const replacements = text[start] === '"' ? ['""'] : ['0', text[start] === '[' ? '[]' : '{}'];
      for (const replacement of replacements) {
        if (end - start <= replacement.length) continue;
        const candidate = Buffer.from(text.slice(0, start) + replacement + text.slice(end), 'latin1');
        calls++;
        if (await fails(candidate)) {
          best = candidate;
          progress = true;
          break;
        }
      }
      if (progress) break;
    }
  }
  // Then bytes.
  for (let size = Math.max(1, best.length >> 1); size >= 1 && calls < budget; size >>= 1) {
    let i = 0;
    while (i < best.length && calls < budget) {
      const candidate = Buffer.concat([best.subarray(0, i), best.subarray(i + size)]);
      calls++;
      if (candidate.length > 0 && (await fails(candidate))) best = candidate;
      else i += size;
    }
  }
  return { minimal: best, calls };
}

/** A frame for a failure message: its text as a JSON string, and base64 when it is not UTF-8. */
export function describeBytes(bytes: Buffer): string {
  const text = JSON.stringify(bytes.toString('utf8'));
  return isUtf8(bytes) ? text : `${text} (not UTF-8; base64 ${bytes.toString('base64')})`;
}
