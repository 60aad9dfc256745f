// A FrameChannel in memory for pump tests: what the pump sends is recorded (bytes and the
// envelope passed along), and the test drives the handlers the pump registered directly.
import type { Envelope } from '../../../components/framing/index.js';
import type { FrameChannel, FrameChannelHandlers } from '../../../components/transport/index.js';

export interface MemoryChannel extends FrameChannel {
  readonly sent: Array<{ readonly line: string; readonly envelope: Envelope | undefined }>;
  readonly handlers: FrameChannelHandlers;
  /** Delivers one line (a newline is added) to the pump as if it came from this side. */
  push(line: string): void;
}

export function memoryChannel(): MemoryChannel {
  let handlers: FrameChannelHandlers | undefined;
  const sent: Array<{ line: string; envelope: Envelope | undefined }> = [];
  return {
    sent,
    get handlers() {
      if (handlers === undefined) throw new Error('the pump has not started this channel');
      return handlers;
    },
    push(line) {
      handlers!.onFrame(Buffer.from(`${line}\n`));
    },
    start: (h) => void (handlers = h),
    send: (line, envelope) => void sent.push({ line: line.toString('utf8'), envelope }),
    pause: () => {},
    resume: () => {},
    drained: () => Promise.resolve(),
    endOutput: () => {},
    close: () => {},
  };
}
