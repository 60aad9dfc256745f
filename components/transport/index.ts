export { createNdjsonChannel, type FrameChannel, type FrameChannelHandlers, type LocalReplyTarget, type NdjsonChannelOptions } from './ndjson-channel.js';
export { FrameWriter, type FlushOn } from './frame-writer.js';
export { holdUntilSettled, type HoldGate } from './held-channel.js';
