// Proxy bugs the one-reading tests found and that are not fixed yet: the tests that show them
// run as `{ todo }` (reported, not failing) until they pass. Keyed by corpus case name; `where`
// limits a bug to some of the places a case runs (default: all of them).
//   envelope      readEnvelope directly           pump:client / pump:server   the pump, in process
//   stdio:client / stdio:server   dist/cli.js      http                        dist/cli.js --http

export type Place = 'envelope' | 'pump:client' | 'pump:server' | 'stdio:client' | 'stdio:server' | 'http';

const EVERYWHERE: readonly Place[] = ['envelope', 'pump:client', 'pump:server', 'stdio:client', 'stdio:server', 'http'];

interface KnownBug {
  readonly reason: string;
  readonly where?: readonly Place[];
}

// Every bug the one-reading tests found is fixed: a new one goes here, with the case name and why.
export const KNOWN_BUGS: Readonly<Record<string, KnownBug>> = {};

/** `{ todo }` for a known bug of this case at this place, else `{}`. */
export function knownBug(name: string, place: Place): { todo?: string } {
  const bug = KNOWN_BUGS[name];
  if (bug === undefined || !(bug.where ?? EVERYWHERE).includes(place)) return {};
  return { todo: `proxy bug: ${bug.reason}` };
}

/**
 * Classes of differential violation (readers.ts `kind`) the fuzzer and the property test count
 * and report instead of failing on, each with why. Two are the bugs above; two are forms issue
 * 12 does not list, where conforming parsers read a forwarded frame differently.
 */
export const KNOWN_GAPS: Readonly<Record<string, string>> = {
  'python-int': 'an integer beyond 2^53 in arguments is forwarded: Python reads it exactly, JSON.parse (the policy) and Go round it. A rule that bounds such a value (minimum, maximum) denies it as argument_invalid; an unbounded one is data the policy does not judge (docs/security.md, out of scope)',
};
