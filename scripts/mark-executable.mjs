// Makes the built CLI entry executable, so the `mcp-sidecar` bin runs directly after `npm ci`.
import { chmodSync } from 'node:fs';
for (const file of process.argv.slice(2)) chmodSync(file, 0o755);
