export { loadConfig, type SidecarConfig, type CliRequest, type ReportSettings, type HttpSettings, type AuthSettings, type GatewaySettings, type GatewayServiceSettings, DEFAULT_MAX_FRAME_BYTES } from './load-config.js';
export type { ArgumentsRecording } from './settings.js';
export { SCALAR_SETTINGS, LIST_SETTINGS, type ScalarSettings, type SettingSpec } from './settings.js';
export { parseInteger, parseByteSize, parseChoice, parseSha256, parseListenAddress, isLoopbackHost, type ListenAddress, type IdentityClaims } from './parse-values.js';
export { USAGE } from './usage.js';
