// The one-reading corpus (test/fixtures/one-reading/corpus.json): its cases, typed, and their bytes.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CorpusCase {
  readonly name: string;
  readonly about: string;
  readonly directions: ReadonlyArray<'client' | 'server'>;
  /** The line's JSON text without its `\n`. */
  readonly frame: string;
  /** latin1: each character of `frame` is one byte (for invalid UTF-8). */
  readonly encoding?: 'latin1';
  readonly expect: 'refuse' | 'forward';
  /** readEnvelope's problem kind; null when the frame reads fine (refused by the pump, or forwarded). */
  readonly problem: 'parse' | 'ambiguous' | 'not_jsonrpc' | null;
  readonly code?: string;
  readonly rpcCode?: number;
  readonly reason?: string;
  /** The id the client's error carries (null: none). */
  readonly replyId?: unknown;
  /** A batch: the ids of the array of errors, in order. */
  readonly batchIds?: readonly unknown[];
  /** A request held in flight before the frame. */
  readonly inFlight?: string;
  readonly server?: { readonly tiedId: number | string | null; readonly toServer?: { readonly id: string; readonly code: string } };
  readonly http?: { readonly expect: 'accept' } | { readonly code: string; readonly rpcCode: number; readonly reason: string; readonly replyId: unknown };
}

export const CORPUS_FILE = fileURLToPath(new URL('../fixtures/one-reading/corpus.json', import.meta.url));

export function loadCorpus(): CorpusCase[] {
  return (JSON.parse(readFileSync(CORPUS_FILE, 'utf8')) as { cases: CorpusCase[] }).cases;
}

/** The frame's bytes, without a line end. */
export function frameBytes(c: CorpusCase): Buffer {
  return Buffer.from(c.frame, c.encoding === 'latin1' ? 'latin1' : 'utf8');
}

/** The id value as a peer compares it (JSON text of a JSON.parse value; -0 is 0). */
export function idText(id: unknown): string {
  return JSON.stringify(id) ?? 'undefined';
}
