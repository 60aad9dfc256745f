// Shared material for the execution-report tests: a transcript of what a session can report,
// a fake clock, keys and temporary files.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import {
  createReportChain, type ReportChainOptions, type ReportDecision, type ReportInput, type ReportPolicy,
} from '../../../components/execution-report/index.js';

export const POLICY: ReportPolicy = { name: 'readonly', revision: '3', digest: `sha256:${'ab'.repeat(32)}` };
const D = (c: string): string => `sha256:${c.repeat(64)}`;

/** A session: spawn, calls of every outcome, a rule's decisions, a restart, a server request. */
export function transcript(): ReportInput[] {
  const call = { kind: 'invocation', direction: 'client-to-server', policy: POLICY, mode: 'enforce', generation: 0 } as const;
  return [
    { kind: 'lifecycle', event: 'spawn', detail: { command: 'node server.js' }, generation: 0, pid: 4242 },
    { ...call, method: 'initialize', requestId: '0', decisions: [], outcome: 'forwarded', responseDigest: D('1') },
    {
      ...call, method: 'tools/list', requestId: '1', outcome: 'forwarded', responseDigest: D('2'),
      decisions: [{ ruleId: 'hide-admin', kind: 'hide', phase: 'response', effect: 'rewrite', enforced: true, reason: 'hidden', changes: 2 }],
    },
    {
      ...call, method: 'tools/call', target: { type: 'tool', name: 'delete_file' }, requestId: '"a"', argumentsDigest: D('3'), outcome: 'blocked',
      decisions: [{ ruleId: 'no-delete', kind: 'tools', phase: 'request', effect: 'deny', enforced: true, reason: 'tool_not_allowed', message: 'the words for people are not recorded' }],
    } as unknown as ReportInput, // an engine Decision, message and all
    {
      ...call, method: 'tools/call', target: { type: 'tool', name: 'echo' }, requestId: '2', argumentsDigest: D('4'), arguments: { text: 'héllo ✓', n: 1.5, nested: { z: null, a: [true] } },
      outcome: 'forwarded', responseDigest: D('5'), decisions: [{ ruleId: 'shadow', kind: 'arguments', phase: 'request', effect: 'deny', enforced: false, reason: 'argument_out_of_range' }],
    },
    { ...call, method: 'notifications/message', outcome: 'blocked', decisions: [{ ruleId: 'quiet', kind: 'methods', phase: 'request', effect: 'deny', enforced: true, reason: 'method_not_allowed' }] },
    { ...call, direction: 'server-to-client', method: 'sampling/createMessage', requestId: '9', decisions: [], outcome: 'upstream_error', responseDigest: D('6') },
    { ...call, method: 'tools/call', target: { type: 'tool', name: 'slow' }, requestId: '3', decisions: [], outcome: 'upstream_exited' },
    { kind: 'lifecycle', event: 'exit', detail: { exitCode: 1, signal: null }, generation: 0, pid: 4242 },
    { kind: 'lifecycle', event: 'restart', detail: { attempt: 1, reason: 'exited unbidden' }, generation: 1 },
    { kind: 'lifecycle', event: 'spawn', detail: { command: 'node server.js' }, generation: 1, pid: 4250 },
    { ...call, generation: 1, method: 'resources/read', target: { type: 'resource', name: 'file:///x' }, requestId: '4', decisions: [], outcome: 'rate_limited', identity: { tenantId: 't' } },
  ];
}

const sha = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

// Strings that need escaping, non-ASCII, astral and lone surrogates.
const ALPHABET = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u007f', 'é', '€', '✓', '😀', '\ud800', '\udfff', '\u2028'];

/** Random report inputs of every shape, from a seeded source (test/helpers/seeded-random.ts). */
export function generator(next: () => number): () => ReportInput {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const text = (): string => Array.from({ length: Math.floor(next() * 8) }, () => pick(ALPHABET)).join('');
  const maybe = <T>(make: () => T): T | undefined => (next() < 0.5 ? make() : undefined);
  const json = (depth: number): unknown => {
    const kind = depth > 2 ? Math.floor(next() * 4) : Math.floor(next() * 6);
    switch (kind) {
      case 0: return text();
      case 1: return pick([0, -0, 1.5, -2e-7, 1e21, 123456789.123, Number.MAX_SAFE_INTEGER]);
      case 2: return pick([true, false]);
      case 3: return null;
      case 4: return Array.from({ length: Math.floor(next() * 3) }, () => json(depth + 1));
      default: return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [text(), json(depth + 1)]));
    }
  };
  const decision = (): ReportDecision => ({
    ruleId: text() || 'r', kind: pick(['tools', 'redact']), phase: pick(['request', 'response'] as const), effect: pick(['deny', 'rewrite'] as const),
    enforced: next() < 0.5, reason: text() || 'why', changes: maybe(() => Math.floor(next() * 5)),
  });
  return (): ReportInput => next() < 0.2
    ? {
      kind: 'lifecycle', event: pick(['spawn', 'exit', 'restart', 'fatal', 'refused'] as const), generation: Math.floor(next() * 3),
      detail: { command: maybe(text), exitCode: maybe(() => pick([0, 1, null])), signal: maybe(() => pick(['SIGKILL', null])), attempt: maybe(() => 2), reason: maybe(text) },
      pid: maybe(() => 77), dropped: maybe(() => 3),
    }
    : {
      kind: 'invocation', direction: pick(['client-to-server', 'server-to-client'] as const), method: text(), generation: Math.floor(next() * 3),
      target: maybe(() => ({ type: pick(['tool', 'prompt', 'resource'] as const), name: text() })), requestId: maybe(() => JSON.stringify(text())),
      argumentsDigest: maybe(() => sha(text())), arguments: maybe(() => json(0)), responseDigest: maybe(() => sha(text())),
      policy: next() < 0.5 ? POLICY : { name: text() || 'p', revision: text(), digest: sha('p') }, mode: pick(['observe', 'enforce'] as const),
      decisions: Array.from({ length: Math.floor(next() * 3) }, decision), outcome: pick(['forwarded', 'blocked', 'timeout'] as const),
      identity: maybe(() => ({ tenantId: maybe(text), userId: maybe(text), agentId: maybe(text) })), dropped: maybe(() => 1),
    };
}

/** A clock that moves `stepMs` per reading, from `start`. */
export function fakeClock(start = Date.UTC(2026, 0, 1), stepMs = 7): () => Date {
  let now = start;
  return () => new Date((now += stepMs));
}

/** Report lines (without newlines) for a transcript. */
export function chainLines(inputs: readonly ReportInput[], options: ReportChainOptions = {}): string[] {
  const chain = createReportChain({ clock: fakeClock(), ...options });
  return inputs.map((input) => chain.append(input).line);
}

/** The same lines, then the checkpoint a reporter writes when it closes (signed with a signer). */
export function closedLines(inputs: readonly ReportInput[], options: ReportChainOptions = {}): string[] {
  const chain = createReportChain({ clock: fakeClock(), ...options });
  return [...inputs.map((input) => chain.append(input).line), chain.checkpoint('close').line];
}

/** Format 1 files written by the previous version (same transcript and clock), and the public key of the signed one. */
export const V1_FIXTURES = {
  unsigned: fileURLToPath(new URL('fixtures/v1-transcript.ndjson', import.meta.url)),
  signed: fileURLToPath(new URL('fixtures/v1-signed.ndjson', import.meta.url)),
  publicKey: fileURLToPath(new URL('fixtures/v1-report.pub.pem', import.meta.url)),
};

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'reports-'));
  dirs.push(dir);
  return dir;
}

export function writeLines(path: string, lines: readonly string[], { newlineAtEnd = true } = {}): string {
  writeFileSync(path, lines.join('\n') + (newlineAtEnd && lines.length > 0 ? '\n' : ''));
  return path;
}

/** An Ed25519 key pair written as PEM files (PKCS#8 private, SPKI public). */
export function keyFiles(dir: string, name = 'report'): { privatePath: string; publicPath: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePath = join(dir, `${name}.key`);
  const publicPath = join(dir, `${name}.pub`);
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privatePath, publicPath };
}

/** Output written to it, for the verify command. */
export function capture(): { write(text: string): boolean; text: string } {
  return { text: '', write(text: string) { this.text += text; return true; } };
}
