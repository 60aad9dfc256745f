export { createNdjsonChannel, type FrameChannel, type FrameChannelHandlers, type NdjsonChannelOptions } from './ndjson-channel.js';
export { FrameWriter } from './frame-writer.js';
