export { LineSplitter, OVERSIZED_KEEP_BYTES, type LineSplitterHandlers, type OversizedLine } from './line-splitter.js';
export {
  readEnvelope, lastReadPositions, parseFrameBody, MAX_NESTING,
  type BatchMember, type MessagePositions, type Envelope, type EnvelopeProblem, type EnvelopeProblemKind, type EnvelopeResult, type FrameKind,
} from './envelope.js';
export { readOversizedId } from './oversized-id.js';
export { idKey, idKeyOfValue } from './id-key.js';
export { withoutLineEnd } from './line-end.js';
export { joinBatch, jsonTextOf } from './batch-join.js';
export { foldCase, foldCodePoint } from './case-fold.js';
