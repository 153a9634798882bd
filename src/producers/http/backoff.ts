/** Retry schedule of the HTTP layer. */
export interface RetryPolicy {
  /** Total attempts per request, the first one included. */
  maxAttempts: number;
  /** Upper bound of the first retry's jittered delay; doubles with each retry. */
  baseDelayMs: number;
  /** Cap of the exponential part. */
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the request fails instead. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 300_000,
});

/**
 * "Full jitter" exponential backoff: uniform in [0, min(cap, base·2^(retry−1))). Spreads
 * clients that failed together (e.g. all throttled at once) instead of synchronising them.
 * `retry` is 1 for the first retry.
 */
export function fullJitterDelayMs(
  retry: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Parses Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns milliseconds to
 * wait from `nowMs` (never negative), or undefined when absent or unparseable.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
