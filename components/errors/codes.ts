// The one catalogue of errors the proxy produces. Every entry has a stable string code
// (matched by callers, never by class), a category from the gateway pattern's taxonomy
// (seed 000), and — when it reaches the wire — a JSON-RPC error code.
// docs/errors.md lists the same table; test/docs.test.ts keeps the two in step.

export type ErrorCategory =
  | 'unauthorized'
  | 'forbidden'
  | 'user_error'
  | 'transient_error'
  | 'internal_error';

export interface ErrorSpec {
  /** JSON-RPC error code used when this error is sent to a peer; undefined = never on the wire. */
  readonly rpcCode?: number;
  readonly category: ErrorCategory;
  /** Whether a client may retry the same request unchanged. */
  readonly retryable: boolean;
  readonly message: string;
}

export const ERROR_CODES = {
  // Wire errors: sent to the client (or server) as JSON-RPC error responses.
  SIDECAR_ERR_PARSE: {
    rpcCode: -32700, category: 'user_error', retryable: false,
    message: 'Parse error: the frame is not valid JSON',
  },
  SIDECAR_ERR_INVALID_REQUEST: {
    rpcCode: -32600, category: 'user_error', retryable: false,
    message: 'Invalid Request: the frame is not a JSON-RPC 2.0 message',
  },
  SIDECAR_ERR_AMBIGUOUS_FRAME: {
    rpcCode: -32600, category: 'user_error', retryable: false,
    message: 'Invalid Request: the frame can be read in more than one way',
  },
  SIDECAR_ERR_ID_IN_FLIGHT: {
    rpcCode: -32600, category: 'user_error', retryable: false,
    message: 'Invalid Request: a request with this id is already in flight',
  },
  SIDECAR_ERR_UPSTREAM_INVALID_FRAME: {
    rpcCode: -32006, category: 'internal_error', retryable: false,
    message: 'Invalid response: the server answered with a frame that cannot be read unambiguously',
  },
  SIDECAR_ERR_TOO_MANY_PENDING: {
    rpcCode: -32007, category: 'transient_error', retryable: true,
    message: 'Too many requests pending: this session already has as many unanswered requests as the proxy keeps',
  },
  SIDECAR_ERR_INTERNAL: {
    rpcCode: -32603, category: 'internal_error', retryable: true,
    message: 'Internal error: the proxy failed while handling this frame',
  },
  SIDECAR_ERR_FRAME_TOO_LARGE: {
    rpcCode: -32001, category: 'user_error', retryable: false,
    message: 'Frame too large: the request exceeds the proxy\'s maximum frame size',
  },
  SIDECAR_ERR_UPSTREAM_FRAME_TOO_LARGE: {
    rpcCode: -32002, category: 'internal_error', retryable: false,
    message: 'Response too large: the server\'s response exceeds the proxy\'s maximum frame size',
  },
  SIDECAR_ERR_UPSTREAM_EXITED: {
    rpcCode: -32003, category: 'transient_error', retryable: true,
    message: 'Upstream exited: the MCP server process ended before answering',
  },
  SIDECAR_ERR_UPSTREAM_RESTARTING: {
    rpcCode: -32005, category: 'transient_error', retryable: true,
    message: 'Upstream restarting: the MCP server is being restarted and could not take this request',
  },
  SIDECAR_ERR_POLICY_DENIED: {
    rpcCode: -32010, category: 'forbidden', retryable: false,
    message: 'Denied by policy',
  },
  SIDECAR_ERR_POLICY_RATE_LIMITED: {
    rpcCode: -32011, category: 'transient_error', retryable: true,
    message: 'Rate limited by policy',
  },
  SIDECAR_ERR_POLICY_INVALID_REQUEST: {
    rpcCode: -32012, category: 'user_error', retryable: false,
    message: 'Refused by policy: the request does not meet its constraints',
  },
  SIDECAR_ERR_POLICY_RULE_FAILED: {
    rpcCode: -32013, category: 'internal_error', retryable: false,
    message: 'Refused by policy: a rule failed to evaluate',
  },
  SIDECAR_ERR_SHUTTING_DOWN: {
    rpcCode: -32004, category: 'transient_error', retryable: true,
    message: 'Shutting down: the proxy is stopping and accepts no new requests',
  },
  SIDECAR_ERR_REQUEST_TIMEOUT: {
    rpcCode: -32008, category: 'transient_error', retryable: true,
    message: 'Request timed out: the MCP server did not answer within the request deadline',
  },
  SIDECAR_ERR_CIRCUIT_OPEN: {
    rpcCode: -32009, category: 'transient_error', retryable: true,
    message: 'Circuit open: the MCP server kept failing, so requests fail fast until it is probed again',
  },

  // Local errors: reported on stderr and as the process exit code, never sent as frames.
  SIDECAR_ERR_USAGE: {
    category: 'user_error', retryable: false,
    message: 'Invalid command line',
  },
  SIDECAR_ERR_CONFIG_INVALID: {
    category: 'user_error', retryable: false,
    message: 'Invalid configuration value',
  },
  SIDECAR_ERR_COMMAND_SHELL_SYNTAX: {
    category: 'user_error', retryable: false,
    message: 'The server command uses shell syntax, and no shell is ever used to start it',
  },
  SIDECAR_ERR_COMMAND_INVALID: {
    category: 'user_error', retryable: false,
    message: 'The server command cannot be parsed',
  },
  SIDECAR_ERR_GOVERNOR_NOT_ALLOWED: {
    category: 'forbidden', retryable: false,
    message: 'The server command is not allowed to start',
  },
  SIDECAR_ERR_UPSTREAM_SPAWN: {
    category: 'internal_error', retryable: false,
    message: 'The MCP server process could not be started',
  },
  SIDECAR_ERR_POLICY_UNREADABLE: {
    category: 'user_error', retryable: false,
    message: 'The policy file cannot be read',
  },
  SIDECAR_ERR_POLICY_INVALID: {
    category: 'user_error', retryable: false,
    message: 'The policy file is not a valid policy',
  },
  SIDECAR_ERR_POLICY_NONE: {
    category: 'user_error', retryable: false,
    message: 'No policy is available to enforce',
  },
  SIDECAR_ERR_POLICY_BUNDLE_REJECTED: {
    category: 'user_error', retryable: false,
    message: 'The policy bundle was refused',
  },
  SIDECAR_ERR_POLICY_BUNDLE_KEY: {
    category: 'user_error', retryable: false,
    message: 'The policy bundle key cannot be used',
  },
  SIDECAR_ERR_REPORT_SINK: {
    category: 'user_error', retryable: false,
    message: 'The execution report file cannot be written',
  },
  SIDECAR_ERR_REPORT_KEY: {
    category: 'user_error', retryable: false,
    message: 'The report signing key cannot be used',
  },

  // Streamable HTTP (--http): the JSON-RPC body of an HTTP error answer. -32020 and -32022 are
  // the codes MCP 2026-07-28 gives a header mismatch and an unsupported protocol version.
  SIDECAR_ERR_HTTP_BAD_REQUEST: {
    rpcCode: -32030, category: 'user_error', retryable: false,
    message: 'Bad request: the HTTP request does not meet the Streamable HTTP transport',
  },
  SIDECAR_ERR_HTTP_HEADER_MISMATCH: {
    rpcCode: -32020, category: 'user_error', retryable: false,
    message: 'Header mismatch: an Mcp-* header does not match the body',
  },
  SIDECAR_ERR_HTTP_UNSUPPORTED_VERSION: {
    rpcCode: -32022, category: 'user_error', retryable: false,
    message: 'Unsupported protocol version: the MCP-Protocol-Version header names no known version',
  },
  SIDECAR_ERR_HTTP_SESSION_NOT_FOUND: {
    rpcCode: -32031, category: 'user_error', retryable: false,
    message: 'Session not found: no session has this Mcp-Session-Id (it ended, or never existed)',
  },
  SIDECAR_ERR_HTTP_TOO_MANY_SESSIONS: {
    rpcCode: -32032, category: 'transient_error', retryable: true,
    message: 'Too many sessions: every HTTP session slot has a running server',
  },
  SIDECAR_ERR_HTTP_BODY_TOO_LARGE: {
    rpcCode: -32033, category: 'user_error', retryable: false,
    message: 'Request body too large',
  },
  SIDECAR_ERR_HTTP_FORBIDDEN: {
    rpcCode: -32034, category: 'forbidden', retryable: false,
    message: 'Forbidden: the Host or Origin header is not allowed',
  },
  SIDECAR_ERR_HTTP_UNAUTHORIZED: {
    rpcCode: -32035, category: 'unauthorized', retryable: false,
    message: 'Unauthorized',
  },
  SIDECAR_ERR_HTTP_AUTH_UNAVAILABLE: {
    rpcCode: -32036, category: 'transient_error', retryable: true,
    message: 'Authentication unavailable: the credentials could not be checked now',
  },
  SIDECAR_ERR_HTTP_SESSION_UNAVAILABLE: {
    rpcCode: -32037, category: 'transient_error', retryable: true,
    message: 'Session unavailable: the MCP server for this session could not be started',
  },
  SIDECAR_ERR_HTTP_IDENTITY_SESSIONS: {
    rpcCode: -32038, category: 'transient_error', retryable: true,
    message: 'Too many sessions for this caller: it holds its share of the HTTP sessions, each busy',
  },
  SIDECAR_ERR_HTTP_IDENTITY_IN_FLIGHT: {
    rpcCode: -32039, category: 'transient_error', retryable: true,
    message: 'Too many requests in flight for this caller: it has its share of unanswered requests',
  },
  // The gateway (--servers): what it answers itself for a request no service can take.
  SIDECAR_ERR_GATEWAY_NO_ROUTE: {
    rpcCode: -32602, category: 'user_error', retryable: false,
    message: 'Invalid params: no service of the gateway answers for this name or URI',
  },
  SIDECAR_ERR_GATEWAY_INVALID_CURSOR: {
    rpcCode: -32602, category: 'user_error', retryable: false,
    message: 'Invalid params: the cursor was not issued by this gateway for this list',
  },
  SIDECAR_ERR_GATEWAY_METHOD_NOT_ROUTED: {
    rpcCode: -32601, category: 'user_error', retryable: false,
    message: 'Method not found: the gateway does not route this method to a service',
  },
  SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE: {
    rpcCode: -32040, category: 'internal_error', retryable: false,
    message: 'Service unavailable: this namespace\'s server is down for good or failed its initialize',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;
