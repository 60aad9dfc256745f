// The environment the server starts with: the proxy's own, less its configuration
// (MCP_PROXY_*), which may hold secrets meant for the proxy alone.
export function childEnvironment(parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) {
    if (!name.startsWith('MCP_PROXY_')) env[name] = value;
  }
  return env;
}
