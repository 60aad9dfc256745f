import type { Clock } from '../clock/index.js';
import type { HttpSettings } from '../config/index.js';
import type { Authenticator } from '../http-auth/index.js';
import type { Logger } from '../logging/index.js';
import type { Identity } from '../policy/index.js';
import type { FrameChannel } from '../transport/index.js';

/** Who a backend serves. */
export interface HttpSessionInfo {
  /** The `Mcp-Session-Id` of a legacy-era session; undefined: the shared stateless (2026-07-28) backend. */
  readonly sessionId: string | undefined;
  /** The authenticated caller (undefined without auth, or with a static token). */
  readonly identity: Identity | undefined;
}

/** What `openSession` gives back: the governed server (pump + governor) behind one channel. */
export interface SessionBackend {
  /**
   * Stops the backend with the normal stop sequence (refuse new requests, drain, stop the child,
   * fail what is left, flush). Frames the pump sends into the channel meanwhile are still
   * delivered; the backend MUST call `client.close()` when done. Called at most once.
   */
  close(reason: string): Promise<void>;
  /** Resolves if the backend ends by itself (the child failed past its restarts). */
  readonly closed: Promise<void>;
  /** When every request in flight has passed its deadline (undefined: one has none): see session-slots.ts. */
  busyUntil?(): number | undefined;
}

export interface HttpNorthboundOptions {
  readonly settings: HttpSettings;
  /** Bodies larger than this (but within `settings.maxBodyBytes`) are answered 413 with -32001, the frame limit's code. */
  readonly maxFrameBytes: number;
  /** Called on every request before its body is read; without it, requests are not authenticated. */
  readonly authenticate?: Authenticator;
  readonly logger: Logger;
  /**
   * Wires one backend: frames the HTTP client sends come out of `client` (its handlers' onFrame),
   * frames sent into `client` go to the HTTP client. The implementation MUST call
   * `client.start(handlers)` (createPump does) before or when it resolves.
   */
  openSession(client: FrameChannel, info: HttpSessionInfo): Promise<SessionBackend>;
  /**
   * Runs every timer of the component: the idle timeouts, the stateless linger, the lingering
   * close after an early answer. Default: the system clock, its timers unref'd. Tests pass a fake.
   */
  readonly clock?: Clock;
}

export interface HttpNorthbound {
  /** Where it listens (the bound port when `settings.listen.port` was 0). */
  readonly address: { readonly host: string; readonly port: number };
  /** Legacy-era sessions open now (each has its own server). */
  readonly sessionCount: number;
  /** Stateless backends open now (one per caller identity). */
  readonly statelessCount: number;
  /** Legacy-era sessions with a request in flight or a stream open (not evictable), counted when read. */
  readonly busySessionCount: number;
  /** Idle sessions and stateless backends stopped so far to give their slot to a new one. */
  readonly evictedCount: number;
  /** Refuses new requests (503), stops every backend, then closes the listener and its connections. */
  close(reason: string): Promise<void>;
}
