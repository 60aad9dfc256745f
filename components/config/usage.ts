export const USAGE = `mcp-sidecar: a governed proxy for one MCP server

Usage:
  mcp-sidecar --proxy "<server command>" --allow "<command prefix>" [--stdio] [options]

The MCP client speaks MCP over this process's stdin/stdout; the server command is split
into argv without a shell, checked against the allowlist, started as a child, supervised,
and every frame passes through the proxy. Each flag has an environment variable; a flag wins.

Server:
  --proxy <command>                 the MCP server to start (quotes honoured; shell operators refused)
  --servers <file>                  many servers behind one proxy, by namespace (docs/gateway.md); excludes --proxy
                                    env MCP_PROXY_SERVERS
  --allow <prefix>                  a command prefix allowed to start; repeat for more
                                    env MCP_PROXY_ALLOWED_PREFIXES (comma-separated); empty: nothing starts
  --executable-sha256 <hex>         the executable's contents must have this sha256   env MCP_PROXY_EXECUTABLE_SHA256
  --pass-env <NAME|PREFIX_*>        pass this variable to the server; repeat for more  env MCP_PROXY_PASS_ENV
  --set-env <NAME=VALUE>            set this variable for the server; repeat for more
  --server-user <name|uid>          run the server as this user (needs root or CAP_SETUID, CAP_SETGID, CAP_KILL)
                                    env MCP_PROXY_SERVER_USER
  --server-group <name|gid>         the server's group, default the user's primary group   env MCP_PROXY_SERVER_GROUP

Restarts (consecutive failures, doubling backoff with ±10% jitter):
  --max-restarts <n>                default 5                env MCP_PROXY_MAX_RESTARTS
  --restart-backoff-ms <ms>         default 1000             env MCP_PROXY_RESTART_BACKOFF_MS
  --restart-backoff-max-ms <ms>     default 30000            env MCP_PROXY_RESTART_BACKOFF_MAX_MS
  --restart-reset-ms <ms>           ready this long resets the count, default 60000   env MCP_PROXY_RESTART_RESET_MS
  --restart-queue-limit <n>         requests held during a restart, default 256        env MCP_PROXY_RESTART_QUEUE_LIMIT
  --restart-queue-timeout-ms <ms>   how long one may wait, default 30000               env MCP_PROXY_RESTART_QUEUE_TIMEOUT_MS

Stopping (stdin EOF, SIGTERM, SIGINT):
  --drain-timeout-ms <ms>           wait for in-flight requests, default 5000          env MCP_PROXY_DRAIN_TIMEOUT_MS
  --stdin-close-grace-ms <ms>       after closing the server's stdin, default 2000     env MCP_PROXY_STDIN_CLOSE_GRACE_MS
  --kill-timeout-ms <ms>            after SIGTERM, before SIGKILL, default 5000        env MCP_PROXY_KILL_TIMEOUT_MS

Deadlines and the circuit breaker (docs/operations.md):
  --request-timeout-ms <ms>         a request unanswered this long fails (-32008), default 0 (none)
                                    env MCP_PROXY_REQUEST_TIMEOUT_MS
  --request-timeout-resets-on-progress   the server's progress restarts a request's deadline
                                    env MCP_PROXY_REQUEST_TIMEOUT_RESETS_ON_PROGRESS=true
  --circuit-failures <n>            consecutive server failures that open the breaker, default 5 (0: off)
                                    env MCP_PROXY_CIRCUIT_FAILURES
  --circuit-window-ms <ms>          within this long, default 30000    env MCP_PROXY_CIRCUIT_WINDOW_MS
  --circuit-cooldown-ms <ms>        requests fail fast this long, then one probes, default 10000
                                    env MCP_PROXY_CIRCUIT_COOLDOWN_MS

Policy:
  --policy <file>                   the policy every frame passes (YAML); SIGHUP or a change reloads it
                                    env MCP_PROXY_POLICY; none: nothing is blocked or changed
  --mode <observe|enforce>          overrides the policy's mode   env MCP_PROXY_MODE
  --tool-pins <file>                a tool-pins lock file: changed definitions hidden, their calls denied
                                    env MCP_PROXY_TOOL_PINS
  --tool-pins-unknown <deny|allow|observe>   a definition the lock does not hold, default deny
                                    env MCP_PROXY_TOOL_PINS_UNKNOWN
  --tool-pins-state <file>          trust on first use: pins what the server first lists, holds it
                                    (\`pin approve\` accepts a change); not with --tool-pins
                                    env MCP_PROXY_TOOL_PINS_STATE
  --policy-url <url>                a signed policy bundle polled from a control plane; --policy: the fallback
                                    env MCP_PROXY_POLICY_URL
  --policy-poll-ms <ms>             between polls, ±10% jitter, default 30000   env MCP_PROXY_POLICY_POLL_MS
  --policy-public-key <pem>         bundles are signed with this key (Ed25519 or P-256)   env MCP_PROXY_POLICY_PUBLIC_KEY
  --policy-jwks-url <url>           or with a key of this JWKS (the bundle's kid)   env MCP_PROXY_POLICY_JWKS_URL
  --policy-allow-unsigned           accept unsigned bundles   env MCP_PROXY_POLICY_ALLOW_UNSIGNED=true
  --policy-cache-dir <dir>          keep the last known good bundle; used at start when the URL is down
                                    env MCP_PROXY_POLICY_CACHE_DIR
  mcp-sidecar policy validate <file>...          check policy files (exit 0/1)
  mcp-sidecar policy test <policy> <cases.yaml>  run a policy's test cases (exit 0/1)
  mcp-sidecar report verify <file>... [--public-key <pem>] [--require-closed] [--checkpoints <exported>]   check an execution report file (exit 0/1)
  mcp-sidecar pin (--proxy <cmd> | --servers <file>) --allow <prefix> [--out tools.lock.json|-]   pin the server's (or the gateway's namespaced) tools, prompts, templates (exit 0/1)
  mcp-sidecar pin diff <lock> [<new-lock> | --proxy <cmd> --allow <prefix>] [--json]   what changed (exit 0 same, 1 changed, 2 trouble)
  mcp-sidecar pin approve <state-file> <name|kind:name>   accept a pending change (trust on first use)
  mcp-sidecar bundle sign <policy.yaml> --key <private.pem> [--out <bundle>] [--rollback] [--kid <id>]   write a signed bundle
  mcp-sidecar bundle verify <bundle> --key <public.pem>   check a bundle's signature and policy (exit 0/1)

Execution reports and transcripts (docs/report.md):
  --report-file <path>              one report per invocation, NDJSON   env MCP_PROXY_REPORT_FILE
  --report-fsync <always|interval|never>   default interval             env MCP_PROXY_REPORT_FSYNC
  --report-fsync-interval-ms <ms>   default 1000                        env MCP_PROXY_REPORT_FSYNC_INTERVAL_MS
  --report-rotate-bytes <size>      rotate before this size, default 0 (never)   env MCP_PROXY_REPORT_ROTATE_BYTES
  --report-rotate-keep <n>          rotated files kept, default 10      env MCP_PROXY_REPORT_ROTATE_KEEP
  --report-queue-limit <n>          reports waiting for the disk, default 4096   env MCP_PROXY_REPORT_QUEUE_LIMIT
  --report-on-overflow <block|drop> default block                       env MCP_PROXY_REPORT_ON_OVERFLOW
  --report-arguments <digest|redacted>   default digest                 env MCP_PROXY_REPORT_ARGUMENTS
  --report-checkpoint-every <n>     a checkpoint every n reports, default 1000   env MCP_PROXY_REPORT_CHECKPOINT_EVERY
  --report-checkpoint-interval-ms <ms>   signed: a checkpoint this soon after a report, default 1000 (0: none)   env MCP_PROXY_REPORT_CHECKPOINT_INTERVAL_MS
  --report-signing-key <pem>        sign the reports' checkpoints (Ed25519)   env MCP_PROXY_REPORT_SIGNING_KEY
  --report-export <url>             ship the report file to an OTLP/HTTP Collector (<url>/v1/logs)   env MCP_PROXY_REPORT_EXPORT
  --report-export-batch <n>         records per request, default 512    env MCP_PROXY_REPORT_EXPORT_BATCH
  --report-export-interval-ms <ms>  read the file for new lines this often, default 500   env MCP_PROXY_REPORT_EXPORT_INTERVAL_MS
  --report-export-timeout-ms <ms>   one request's deadline, default 10000   env MCP_PROXY_REPORT_EXPORT_TIMEOUT_MS
  --report-export-spool-warn <size> warn when this much is not exported yet, default 64MiB   env MCP_PROXY_REPORT_EXPORT_SPOOL_WARN
  --record <path>                   a transcript for replay, secrets redacted   env MCP_PROXY_RECORD
  --record-arguments <digest|redacted>   default redacted               env MCP_PROXY_RECORD_ARGUMENTS
  mcp-sidecar replay --transcript <file> --policy <candidate.yaml> [--fail-on new-denies] [--json]

HTTP (a pod sidecar; docs/kubernetes.md):
  --http <host:port>                Streamable HTTP at /mcp instead of stdio   env MCP_PROXY_HTTP_LISTEN
  --http-max-sessions <n>           default 4                           env MCP_PROXY_HTTP_MAX_SESSIONS
  --http-idle-timeout-ms <ms>       default 300000                      env MCP_PROXY_HTTP_IDLE_TIMEOUT_MS
  --http-max-sessions-per-identity <n>   a JWT caller's share, default half the cap   env MCP_PROXY_HTTP_MAX_SESSIONS_PER_IDENTITY
  --http-max-in-flight-per-identity <n>  a caller's requests in flight, default off   env MCP_PROXY_HTTP_MAX_IN_FLIGHT_PER_IDENTITY
  --http-stateless-linger-ms <ms>   a stateless caller's unused server is stopped after this, default 5000
                                    env MCP_PROXY_HTTP_STATELESS_LINGER_MS
  --http-max-body-bytes <size>      default --max-frame-bytes           env MCP_PROXY_HTTP_MAX_BODY_BYTES
  --warm-servers <n>                started servers waiting for new sessions, default 1 (0 with --stdio)   env MCP_PROXY_WARM_SERVERS
  --warm-server-ready-timeout-ms <ms>  how long a warm server may take to answer the pool's ping, default 10000   env MCP_PROXY_WARM_SERVER_READY_TIMEOUT_MS
  --http-allowed-host <host>        repeat for more                     env MCP_PROXY_HTTP_ALLOWED_HOSTS
  --http-allowed-origin <origin>    repeat for more                     env MCP_PROXY_HTTP_ALLOWED_ORIGINS
  --auth-token-file <path>          a static bearer token               env MCP_PROXY_AUTH_TOKEN_FILE
  --auth-jwks-url <url>             JWTs signed by this JWKS            env MCP_PROXY_AUTH_JWKS_URL
  --auth-issuer <iss>  --auth-audience <aud>   required with JWTs       env MCP_PROXY_AUTH_ISSUER, MCP_PROXY_AUTH_AUDIENCE
  --identity-claims <map>           default tenantId=tenant_id,userId=sub,agentId=azp   env MCP_PROXY_IDENTITY_CLAIMS
  --admin <host:port>               /metrics /healthz /readyz /version  env MCP_PROXY_ADMIN_LISTEN
  --otlp-traces <url>               a span per invocation to an OpenTelemetry Collector (OTLP/HTTP)   env MCP_PROXY_OTLP_TRACES
  --trace-inject                    requests without params._meta.traceparent get the proxy's   env MCP_PROXY_TRACE_INJECT=true
  --redis-url <url>                 Redis for rateLimit rules with store: redis   env MCP_PROXY_REDIS_URL

Frames and logs:
  --stdio                           serve the client over stdin/stdout (the default)
  --max-frame-bytes <size>          largest frame in either direction, default 16MiB  env MCP_PROXY_MAX_FRAME_BYTES
  --log-level <level>               trace debug info warn error fatal silent, default info   env MCP_PROXY_LOG_LEVEL
                                    logs are NDJSON on stderr
  -h, --help                        this text
  --version                         the version

Exit codes: 0 stopped cleanly, 1 internal error, 2 usage error, 69 server could not start,
70 server kept crashing, 78 command not allowed, --server-user refused, or policy invalid (or the server exited 78).
See docs/operations.md.
`;
