import { readEnvelope, type EnvelopeResult } from '../framing/index.js';

/**
 * How many times this component has read an envelope: a POSTed frame is read once on its way
 * in, and a frame on its way out only when the pump passed none. Tests hold the component to
 * that; one increment is all it costs.
 */
export const envelopeReads = { count: 0 };

/** readEnvelope, counted: every envelope this component reads goes through here. */
export function readFrameEnvelope(line: Buffer): EnvelopeResult {
  envelopeReads.count++;
  return readEnvelope(line);
}
