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
