// Recording a session without a proxy: frames judged as the pump judges them (requests and
// notifications by the request rules, responses by the method they answer; a denied request is
// never forwarded, so the peer's response to it never happens; a rewritten frame is delivered
// as rewritten) and handed to a transcript writer.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPolicy, evaluateFrame, PASS, type CompiledPolicy, type Direction, type Identity } from '../../../components/policy/index.js';
import { parsePolicyText } from '../../../components/policy/document/index.js';
import { openTranscript, runReplay, type ArgumentsMode, type TranscriptWriter } from '../../../components/transcript/index.js';
import { tempDir as makeTempDir } from '../../helpers/temp-dir.js';

export const quiet = { warn() {}, error() {} };

/** Removed when the test or file that asked for it ends. */
export function tempDir(): string {
  return makeTempDir('transcript');
}

let files = 0;
export function writeTemp(dir: string, name: string, text: string): string {
  const path = join(dir, `${++files}-${name}`);
  writeFileSync(path, text);
  return path;
}

/** A policy document around these rules (YAML lines, indented as list items under `rules:`). */
export function policyYaml(name: string, rules: string, extra = ''): string {
  return `apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: ${name}, revision: 1 }\nmode: enforce\n${extra}rules:\n${rules}`;
}

export const compile = (yaml: string, file = 'policy.yaml'): Promise<CompiledPolicy> => buildPolicy(parsePolicyText(yaml, file));

export interface Step {
  readonly from: 'client' | 'server';
  readonly message: Record<string, unknown>;
  /** Epoch ms; default: 10 ms after the step before. */
  readonly at?: number;
  /** The HTTP session and caller the frame belongs to (absent: stdio). */
  readonly session?: string;
  readonly identity?: Identity;
}

export const call = (id: number | string, tool: string, args: Record<string, unknown> = {}): Step => ({
  from: 'client', message: { jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: args } },
});
export const textResult = (id: number | string, text: string): Step => ({
  from: 'server', message: { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } },
});

/** Judges each step under `policy` and records it; resolves once the transcript is closed. */
export async function recordSession(path: string, policy: CompiledPolicy | undefined, steps: readonly Step[], options: { arguments?: ArgumentsMode; start?: number } = {}): Promise<TranscriptWriter> {
  const writer = openTranscript({
    path, arguments: options.arguments ?? 'redacted', logger: quiet,
    policy: policy === undefined ? undefined : { name: policy.name, revision: policy.revision, digest: policy.digest, mode: policy.mode },
  });
  const pending = new Map<string, { method: string; denied: boolean }>();
  let at = options.start ?? 1_767_225_600_000;
  for (const step of steps) {
    at = step.at ?? at + 10;
    const direction: Direction = step.from === 'client' ? 'client-to-server' : 'server-to-client';
    const line = Buffer.from(`${JSON.stringify(step.message)}\n`);
    const id = step.message['id'] === undefined ? undefined : JSON.stringify(step.message['id']);
    const { session, identity } = step;
    const who = { ...(session === undefined ? {} : { session }), ...(identity === undefined ? {} : { identity }) };
    if (typeof step.message['method'] === 'string') {
      const method = step.message['method'];
      const { action, decisions } = policy === undefined ? PASS : evaluateFrame(policy, direction, 'request', method, line, at, identity);
      if (id !== undefined) pending.set(`${session}|${direction}|${id}`, { method, denied: action.kind === 'deny' });
      const delivered = action.kind === 'replace' ? action.line : undefined;
      writer.record({ direction, phase: 'request', kind: id === undefined ? 'notification' : 'request', method, id, line, decisions, action: action.kind, at, delivered, ...who });
      continue;
    }
    const requestDirection: Direction = direction === 'client-to-server' ? 'server-to-client' : 'client-to-server';
    const request = pending.get(`${session}|${requestDirection}|${id}`);
    pending.delete(`${session}|${requestDirection}|${id}`);
    if (request === undefined || request.denied) continue; // never forwarded: nothing to answer
    const { action, decisions } = policy === undefined ? PASS : evaluateFrame(policy, direction, 'response', request.method, line, at, identity);
    const delivered = action.kind === 'replace' ? action.line : undefined;
    writer.record({ direction, phase: 'response', kind: 'response', method: request.method, id, line, decisions, action: action.kind, at, delivered, ...who });
  }
  await writer.close();
  return writer;
}

/** Streams that keep what is written. */
export function captureIo(): { io: { stdout: { write(text: string): boolean }; stderr: { write(text: string): boolean } }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (text: string) => ((out += text), true) }, stderr: { write: (text: string) => ((err += text), true) } },
    out: () => out,
    err: () => err,
  };
}

/** runReplay with captured output. */
export async function replay(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = captureIo();
  const code = await runReplay(args, io);
  return { code, out: out(), err: err() };
}
