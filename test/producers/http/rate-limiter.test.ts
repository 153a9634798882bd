import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fullJitterDelayMs, parseRetryAfterMs } from '../../../src/producers/http/backoff.js';
import { HttpClient } from '../../../src/producers/http/http-client.js';
import {
  RateLimiter,
  ncbiRequestsPerSecond,
  sharedNcbiRateLimiter,
} from '../../../src/producers/http/rate-limiter.js';
import { FakeClock } from './fake-clock.js';
import { ok, startScriptedServer } from './scripted-server.js';

/** Largest number of timestamps inside any half-open window [t, t + windowMs). */
function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while (sorted[end] - sorted[start] >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

describe('RateLimiter (fake clock)', () => {
  test('never lets more than N starts into any window, bursts allowed up to N', async () => {
    const clock = new FakeClock(0);
    const limiter = new RateLimiter({ maxRequests: 3, clock, safetyMs: 0 });
    const starts: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const release = await limiter.acquire();
      starts.push(clock.now());
      release();
    }
    assert.deepEqual(starts.slice(0, 4), [0, 0, 0, 1000]);
    assert.equal(maxInWindow(starts, 1000), 3);
    assert.equal(starts.at(-1), 9000);
  });

  test('concurrent waiters are served in order and still within the limit', async () => {
    const clock = new FakeClock(0);
    const limiter = new RateLimiter({ maxRequests: 10, clock });
    const starts: number[] = [];
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 35 }, async (_, i) => {
        const release = await limiter.acquire();
        starts.push(clock.now());
        order.push(i);
        release();
      }),
    );
    assert.deepEqual(
      order,
      Array.from({ length: 35 }, (_, i) => i),
    );
    assert.ok(maxInWindow(starts, 1050) <= 10);
  });

  test('a slot still in flight (no response yet) holds its successor N places later', async () => {
    const clock = new FakeClock(0);
    const limiter = new RateLimiter({ maxRequests: 2, clock, safetyMs: 0 });
    const first = await limiter.acquire();
    (await limiter.acquire())();
    let third = false;
    const waiting = limiter.acquire().then((release) => {
      third = true;
      release();
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(third, false);
    clock.time = 2500; // the first request is answered only now
    first();
    await waiting;
    assert.equal(clock.now(), 3500);
  });

  test('pauseUntil holds everyone back', async () => {
    const clock = new FakeClock(0);
    const limiter = new RateLimiter({ maxRequests: 3, clock });
    limiter.pauseUntil(4000);
    await limiter.acquire();
    assert.equal(clock.now(), 4000);
  });

  test('NCBI limits: 3/s without a key, 10/s with one; one shared limiter per rate', () => {
    assert.equal(ncbiRequestsPerSecond(undefined), 3);
    assert.equal(ncbiRequestsPerSecond(''), 3);
    assert.equal(ncbiRequestsPerSecond('k'), 10);
    assert.equal(sharedNcbiRateLimiter(undefined), sharedNcbiRateLimiter(undefined));
    assert.equal(sharedNcbiRateLimiter('a').maxRequests, 10);
  });
});

describe('backoff', () => {
  test('full jitter stays under the exponential ceiling and the cap', () => {
    const policy = { baseDelayMs: 500, maxDelayMs: 4000 };
    assert.equal(
      fullJitterDelayMs(1, policy, () => 0.999),
      499,
    );
    assert.equal(
      fullJitterDelayMs(3, policy, () => 0.5),
      1000,
    );
    assert.equal(
      fullJitterDelayMs(10, policy, () => 0.5),
      2000,
    );
    assert.equal(
      fullJitterDelayMs(4, policy, () => 0),
      0,
    );
  });

  test('Retry-After: seconds, HTTP date, past date, garbage', () => {
    const now = Date.UTC(2024, 0, 1, 0, 0, 0);
    assert.equal(parseRetryAfterMs('3', now), 3000);
    assert.equal(parseRetryAfterMs(' 0 ', now), 0);
    assert.equal(parseRetryAfterMs(new Date(now + 9000).toUTCString(), now), 9000);
    assert.equal(parseRetryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', now), 0);
    assert.equal(parseRetryAfterMs('soon', now), undefined);
    assert.equal(parseRetryAfterMs(undefined, now), undefined);
  });
});

describe('RateLimiter measured by a real server', () => {
  test('3 req/s without an API key, 10 with one: server-side arrivals never exceed the limit in any 1 s window', async () => {
    // Both cases at once (separate servers and limiters) to keep the suite fast.
    await Promise.all(
      (
        [
          [undefined, 6],
          ['key', 20],
        ] as const
      ).map(async ([apiKey, count]) => {
        const rate = ncbiRequestsPerSecond(apiKey);
        const server = await startScriptedServer([ok('x')]);
        const http = new HttpClient({ limiter: new RateLimiter({ maxRequests: rate }) });
        try {
          // Everyone asks at once; the limiter alone spaces them.
          await Promise.all(Array.from({ length: count }, () => http.get(server.url)));
          assert.equal(server.arrivals.length, count);
          const max = maxInWindow(server.arrivals, 1000);
          assert.ok(max <= rate, `${rate}/s: max ${max} in 1 s`);
          // …and it does not throttle far below the limit either.
          const span = server.arrivals.at(-1)! - server.arrivals[0];
          assert.ok(span < (Math.ceil(count / rate) - 1) * 1050 + 300, `span ${span} ms`);
        } finally {
          await http.close();
          await server.close();
        }
      }),
    );
  });
});
