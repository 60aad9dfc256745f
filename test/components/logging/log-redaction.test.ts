// What the proxy logs of what its peers wrote passes the secret redactor (components/logging/redact.ts):
// before the redactor is loaded a text that may hold a secret is cut where one could start; after,
// it is redacted. The first test runs before anything loads the redactor (each test file is its own
// process, and the redactor's module is imported only later), so keep it first.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { loadLogRedactor, redactCutForLog, redactForLog, WITHHELD } from '../../../components/logging/index.js';
import { redactLogRecord } from '../../../components/logging/redact.js';
import { relayServerStderr, StderrTail } from '../../../components/proxy-process-governor/stderr-tail.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { seededRandom } from '../../helpers/seeded-random.js';

// Assembled at run time so that this file does not itself look like a leak.
const AWS = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
const GHP = ['ghp', '_', 'aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA2cE4'].join('');
const JWT = ['eyJhbGciOiJIUzI1NiJ9', 'eyJzdWIiOiIxIn0', 'c2lnbmF0dXJl'].join('.');
const PASSWORD = ['hunter2', '-Correct-Horse'].join('');
const SECRETS = [AWS, GHP, JWT, `Bearer ${['mF_9', '.B5f-4.1JqM'].join('')}`, `DB_PASSWORD=${PASSWORD}`, `-----BEGIN RSA ${'PRIVATE KEY'}-----\nMIIE\n-----END RSA PRIVATE KEY-----`];

/** No 8 characters of a secret's value left in `text`. */
function assertNoPiece(text: string, secret: string): void {
  const value = secret.replace(/^(Bearer |DB_PASSWORD=)/, '');
  const armor = '-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----'; // a PEM block's lines: no secret in them
  for (let i = 0; i + 8 <= value.length; i++) {
    const piece = value.slice(i, i + 8);
    if (armor.includes(piece)) continue;
    assert.ok(!text.includes(piece), `${JSON.stringify(piece)} is in ${JSON.stringify(text.slice(0, 300))}`);
  }
}

describe('log redaction', () => {
  it('should cut a text where a secret could start until the redactor is loaded, and leave others alone', () => {
    assert.equal(redactForLog('server listening on port 8080'), 'server listening on port 8080');
    assert.equal(redactForLog(`connecting with key ${AWS} now`), `connecting with key ${WITHHELD}`);
    assert.equal(redactForLog(`db: DB_PASSWORD=${PASSWORD}`), `db: DB_${WITHHELD}`);
  });

  it('should redact once the redactor is loaded', async () => {
    await loadLogRedactor();
    assert.equal(redactForLog(`connecting with key ${AWS} now`), 'connecting with key [REDACTED:aws-access-key] now');
    assert.equal(redactForLog(`db: DB_PASSWORD=${PASSWORD}`), 'db: DB_PASSWORD=[REDACTED:password-assignment]');
    assert.equal(redactForLog('the token count was 812'), 'the token count was 812');
  });

  it('should look for the secrets the redactor finds: never skip a text it would change', async () => {
    const { redactSecrets } = await import('../../../components/policy/rules/redact.js');
    const pieces = ['AK', 'IA', 'ASIA', 'gh', 'p_', 'github_pat_', 'eyJ', 'bearer ', 'BeArEr\t', 'pass', 'word', '=', ': ', 'api_key', 'token', 'secret', 'x', ' ', '-----BEGIN ', 'PRIVATE KEY-----'];
    const next = seededRandom(12);
    let changed = 0;
    for (let n = 0; n < 5000; n++) {
      let text = '';
      for (let k = Math.floor(next() * 8); k > 0; k--) {
        text += next() < 0.1 ? SECRETS[Math.floor(next() * SECRETS.length)] : pieces[Math.floor(next() * pieces.length)];
        if (next() < 0.3) text += 'abcXYZ019'.slice(0, Math.floor(next() * 9));
      }
      const redacted = redactSecrets(text).value;
      if (redacted === text) continue;
      changed++;
      assert.equal(redactForLog(text), redacted, JSON.stringify(text));
    }
    assert.ok(changed > 500, `the generator reaches secrets (${changed})`);
  });

  it('should end a text cut short before a secret that the cut may have cut', () => {
    for (const secret of SECRETS) {
      for (let cut = 1; cut < secret.length; cut++) {
        const text = `log line ${'x'.repeat(100)} ${secret.slice(0, cut)}`;
        const out = redactCutForLog(text);
        assertNoPiece(out, secret);
        assert.ok(out.startsWith('log line xxx'), out);
      }
    }
    assert.equal(redactCutForLog(`${'plain '.repeat(10)}`), 'plain '.repeat(10));
  });

  it('should redact the fields of a log record that quote a peer, and JSON.parse\'s quote of a text', () => {
    let parseError = '';
    try {
      JSON.parse(`[${AWS}]`);
    } catch (error) {
      parseError = (error as Error).message;
    }
    assert.ok(parseError.includes(AWS.slice(0, 6)), `V8 quotes the text: ${parseError}`);
    const record = { problem: 'parse', detail: parseError, line: `key ${AWS}`, stderrTail: ['ok', `token ${GHP}`, 3], text: JWT, method: 'tools/call', bytes: 10 };
    const out = redactLogRecord(record);
    const serialized = JSON.stringify(out);
    for (const secret of [AWS, GHP, JWT]) assertNoPiece(serialized, secret);
    assert.ok(!serialized.includes(AWS.slice(0, 6)), serialized);
    assert.deepEqual({ ...out, detail: undefined, line: undefined, stderrTail: undefined, text: undefined }, { ...record, detail: undefined, line: undefined, stderrTail: undefined, text: undefined });
    assert.deepEqual(out['stderrTail'], ['ok', 'token [REDACTED:github-token]', 3]);
    const clean = { line: 'plain', detail: 'expected a quoted key', n: 1 };
    assert.equal(redactLogRecord(clean), clean, 'nothing to redact: the same record');
  });

  it('should redact them in every record the proxy\'s logger writes', () => {
    const { logger, text } = captureLogs('debug');
    logger.child({ session: 's' }).warn({ line: `key ${AWS}`, detail: 'x' }, 'dropped a line from the server that is not a JSON-RPC frame');
    logger.error({ stderrTail: [`export GITHUB_TOKEN=${GHP}`] }, 'the MCP server exited');
    const written = text();
    assertNoPiece(written, AWS);
    assertNoPiece(written, GHP);
    assert.match(written, /\[REDACTED:aws-access-key\]/);
  });

  it('should relay the server\'s stderr redacted, and keep its tail redacted', async () => {
    const capture = captureLogs('info');
    const stderr = new PassThrough();
    const tail = new StderrTail(10);
    relayServerStderr(stderr, capture.logger, tail);
    const long = `${'y'.repeat(16 * 1024 - 20)} key ${AWS}${'z'.repeat(100)}`; // over the 16 KiB line limit, cut inside the key
    stderr.end(`starting\nusing ${AWS} for s3\nAuthorization: Bearer ${['mF_9', '.B5f-4.1JqM'].join('')}\n${long}\n`);
    await new Promise((resolve) => setImmediate(resolve));
    const logged = capture.entries.filter((entry) => entry['source'] === 'server').map((entry) => String(entry['msg']));
    assert.equal(logged.length, 4);
    assert.deepEqual(logged.slice(0, 3), ['starting', 'using [REDACTED:aws-access-key] for s3', 'Authorization: Bearer [REDACTED:bearer-token]']);
    assert.deepEqual(tail.lines().slice(0, 3), logged.slice(0, 3));
    for (const text of [...logged, ...tail.lines()]) assertNoPiece(text, AWS);
    assert.ok(logged[3]!.endsWith('…'));
  });
});
