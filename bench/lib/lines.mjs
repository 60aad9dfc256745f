// NDJSON line splitting for the bench's own client and server: linear in the bytes seen.
// A line inside one chunk is a view of it; a line spread over chunks is joined once, when
// its newline arrives (so a 32 MiB frame costs one copy, not one per chunk).

const NEWLINE = 0x0a;

/** Returns a function to feed chunks to; `onLine` gets each line including its `\n`. */
export function createLineReader(onLine) {
  let parts = [];
  let partsBytes = 0;
  return (chunk) => {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        if (start < chunk.length) {
          parts.push(start === 0 ? chunk : chunk.subarray(start));
          partsBytes += chunk.length - start;
        }
        return;
      }
      let line;
      if (partsBytes === 0) {
        line = chunk.subarray(start, newline + 1);
      } else {
        parts.push(chunk.subarray(start, newline + 1));
        line = Buffer.concat(parts, partsBytes + newline + 1 - start);
        parts = [];
        partsBytes = 0;
      }
      start = newline + 1;
      if (line.length > 1) onLine(line);
    }
  };
}
