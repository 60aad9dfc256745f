// What the pump hands its observer of a frame an enforced redact rule rewrote (`delivered`: the
// bytes the client got, for the transcript), and what it logs of a server line that is not a
// frame (redacted).
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { loadLogRedactor } from '../../../components/logging/index.js';
import type { RedactRule } from '../../../components/policy/document/document.js';
import { createRedactRules } from '../../../components/policy/rules/redact.js';
import { createPump, type ObservedFrame } from '../../../components/pump/index.js';
import { createNdjsonChannel } from '../../../components/transport/index.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { policyFromRules } from '../../helpers/test-policy.js';

// Assembled at run time so that this file does not itself look like a leak.
const AWS = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');

function setup(mode: 'enforce' | 'observe') {
  const clientIn = new PassThrough(), clientOut = new PassThrough(), serverStdout = new PassThrough(), serverStdin = new PassThrough();
  const observed: ObservedFrame[] = [];
  const logs = captureLogs('debug');
  const rules = createRedactRules({ id: 'secrets', redact: { detectors: 'all' } } as RedactRule, { mode });
  createPump({
    client: createNdjsonChannel(clientIn, clientOut, { maxFrameBytes: 1 << 20 }),
    server: createNdjsonChannel(serverStdout, serverStdin, { maxFrameBytes: 1 << 20 }),
    logger: logs.logger,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
    policy: { current: policyFromRules(rules, { mode }) },
    observer: { onFrame: (frame) => void observed.push(frame), onRequestEnd: () => undefined },
  });
  let toClient = '';
  clientOut.on('data', (chunk: Buffer) => (toClient += chunk));
  return { clientIn, serverStdout, observed, logs, toClient: () => toClient };
}

const NOTIFICATION = `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: [{ t: AWS.slice(0, 4) }, { t: AWS.slice(4) }] } })}\n`;
const RESULT = `${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: `key ${AWS.slice(0, 6)}` }, { type: 'text', text: AWS.slice(6) }] } })}\n`;

describe('pump: what an observer and the logs get of a redacted frame', () => {
  it('should hand the observer the received line and, for an enforced rewrite, the delivered bytes', async () => {
    const s = setup('enforce');
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}\n');
    await tick();
    s.serverStdout.write(NOTIFICATION + RESULT);
    await tick();
    const [notification, response] = s.observed.filter((frame) => frame.direction === 'server-to-client');
    assert.equal(notification!.action, 'replace');
    assert.equal(notification!.line.toString(), NOTIFICATION);
    assert.ok(!notification!.delivered!.toString().includes(AWS.slice(4)));
    assert.equal(response!.action, 'replace');
    assert.equal(response!.line.toString(), RESULT);
    const delivered = s.toClient().split('\n').filter(Boolean);
    assert.deepEqual([notification!.delivered!.toString(), response!.delivered!.toString()], delivered.map((line) => `${line}\n`), 'what the client got');
  });

  it('should hand no delivered bytes for what is forwarded as received (observe mode)', async () => {
    const s = setup('observe');
    s.clientIn.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}\n');
    await tick();
    s.serverStdout.write(NOTIFICATION + RESULT);
    await tick();
    const frames = s.observed.filter((frame) => frame.direction === 'server-to-client');
    assert.deepEqual(frames.map((frame) => [frame.action, frame.delivered, frame.decisions.map((d) => d.enforced)]), [['forward', undefined, [false]], ['forward', undefined, [false]]]);
    assert.equal(s.toClient(), NOTIFICATION + RESULT);
  });

  it('should log a server line that is not a frame with its secrets redacted, however long', async () => {
    await loadLogRedactor();
    const s = setup('enforce');
    s.serverStdout.write(`debug: key ${AWS} loaded\n`);
    s.serverStdout.write(`${'x'.repeat(190)} ${AWS} ${'y'.repeat(2000)}\n`); // the key straddles the preview's length
    s.serverStdout.write(`${'z'.repeat(795)} ${AWS}\n`); // cut inside the key where the preview stops reading
    await tick();
    const dropped = s.logs.entries.filter((entry) => /not (one reading of )?a JSON-RPC frame/.test(String(entry['msg'])));
    assert.equal(dropped.length, 3);
    assert.equal(dropped[0]!['line'], 'debug: key [REDACTED:aws-access-key] loaded');
    for (const entry of dropped) {
      const line = String(entry['line']);
      for (let i = 0; i + 6 <= AWS.length - 4; i++) assert.ok(!line.includes(AWS.slice(4 + i, 10 + i)), line);
    }
  });
});
