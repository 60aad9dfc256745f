// A replayed redact rule must find a secret where the recording had one: each built-in
// detector's placeholder is matched again by that detector, and holds nothing of the secret.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { evaluateFrame, loadSecretRedactor } from '../../../components/policy/index.js';
import { DETECTOR_NAMES, type DetectorName } from '../../../components/policy/document/index.js';
import { SECRET_PLACEHOLDERS } from '../../../components/transcript/index.js';
import { markersToPlaceholders } from '../../../components/transcript/placeholders.js';
import { call, compile, policyYaml, recordSession, tempDir, textResult } from './session.js';

/** Two different secrets per detector, in the context the detector needs, and the part that is the secret. */
const SAMPLES: Readonly<Record<DetectorName, ReadonlyArray<{ text: string; secret: string }>>> = {
  'private-key': [
    { text: 'key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq\n-----END RSA PRIVATE KEY-----\nend', secret: 'MIIEowIBAAKCAQEA7bq' },
    { text: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----', secret: 'b3BlbnNzaC1rZXktdjEAAAAA' },
  ],
  'aws-access-key': [
    { text: 'id AKIAIOSFODNN7EXAMPLE here', secret: 'IOSFODNN7EXAMPLE' },
    { text: 'temporary: ASIA2XKQ7J3LMNOPQRST.', secret: '2XKQ7J3LMNOPQRST' },
  ],
  'github-token': [
    { text: 'token ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok', secret: 'abcdefghijklmnopqrstuvwxyz0123456789' },
    { text: 'pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', secret: '11ABCDEFG0123456789_abcdefghij' },
  ],
  jwt: [
    { text: 'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', secret: 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U' },
    { text: '"eyJ0eXAiOiJKV1QifQ.eyJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJl"', secret: 'eyJleHAiOjE3MDAwMDAwMDB9' },
  ],
  'bearer-token': [
    { text: 'Authorization: Bearer abc123def456ghi789', secret: 'abc123def456ghi789' },
    { text: 'bearer    Zm9vYmFyYmF6cXV4cXV1eA==; next', secret: 'Zm9vYmFyYmF6cXV4cXV1eA' },
  ],
  'password-assignment': [
    { text: 'DB_PASSWORD=hunter2-sekrit more', secret: 'hunter2-sekrit' },
    { text: 'config: {"api_key": "s3cr3t value"}', secret: 's3cr3t value' },
  ],
};

const responseLine = (text: string): Buffer => Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text }] } })}\n`);

describe('secret placeholders', () => {
  it('should have one for every built-in detector', () => {
    assert.deepEqual(Object.keys(SECRET_PLACEHOLDERS).sort(), [...DETECTOR_NAMES].sort());
  });

  it('should stand for the markers of the built-in detectors in a frame as a redact rule delivered it, and leave a custom pattern\'s', () => {
    const delivered = { a: DETECTOR_NAMES.map((name) => `x [REDACTED:${name}] y`), b: { c: '[REDACTED:employee-id] and [REDACTED:jwt]' }, n: 1 };
    assert.deepEqual(markersToPlaceholders(delivered), {
      a: DETECTOR_NAMES.map((name) => `x ${SECRET_PLACEHOLDERS[name]} y`),
      b: { c: `[REDACTED:employee-id] and ${SECRET_PLACEHOLDERS.jwt}` },
      n: 1,
    });
  });

  for (const name of DETECTOR_NAMES) {
    it(`should give ${name} a placeholder the same detector matches again, alone, in place of any of its secrets`, async () => {
      const redactSecrets = await loadSecretRedactor();
      const only = await compile(policyYaml('only', `  - id: only\n    redact: { detectors: [${name}] }\n`));
      const placeholder = SECRET_PLACEHOLDERS[name];
      for (const sample of SAMPLES[name]) {
        // Recorded: the secret replaced by the placeholder, nothing of it left.
        const found: string[] = [];
        const recorded = redactSecrets(sample.text, (detector) => (found.push(detector), (SECRET_PLACEHOLDERS as Record<string, string>)[detector]!)).value as string;
        assert.deepEqual(found, [name], `the sample is a ${name} secret`);
        assert.ok(recorded.includes(placeholder), recorded);
        assert.ok(!recorded.includes(sample.secret), `${recorded} still holds the secret`);
        assert.ok(!placeholder.includes(sample.secret));

        // Replayed: the detector alone finds exactly one secret in what was recorded.
        const { decisions } = evaluateFrame(only, 'server-to-client', 'response', 'tools/call', responseLine(recorded), 0);
        assert.deepEqual(decisions.map((d) => [d.ruleId, d.effect, d.changes]), [['only', 'rewrite', 1]], recorded);

        // And recording what was recorded changes nothing: a fixed point.
        assert.equal(redactSecrets(recorded, (detector) => (SECRET_PLACEHOLDERS as Record<string, string>)[detector]!).value, recorded);
      }
    });
  }

  it('should let a replayed redact rule find every secret of a recorded result', async () => {
    const dir = tempDir();
    const path = join(dir, 't.ndjson');
    const text = DETECTOR_NAMES.map((name) => SAMPLES[name][0]!.text).join('\n');
    await recordSession(path, undefined, [call(1, 'read_file'), textResult(1, text)]);
    const recorded = readFileSync(path, 'utf8').trimEnd().split('\n')[2]!;
    const frame = JSON.parse(recorded) as { frame: unknown };
    const all = await compile(policyYaml('all', '  - id: all\n    redact: { detectors: all }\n'));
    const { decisions } = evaluateFrame(all, 'server-to-client', 'response', 'tools/call', Buffer.from(`${JSON.stringify(frame.frame)}\n`), 0);
    assert.equal(decisions[0]?.changes, DETECTOR_NAMES.length);
    for (const name of DETECTOR_NAMES) for (const sample of SAMPLES[name]) assert.ok(!recorded.includes(sample.secret));
  });
});
