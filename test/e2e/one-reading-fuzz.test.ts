// One reading (issue 12), the fuzzer's end-to-end slice: a few thousand random and mutated
// frames, client → proxy and server → proxy, through the built proxy (dist/cli.js --stdio) in
// front of test/fixtures/servers/one-reading-server.js (test/fuzz/process-fuzz.ts). The proxy
// must never exit, must answer a ping after every chunk, and every line it writes to its client
// must read one way; at the end, stdin EOF stops it cleanly. ONE_READING_SEED=<n> replays a run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KNOWN_GAPS } from '../fuzz/known-bugs.js';
import { runProcessFuzz } from '../fuzz/process-fuzz.js';
import { fixtureServer } from '../helpers/paths.js';
import { spawnProxy } from '../helpers/proxy-process.js';

const SEED = Number(process.env.ONE_READING_SEED ?? 12);
const FRAMES = 4000;

test(`one reading end to end: ${FRAMES} fuzzed frames through dist/cli.js, a ping answered after every chunk`, async (t) => {
  console.log(`one-reading e2e fuzz: seed ${SEED} (ONE_READING_SEED=${SEED} replays it)`);
  const proxy = spawnProxy([process.execPath, fixtureServer('one-reading-server.js')], { logLevel: 'info' });
  t.after(() => proxy.dispose());
  const report = await runProcessFuzz(proxy, { seed: SEED, frames: FRAMES });
  t.diagnostic(`seed ${SEED}: ${report.frames.client} client and ${report.frames.server} server frames in ${report.rounds} chunks; ${report.linesOut} lines out; known gaps ${JSON.stringify(Object.fromEntries(Object.entries(report.gaps).map(([k, v]) => [k, v.count])))}`);
  assert.equal(report.failure, undefined, report.failure);
  assert.equal(proxy.exit, undefined, 'the proxy never exited');
  assert.equal(proxy.logs().filter((r) => r.msg === 'started the MCP server').length, 1, 'the server was never restarted');
  proxy.endInput();
  assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null }, proxy.stderr.bytes.toString('utf8').slice(-2000));
  // Every stdout line was read by the readers above; none is a log record, none is left unterminated.
  assert.ok(!proxy.stdout.lines.some((l) => l.includes('"name":"mcp-sidecar"')), 'no log record on stdout');
  assert.equal(proxy.stdout.partial.length, 0);
  for (const kind of Object.keys(report.gaps)) assert.ok(kind in KNOWN_GAPS, kind);
});
