// A fresh folder in the OS temp folder that does not outlive the tests: removed, with all it
// holds, when the test, describe or file that made it ends (node:test's after() hooks where it
// is called: at a file's top level, in a describe, or in a test).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** mkdtempSync(join(tmpdir(), `${prefix}-`)), removed when the enclosing test, describe or file ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  // maxRetries: a process the test started may still be writing there as it is stopped.
  after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));
  return dir;
}
