import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Neo4jError } from 'neo4j-driver';
import { MedStreamError, isMedStreamError } from '../../../src/errors.js';
import type { Clock } from '../../../src/producers/http/clock.js';
import { classifyNeo4jError } from '../../../src/sinks/knowledge-graph/neo4j-errors.js';
import {
  applyBisecting,
  raceAbort,
  retryRetriable,
} from '../../../src/sinks/knowledge-graph/write-retry.js';
import type { RetryContext, RetryEvent } from '../../../src/sinks/knowledge-graph/write-retry.js';

const neo4jError = (code: string, message = 'failed') =>
  new Neo4jError(message, code, '50N42', 'error: general processing exception');

const classify = (error: unknown) => classifyNeo4jError(error, 'test');

/** A clock whose sleeps return at once and are recorded. */
function fakeClock(): Clock & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms, signal) => {
      signal?.throwIfAborted();
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

function context(overrides: Partial<RetryContext> = {}): RetryContext & { events: RetryEvent[] } {
  const events: RetryEvent[] = [];
  return {
    signal: new AbortController().signal,
    clock: fakeClock(),
    random: () => 0.5,
    schedule: { baseDelayMs: 100, maxDelayMs: 1_000 },
    classify,
    onRetry: (event) => events.push(event),
    ...overrides,
    events,
  };
}

test('server codes are sorted into retriable, record-level and fatal failures', () => {
  const cases: Array<[unknown, string, string | undefined]> = [
    [neo4jError('ServiceUnavailable'), 'retriable', 'SERVICE_UNAVAILABLE'],
    [neo4jError('SessionExpired'), 'retriable', 'SERVICE_UNAVAILABLE'],
    [
      neo4jError('Neo.TransientError.Transaction.DeadlockDetected'),
      'retriable',
      'SERVICE_UNAVAILABLE',
    ],
    [
      neo4jError('Neo.TransientError.General.DatabaseUnavailable'),
      'retriable',
      'SERVICE_UNAVAILABLE',
    ],
    [neo4jError('Neo.ClientError.Cluster.NotALeader'), 'retriable', 'SERVICE_UNAVAILABLE'],
    [
      neo4jError('Neo.TransientError.General.MemoryPoolOutOfMemoryError'),
      'record',
      'SINK_REJECTED',
    ],
    [neo4jError('Neo.ClientError.Schema.ConstraintValidationFailed'), 'record', 'SINK_REJECTED'],
    [neo4jError('Neo.DatabaseError.Statement.ExecutionFailed'), 'record', 'SINK_REJECTED'],
    [neo4jError('Neo.ClientError.Security.Unauthorized'), 'fatal', 'CONFIG_INVALID'],
    [neo4jError('Neo.ClientError.Database.DatabaseNotFound'), 'fatal', 'CONFIG_INVALID'],
    [neo4jError('Neo.ClientError.Statement.SyntaxError'), 'fatal', undefined],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'retriable', 'NETWORK'],
    [new TypeError('x is not a function'), 'fatal', undefined],
    [new MedStreamError('NETWORK', 'down'), 'retriable', 'NETWORK'],
    [new MedStreamError('SINK_REJECTED', 'refused'), 'record', 'SINK_REJECTED'],
    [new MedStreamError('CONFIG_INVALID', 'bad'), 'fatal', 'CONFIG_INVALID'],
  ];
  for (const [error, kind, code] of cases) {
    const failure = classify(error);
    const label = error instanceof Neo4jError ? error.code : String(error);
    assert.equal(failure.kind, kind, label);
    if (code === undefined) {
      assert.equal(failure.error, error, `${label} is rethrown as it is`);
    } else {
      assert.ok(isMedStreamError(failure.error), label);
      assert.equal(failure.error.code, code, label);
    }
  }
  const auth = classify(neo4jError('Neo.ClientError.Security.Unauthorized')).error;
  assert.match(String((auth as Error).message), /NEO4J_USER \/ NEO4J_PASSWORD/);
});

test('retriable failures are retried with growing jittered delays, each one reported', async () => {
  const ctx = context();
  let calls = 0;
  const result = await retryRetriable(() => {
    calls += 1;
    if (calls <= 4) return Promise.reject(neo4jError('ServiceUnavailable', 'connection refused'));
    return Promise.resolve('done');
  }, ctx);
  assert.equal(result, 'done');
  assert.equal(calls, 5);
  // Full jitter at random() = 0.5: half of min(cap, base·2^(n−1)).
  assert.deepEqual(
    ctx.events.map((e) => e.delayMs),
    [50, 100, 200, 400],
  );
  assert.deepEqual(
    ctx.events.map((e) => e.attempt),
    [1, 2, 3, 4],
  );
  assert.ok(ctx.events.every((e) => e.error.code === 'SERVICE_UNAVAILABLE'));
  assert.match(ctx.events[0].error.message, /connection refused/);
});

test('the delay is capped and the loop goes on until the signal aborts', async () => {
  const controller = new AbortController();
  const clock = fakeClock();
  const ctx = context({ signal: controller.signal, clock });
  let calls = 0;
  await assert.rejects(
    retryRetriable(() => {
      calls += 1;
      if (calls === 40) controller.abort(new Error('shutting down'));
      return Promise.reject(neo4jError('ServiceUnavailable'));
    }, ctx),
    /shutting down/,
  );
  assert.equal(calls, 40);
  assert.ok(Math.max(...clock.slept) <= 1_000);
  assert.equal(clock.slept.at(-1), 500, 'capped at maxDelayMs, jittered');
});

test('non-retriable failures are thrown at once; a deadline ends retrying', async () => {
  const ctx = context();
  let calls = 0;
  await assert.rejects(
    retryRetriable(() => {
      calls += 1;
      return Promise.reject(neo4jError('Neo.ClientError.Schema.ConstraintValidationFailed'));
    }, ctx),
    (error) => isMedStreamError(error) && error.code === 'SINK_REJECTED',
  );
  assert.equal(calls, 1);

  const clock = fakeClock();
  const limited = context({ clock, deadline: clock.now() + 1_000 });
  await assert.rejects(
    retryRetriable(() => Promise.reject(neo4jError('ServiceUnavailable')), limited),
    (error) => isMedStreamError(error) && error.code === 'SERVICE_UNAVAILABLE',
  );
  assert.ok(clock.now() <= 1_001_000);
  assert.ok(limited.events.length >= 3);
});

test('an abort rejects a pending operation at once with the signal reason', async () => {
  const controller = new AbortController();
  let settle: (value: string) => void = () => undefined;
  const pending = new Promise<string>((resolve) => {
    settle = resolve;
  });
  const raced = raceAbort(pending, controller.signal);
  controller.abort(new Error('stop now'));
  await assert.rejects(raced, /stop now/);
  settle('late');
  assert.equal(await raceAbort(Promise.resolve(7), new AbortController().signal), 7);
});

test('bisection isolates each refused record, writes all others, and keeps their order', async () => {
  const items = Array.from({ length: 37 }, (_, i) => i);
  const bad = new Set([3, 4, 20, 36]);
  const applied: number[] = [];
  let transactions = 0;
  const outcome = await applyBisecting(
    items,
    (part) => {
      transactions += 1;
      if (part.some((i) => bad.has(i))) {
        return Promise.reject(neo4jError('Neo.ClientError.Schema.ConstraintValidationFailed'));
      }
      applied.push(...part);
      return Promise.resolve(part.length);
    },
    classify,
  );
  assert.deepEqual(
    outcome.failures.map((f) => f.item),
    [3, 4, 20, 36],
  );
  assert.ok(outcome.failures.every((f) => isMedStreamError(f.error)));
  assert.deepEqual(
    applied,
    items.filter((i) => !bad.has(i)),
  );
  assert.equal(
    outcome.results.reduce((a, b) => a + b, 0),
    33,
  );
  assert.ok(transactions < 37, `bisection, not one transaction per record (${transactions})`);
});

test('bisection around the retry loop: retriable failures are retried, refused records isolated', async () => {
  const ctx = context();
  const attempts = new Map<string, number>();
  const outcome = await applyBisecting(
    ['a', 'b', 'bad', 'c'],
    (part) =>
      retryRetriable(() => {
        const key = part.join();
        attempts.set(key, (attempts.get(key) ?? 0) + 1);
        // Every transaction first meets an outage once, then the server's verdict.
        if (attempts.get(key) === 1) return Promise.reject(neo4jError('ServiceUnavailable'));
        if (part.includes('bad')) {
          return Promise.reject(neo4jError('Neo.ClientError.Schema.ConstraintValidationFailed'));
        }
        return Promise.resolve(part);
      }, ctx),
    classify,
  );
  assert.deepEqual(outcome.results, [['a', 'b'], ['c']]);
  assert.deepEqual(
    outcome.failures.map((f) => f.item),
    ['bad'],
  );
  assert.equal(ctx.events.length, attempts.size);
});

test('bisection does not swallow failures that are not about the records', async () => {
  await assert.rejects(
    applyBisecting(
      [1, 2, 3],
      () => Promise.reject(neo4jError('Neo.ClientError.Security.Unauthorized')),
      classify,
    ),
    (error) => isMedStreamError(error) && error.code === 'CONFIG_INVALID',
  );
});
