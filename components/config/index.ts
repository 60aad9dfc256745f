export {
  loadConfig, type SidecarConfig, type CliRequest,
  DEFAULT_MAX_FRAME_BYTES, DEFAULT_LOG_LEVEL, DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_KILL_TIMEOUT_MS, DEFAULT_STDIN_CLOSE_GRACE_MS,
} from './load-config.js';
export { parseInteger, parseByteSize, parseChoice } from './parse-values.js';
export { USAGE } from './usage.js';
