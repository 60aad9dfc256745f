/**
 * The gateway (docs/gateway.md): many MCP servers behind one governed proxy, each under its
 * namespace. The servers file is read at start; the channel merges and routes.
 */
export { loadServersFile, parseServersText, serversJsonSchemaText, serversSchema, ServersFileInvalidError, DEFAULT_SEPARATOR, type ServersFile, type ServiceSpec } from './servers-file.js';
export { createGatewayChannel, type GatewayChannel, type GatewayOptions, type GatewayService } from './channel.js';
export { guardServiceChannel, needsServiceGuards, type GuardedServiceChannel, type ServiceGuardOptions } from './service-guards.js';
