#!/usr/bin/env node
// A reference, not a proxy: the least a Node process can do to put a stdio server behind HTTP.
// Each POST body goes to the server's stdin as one line; each line the server writes answers
// the oldest POST still waiting (the bench server answers in order; a real bridge could not
// assume that); a body without an "id" member is a notification and gets 202 at once. No
// sessions, no checks, no JSON parsing: the floor for node:http plus two pipes, as
// bench/raw-pipe.mjs is the floor over stdio.
//   node bench/raw-http-pipe.mjs <port> <server command> [args...]
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';

const [port, command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
child.stdin.on('error', () => {});
child.on('exit', (code) => process.exit(code ?? 1));

const NEWLINE = Buffer.from('\n');
const ID = Buffer.from('"id"');
/** POSTs waiting for the server's answer, oldest first (an array with a moving head: no shift()). */
const waiting = [];
let head = 0;

let partial = null;
child.stdout.on('data', (chunk) => {
  let start = 0;
  for (let end = chunk.indexOf(10); end >= 0; end = chunk.indexOf(10, start)) {
    let line = chunk.subarray(start, end);
    if (partial !== null) {
      line = Buffer.concat([partial, line]);
      partial = null;
    }
    start = end + 1;
    const res = waiting[head];
    if (res === undefined) continue; // a server notification or request: nobody asked for it here
    waiting[head++] = undefined;
    if (head === waiting.length) waiting.length = head = 0;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': line.length });
    res.end(line);
  }
  if (start < chunk.length) partial = partial === null ? chunk.subarray(start) : Buffer.concat([partial, chunk.subarray(start)]);
});

let corked = false;
const uncork = () => {
  corked = false;
  child.stdin.uncork();
};

createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (body.indexOf(ID) < 0) {
      res.writeHead(202).end();
    } else {
      waiting.push(res);
    }
    // One write to the server per event-loop turn, as the proxy does for HTTP sessions.
    if (!corked) {
      corked = true;
      child.stdin.cork();
      setImmediate(uncork);
    }
    child.stdin.write(body);
    child.stdin.write(NEWLINE);
  });
}).listen(Number(port), '127.0.0.1');
