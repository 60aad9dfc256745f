/** A frame's bytes without its line end (`\n`, or `\r\n`): the JSON text itself, as a view, no copy. */
export function withoutLineEnd(line: Buffer): Buffer {
  let end = line.length;
  while (end > 0 && (line[end - 1] === 0x0a || line[end - 1] === 0x0d)) end--;
  return end === line.length ? line : line.subarray(0, end);
}
