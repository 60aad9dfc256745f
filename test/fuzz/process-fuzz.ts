// The one-reading fuzzer's end-to-end slice: the same frames through the built proxy
// (dist/cli.js --stdio) in front of test/fixtures/servers/one-reading-server.js. Each round writes
// client frames (cut across writes at random), has the server emit server frames, and sends a
// ping; the proxy must answer it, must not exit, and every line it writes must read one way.
import type { ProxyProcess } from '../helpers/proxy-process.js';
import { clientFrame, IdSource, Rng, serverFrame, DEFAULT_MIX, type FrameMix } from './frame-gen.js';
import { KNOWN_GAPS } from './known-bugs.js';
import { checkForwarded } from './readers.js';
import { describeBytes } from './shrink.js';

export interface ProcessFuzzReport {
  readonly seed: number;
  readonly rounds: number;
  readonly frames: { client: number; server: number };
  /** Lines on the proxy's stdout. */
  readonly linesOut: number;
  readonly gaps: Record<string, { count: number; example: string }>;
  /** The first failure, with the round's frames (the proxy's state matters: no shrinking here). */
  readonly failure?: string;
}

function chunks(bytes: Buffer, rng: Rng): Buffer[] {
  if (bytes.length < 2 || rng.chance(0.5)) return [bytes];
  const cut = 1 + rng.int(bytes.length - 1);
  return [bytes.subarray(0, cut), bytes.subarray(cut)];
}

export async function runProcessFuzz(proxy: ProxyProcess, options: { seed: number; frames: number; mix?: FrameMix; knownGaps?: ReadonlySet<string> }): Promise<ProcessFuzzReport> {
  const rng = new Rng(options.seed);
  const mix = options.mix ?? DEFAULT_MIX;
  const knownGaps = options.knownGaps ?? new Set(Object.keys(KNOWN_GAPS));
  const clientIds = new IdSource('c');
  const serverIds = new IdSource('s');
  const frames = { client: 0, server: 0 };
  const gaps: ProcessFuzzReport['gaps'] = {};
  let linesOut = 0;
  let round = 0;
  while (frames.client + frames.server < options.frames) {
    round++;
    const client = Array.from({ length: 1 + rng.int(16) }, () => clientFrame(rng, clientIds, mix).bytes);
    const emitId = `"emit-${round}"`;
    const server = Array.from({ length: rng.int(6) }, () => serverFrame(rng, serverIds, [emitId], mix).bytes);
    frames.client += client.length;
    frames.server += server.length;
    const describeRound = (): string => [
      `round ${round} (seed ${options.seed})`,
      ...client.map((f) => `  client frame: ${describeBytes(f)}`),
      ...server.map((f) => `  server frame: ${describeBytes(f)}`),
    ].join('\n');
    for (const chunk of chunks(Buffer.concat(client), rng)) proxy.write(chunk);
    // The server writes each frame as given (a `\r` before its `\n` kept; the server adds the `\n`).
    proxy.send({ jsonrpc: '2.0', id: JSON.parse(emitId) as string, method: 'fixture/emit', params: { lines: server.map((f) => f.subarray(0, -1).toString('base64')) } });
    const pingId = `ping-${round}`;
    proxy.send({ jsonrpc: '2.0', id: pingId, method: 'ping' });
    for (;;) {
      let raw: Buffer;
      try {
        raw = await proxy.stdout.nextLine(10_000);
      } catch (error) {
        return { seed: options.seed, rounds: round, frames, linesOut, gaps, failure: `no answer to the ping (${(error as Error).message}); proxy exit ${JSON.stringify(proxy.exit)}\n${describeRound()}` };
      }
      linesOut++;
      const line = Buffer.concat([raw, Buffer.from('\n')]);
      for (const violation of checkForwarded(line)) {
        if (!knownGaps.has(violation.kind)) return { seed: options.seed, rounds: round, frames, linesOut, gaps, failure: `${violation.kind}: ${violation.message}: ${describeBytes(raw)}\n${describeRound()}` };
        const gap = (gaps[violation.kind] ??= { count: 0, example: `${violation.message}: ${describeBytes(raw)}` });
        gap.count++;
      }
      if (raw.toString('utf8') === `{"jsonrpc":"2.0","id":"${pingId}","result":{}}`) break;
    }
    if (proxy.exit !== undefined) return { seed: options.seed, rounds: round, frames, linesOut, gaps, failure: `the proxy exited ${JSON.stringify(proxy.exit)}\n${describeRound()}` };
  }
  return { seed: options.seed, rounds: round, frames, linesOut, gaps };
}
