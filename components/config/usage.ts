export const USAGE = `mcp-sidecar: a governed proxy for one MCP server

Usage:
  mcp-sidecar --proxy "<server command>" [--stdio] [options]

The MCP client speaks MCP over this process's stdin/stdout; the server command is split
into argv without a shell, started as a child, and every frame passes through the proxy.

Options:
  --proxy <command>         the MCP server to start (quotes honoured; shell operators refused)
  --stdio                   serve the client over stdin/stdout (the default and, for now, only transport)
  --max-frame-bytes <size>  largest frame accepted in either direction (default 16MiB)
                            env MCP_PROXY_MAX_FRAME_BYTES
  --log-level <level>       trace, debug, info, warn, error, fatal or silent (default info)
                            env MCP_PROXY_LOG_LEVEL; logs are NDJSON on stderr
  -h, --help                this text
  --version                 the version

Exit codes: 0 stopped cleanly, 1 internal error, 2 usage error, 69 server could not start,
70 server exited on its own. See docs/operations.md.
`;
