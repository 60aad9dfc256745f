export { loadConfig, type SidecarConfig, type CliRequest, DEFAULT_MAX_FRAME_BYTES } from './load-config.js';
export { SCALAR_SETTINGS, LIST_SETTINGS, type ScalarSettings, type SettingSpec } from './settings.js';
export { parseInteger, parseByteSize, parseChoice, parseSha256 } from './parse-values.js';
export { USAGE } from './usage.js';
