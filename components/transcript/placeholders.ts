// What a transcript writes in place of a secret. A replayed `redact` rule must still find a
// secret where one was, or every redaction would show as "no longer redacted": so each built-in
// detector gets a fixed placeholder that the same detector matches again, in the same context,
// as one whole match (the tests check each). Fixed strings, so nothing of the original survives.
// A custom pattern of a candidate policy cannot be preserved this way: it may or may not match
// the placeholders (docs/replay.md).
import type { DetectorName } from '../policy/index.js';

export const SECRET_PLACEHOLDERS: Readonly<Record<DetectorName, string>> = Object.freeze({
  // BEGIN and END with a label ending in PRIVATE KEY.
  'private-key': '-----BEGIN PRIVATE KEY-----REDACTED-----END PRIVATE KEY-----',
  // AKIA and 16 of [A-Z0-9].
  'aws-access-key': 'AKIAREDACTEDREDACTED',
  // ghp_ and 36 of [A-Za-z0-9].
  'github-token': 'ghp_REDACTEDREDACTEDREDACTEDREDACTED0000',
  // eyJ, three base64url segments.
  jwt: 'eyJREDACTED.REDACTED.REDACTED',
  // The token only (the word Bearer is kept): 8 or more token68 characters with a symbol.
  'bearer-token': 'REDACTED-bearer-token',
  // The value only (the key is kept): anything non-empty without a quote, blank or separator.
  'password-assignment': 'REDACTED',
});

/** The marker function handed to redactSecrets. */
export function placeholderFor(detector: string): string {
  return (SECRET_PLACEHOLDERS as Record<string, string | undefined>)[detector] ?? `[REDACTED:${detector}]`;
}

// The redact rule's marker for a built-in detector, as the rule writes it (rules/redact.ts).
const MARKER = /\[REDACTED:(private-key|aws-access-key|github-token|jwt|bearer-token|password-assignment)\]/g;

/**
 * A frame as a redact rule delivered it, with each marker of a built-in detector replaced by
 * that detector's placeholder: recorded so, the frame holds no secret and a replayed redact
 * rule finds one where the rule found one. A custom pattern's marker stays as it is.
 */
export function markersToPlaceholders(value: unknown): unknown {
  if (!isContainer(value)) return replaceMarkers(value);
  // A copy made top down with a stack of its own: the frame may nest as deep as its sender made
  // it, and a call per level would end in a RangeError, the frame then left out of the file.
  const copyOf = (item: object): unknown[] | Record<string, unknown> => (Array.isArray(item) ? [] : {});
  const root = copyOf(value);
  const sources: object[] = [value];
  const copies: (unknown[] | Record<string, unknown>)[] = [root];
  while (sources.length > 0) {
    const source = sources.pop()!;
    const copy = copies.pop()!;
    if (Array.isArray(source)) {
      for (let i = 0; i < source.length; i++) (copy as unknown[])[i] = copyMember(source[i], sources, copies);
    } else {
      for (const [key, item] of Object.entries(source)) {
        // As Object.fromEntries writes it: an own member even when it is named `__proto__`.
        Object.defineProperty(copy, key, { value: copyMember(item, sources, copies), writable: true, enumerable: true, configurable: true });
      }
    }
  }
  return root;
}

const isContainer = (value: unknown): value is object => typeof value === 'object' && value !== null;

function replaceMarkers(value: unknown): unknown {
  return typeof value === 'string' && value.includes('[REDACTED:') ? value.replace(MARKER, (_, name: string) => placeholderFor(name)) : value;
}

/** A member's copy: a leaf as it is (markers replaced), a container empty for now and queued to be filled. */
function copyMember(item: unknown, sources: object[], copies: (unknown[] | Record<string, unknown>)[]): unknown {
  if (!isContainer(item)) return replaceMarkers(item);
  const copy = Array.isArray(item) ? [] : {};
  sources.push(item);
  copies.push(copy);
  return copy;
}
