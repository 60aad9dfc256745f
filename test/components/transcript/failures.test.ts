// Issue 19, item 5: transcript failures are visible — logged once per burst with a count (not
// only the first one the process ever had), a summary while a long burst lasts, the recovery with
// the total — and counted, for mcp_sidecar_transcript_write_failures_total.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createMetrics } from '../../../components/metrics/index.js';
import { FAILURE_SUMMARY_EVERY_MS } from '../../../components/transcript/failure-bursts.js';
import { openTranscript, type TranscriptFrame } from '../../../components/transcript/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { tempDir } from './session.js';

const dir = tempDir();
let files = 0;
const nextPath = (): string => join(dir, `failures${++files}.ndjson`);

const good = (): TranscriptFrame => ({
  direction: 'client-to-server', phase: 'request', kind: 'request', method: 'ping', id: '1',
  line: Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}\n'), decisions: [], action: 'forward', at: 1000,
});
// A frame the line writer cannot serialize (its decisions are not a list): what a bug upstream would hand it.
const unrecordable = (): TranscriptFrame => ({ ...good(), decisions: null as unknown as TranscriptFrame['decisions'] });

function recordingLogger(): { logger: { error(details: object, message: string): void; warn(details: object, message: string): void }; entries: Array<{ level: string; message: string; details: Record<string, unknown> }> } {
  const entries: Array<{ level: string; message: string; details: Record<string, unknown> }> = [];
  return {
    entries,
    logger: {
      error: (details, message) => entries.push({ level: 'error', message, details: details as Record<string, unknown> }),
      warn: (details, message) => entries.push({ level: 'warn', message, details: details as Record<string, unknown> }),
    },
  };
}

async function failuresMetric(read: () => { failures: number }): Promise<number> {
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.watchTranscript(read);
  const body = (await metrics.render()).body;
  const line = body.split('\n').find((l) => l.startsWith('mcp_sidecar_transcript_write_failures_total '));
  assert.match(body, /^# TYPE mcp_sidecar_transcript_write_failures_total counter$/m);
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('transcript failures', () => {
  it('should log each burst of frames it cannot record once, a summary while it lasts, and the recovery with the count', async () => {
    const { logger, entries } = recordingLogger();
    const clock = new FakeClock();
    const writer = openTranscript({ path: nextPath(), arguments: 'redacted', logger, clock });
    const messages = (): string[] => entries.map((e) => `${e.level}: ${e.message}`);

    for (let i = 0; i < 3; i++) writer.record(unrecordable());
    await writer.flush();
    assert.deepEqual(messages(), ['error: transcript: a frame could not be recorded; it is left out of the transcript (counted)']);
    clock.advance(FAILURE_SUMMARY_EVERY_MS);
    writer.record(unrecordable());
    await writer.flush();
    assert.equal(entries.length, 2);
    assert.equal(entries[1]!.message, 'transcript: a frame could not be recorded, still (4 frames lost in this burst); it is left out of the transcript (counted)');
    assert.deepEqual([entries[1]!.details['lost'], entries[1]!.details['sinceLastLogged']], [4, 3]);
    writer.record(good());
    await writer.flush();
    assert.equal(entries[2]!.message, 'transcript: recording frames again; 4 frames were lost');

    // A second burst, long after the first: logged again (before, only the first failure ever was).
    writer.record(unrecordable());
    writer.record(unrecordable());
    await writer.close();
    assert.deepEqual(messages().slice(3), ['error: transcript: a frame could not be recorded; it is left out of the transcript (counted)']);
    assert.equal(writer.stats.failures, 6);
    assert.equal(writer.stats.written, 1);
    assert.equal(await failuresMetric(() => writer.stats), 6);
  });

  it('should log a burst of failed writes once, and count every frame lost', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, async () => {
    const { logger, entries } = recordingLogger();
    const writer = openTranscript({ path: '/dev/full', arguments: 'redacted', logger, clock: new FakeClock() });
    for (let i = 0; i < 5; i++) {
      writer.record(good());
      await writer.flush(); // each frame its own write: five failures in one burst
    }
    await writer.close();
    const errors = entries.filter((e) => e.level === 'error').map((e) => e.message);
    assert.deepEqual(errors, ['transcript: cannot write; frames are being lost (counted)']);
    assert.equal(writer.stats.failures, 5);
    assert.equal(writer.stats.written, 0);
    assert.equal(await failuresMetric(() => writer.stats), 5);
  });

  it('should expose the counter at 0 without a transcript', async () => {
    assert.equal(await failuresMetric(() => undefined as unknown as { failures: number }), 0);
  });
});
