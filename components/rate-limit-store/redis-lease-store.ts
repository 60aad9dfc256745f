// The lease store on Redis: one EVALSHA of the lease script per lease (EVAL when Redis answers
// NOSCRIPT: after a restart or a SCRIPT FLUSH; EVAL caches it again). The client queues nothing
// while disconnected (disableOfflineQueue), so a lease fails at once rather than piling up, and
// reconnects in the background with capped backoff. Loaded only with --redis-url.
import { createHash } from 'node:crypto';
import { createClient } from 'redis';
import { systemClock, type Clock } from '../clock/index.js';
import type { Logger } from '../logging/index.js';
import { FAILURE_HOLD_MS, LEASE_TIMEOUT_MS } from './constants.js';
import type { ClosableLeaseStore, LeaseGrant, LeaseRequest, RedisLeaseStoreOptions } from './index.js';
import { LEASE_SCRIPT } from './lease-script.js';

const LEASE_SCRIPT_SHA = createHash('sha1').update(LEASE_SCRIPT).digest('hex');
const RECONNECT_MAX_MS = 5000;

type Client = ReturnType<typeof createClient>;

export class RedisLeaseStore implements ClosableLeaseStore {
  readonly #client: Client;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #logger: Logger | undefined;
  #failedAt = Number.NEGATIVE_INFINITY;
  /** Whether the outage now going on was logged: one warning per outage, one line when it ends. */
  #outageLogged = false;
  #closed = false;

  private constructor(client: Client, options: RedisLeaseStoreOptions) {
    this.#client = client;
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = options.timeoutMs ?? LEASE_TIMEOUT_MS;
    this.#logger = options.logger;
  }

  static async connect(url: string, options: RedisLeaseStoreOptions): Promise<RedisLeaseStore> {
    const timeoutMs = options.timeoutMs ?? LEASE_TIMEOUT_MS;
    const client = createClient({
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: timeoutMs,
        reconnectStrategy: (retries: number) => Math.min(RECONNECT_MAX_MS, 50 * 2 ** Math.min(retries, 10)),
      },
    });
    const store = new RedisLeaseStore(client, options);
    client.on('error', (error: unknown) => store.#failed(error));
    client.on('ready', () => store.#recovered());
    const connected = client.connect().then(() => undefined, (error: unknown) => store.#failed(error));
    const clock = options.clock ?? systemClock;
    let timer: unknown;
    await Promise.race([connected, new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, options.startWaitMs ?? timeoutMs);
    })]);
    clock.clearTimeout(timer);
    return store;
  }

  get available(): boolean {
    return this.#client.isReady && this.#clock.now() - this.#failedAt >= FAILURE_HOLD_MS;
  }

  async lease(key: string, request: LeaseRequest): Promise<LeaseGrant> {
    const args = [String(request.capacity), String(request.refillPerSecond / 1000), String(request.debt), String(request.want)];
    try {
      let reply: unknown;
      try {
        reply = await this.#withTimeout(this.#client.sendCommand(['EVALSHA', LEASE_SCRIPT_SHA, '1', key, ...args]));
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        reply = await this.#withTimeout(this.#client.sendCommand(['EVAL', LEASE_SCRIPT, '1', key, ...args]));
      }
      const grant = readGrant(reply);
      this.#recovered();
      return grant;
    } catch (error) {
      this.#failedAt = this.#clock.now();
      this.#failed(error);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
  }

  #withTimeout<T>(reply: Promise<T>): Promise<T> {
    let timer: unknown;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = this.#clock.setTimeout(() => reject(new Error(`Redis did not answer a rate-limit lease within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    return Promise.race([reply, timeout]).finally(() => this.#clock.clearTimeout(timer));
  }

  #failed(error: unknown): void {
    if (this.#outageLogged || this.#closed) return;
    this.#outageLogged = true;
    this.#logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'rate-limit store (Redis) unavailable: store: redis rules follow onStoreError');
  }

  #recovered(): void {
    if (!this.#outageLogged) return;
    this.#outageLogged = false;
    this.#logger?.info('rate-limit store (Redis) available again');
  }
}

/** The script's `{ granted, retry }`, checked: anything else is a failed lease. */
function readGrant(reply: unknown): LeaseGrant {
  if (Array.isArray(reply) && reply.length === 2) {
    const [granted, retryAfterMs] = reply.map(Number);
    if (Number.isInteger(granted) && granted! >= 0 && Number.isInteger(retryAfterMs) && retryAfterMs! >= 0) return { granted: granted!, retryAfterMs: retryAfterMs! };
  }
  throw new Error(`unexpected reply from the rate-limit lease script: ${JSON.stringify(reply)}`);
}
