#!/usr/bin/env node
// A reference, not a proxy: the server's bytes piped through a Node process with no
// framing at all (stdin → child stdin, child stdout → stdout). It is the floor for any
// proxy written in Node: what the extra process and its two extra pipe hops cost alone.
//   node bench/raw-pipe.mjs <server command> [args...]
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
process.stdin.pipe(child.stdin);
child.stdout.pipe(process.stdout);
child.stdin.on('error', () => {});
child.on('exit', (code) => process.exit(code ?? 1));
