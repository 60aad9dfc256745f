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
  if (typeof value === 'string') return value.includes('[REDACTED:') ? value.replace(MARKER, (_, name: string) => placeholderFor(name)) : value;
  if (Array.isArray(value)) return value.map(markersToPlaceholders);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, markersToPlaceholders(item)]));
  }
  return value;
}
