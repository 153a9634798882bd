import type { Clock } from './clock.js';
import { systemClock } from './clock.js';

export interface RateLimiterOptions {
  /** Requests allowed to start in any window of `windowMs`. */
  maxRequests: number;
  windowMs?: number;
  /**
   * Added to the window so that network jitter between our clock and the server's cannot make
   * the server count one request too many in its own one-second window.
   */
  safetyMs?: number;
  clock?: Clock;
}

/**
 * Limits requests to `maxRequests` per window *as the server counts them*.
 *
 * This is a token bucket whose tokens come back one window after the request that spent it
 * reached the server (a sliding-window log). A classic continuously refilling bucket with
 * capacity N would let 2N−1 requests through in one second (a full bucket plus the refill),
 * which is exactly what NCBI's "3 requests per second" counter rejects with HTTP 429.
 *
 * Why "reached the server" and not "started": the server timestamps arrivals, and the first
 * requests of a process can spend tens of milliseconds in connection setup, so spacing starts
 * alone lets a late burst and the next punctual one share one server-side second. Each slot
 * is therefore stamped when its response headers arrive (or the attempt fails), which is
 * after the server saw the request. Invariant: the (i+N)-th request starts no earlier than
 * `windowMs + safetyMs` after the i-th one was answered, hence arrives at least `windowMs`
 * after it; so no window of `windowMs` at the server ever holds more than N arrivals.
 * Waiters are served in FIFO order.
 */
export class RateLimiter {
  readonly maxRequests: number;
  readonly windowMs: number;
  readonly safetyMs: number;
  private readonly clock: Clock;
  /** The most recent slots, oldest first; never more than maxRequests. */
  private readonly slots: Slot[] = [];
  private pausedUntil = 0;
  /** Tail of the FIFO chain of waiters: each acquire waits for the previous one to be granted. */
  private tail: Promise<void> = Promise.resolve();

  constructor(options: RateLimiterOptions) {
    if (!Number.isInteger(options.maxRequests) || options.maxRequests < 1) {
      throw new RangeError(`maxRequests must be a positive integer, got ${options.maxRequests}`);
    }
    this.maxRequests = options.maxRequests;
    this.windowMs = options.windowMs ?? 1000;
    this.safetyMs = options.safetyMs ?? 50;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Waits until one more request may be sent. Returns `release`, to call as soon as the
   * request is known to have reached the server (response headers received) or has failed;
   * calling it more than once is harmless. Until released, the slot counts as in flight.
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    const previous = this.tail;
    let granted!: () => void;
    this.tail = new Promise<void>((resolve) => {
      granted = resolve;
    });
    try {
      await previous;
      for (;;) {
        signal?.throwIfAborted();
        const now = this.clock.now();
        if (now < this.pausedUntil) {
          await this.clock.sleep(this.pausedUntil - now, signal);
          continue;
        }
        if (this.slots.length < this.maxRequests) return this.take(now);
        const oldest = this.slots[0];
        if (oldest.releasedAt === undefined) {
          await abortable(oldest.released, signal);
          continue;
        }
        const freeAt = oldest.releasedAt + this.windowMs + this.safetyMs;
        if (now >= freeAt) {
          this.slots.shift();
          return this.take(now);
        }
        await this.clock.sleep(freeAt - now, signal);
      }
    } finally {
      granted();
    }
  }

  /**
   * Holds every request of the process until `epochMs`, e.g. after a 429 with Retry-After: the
   * server's rate counter is per key/IP, so one throttled request means all of them are.
   */
  pauseUntil(epochMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, epochMs);
  }

  private take(now: number): () => void {
    let resolve!: () => void;
    const slot: Slot = {
      startedAt: now,
      releasedAt: undefined,
      released: new Promise<void>((r) => {
        resolve = r;
      }),
    };
    this.slots.push(slot);
    return () => {
      if (slot.releasedAt !== undefined) return;
      slot.releasedAt = Math.max(slot.startedAt, this.clock.now());
      resolve();
    };
  }
}

interface Slot {
  startedAt: number;
  releasedAt: number | undefined;
  released: Promise<void>;
}

async function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
  });
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** NCBI's documented E-utilities limits: 3 requests/s without an API key, 10 with one. */
export function ncbiRequestsPerSecond(apiKey: string | undefined): number {
  return apiKey !== undefined && apiKey.length > 0 ? 10 : 3;
}

const shared = new Map<number, RateLimiter>();

/**
 * The process-wide limiter for NCBI requests: every client built without an explicit limiter
 * shares it, so concurrent sources in one process together stay under the limit.
 */
export function sharedNcbiRateLimiter(apiKey: string | undefined): RateLimiter {
  const rate = ncbiRequestsPerSecond(apiKey);
  let limiter = shared.get(rate);
  if (limiter === undefined) {
    limiter = new RateLimiter({ maxRequests: rate });
    shared.set(rate, limiter);
  }
  return limiter;
}
