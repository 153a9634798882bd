import type { Clock } from '../../../src/producers/http/clock.js';

/**
 * A clock whose sleeps return at once and move time forward by exactly the requested amount,
 * so retry and rate-limit schedules can be asserted without waiting for them.
 */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];

  constructor(public time = Date.UTC(2024, 0, 10, 12, 0, 0)) {}

  now(): number {
    return this.time;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.time += Math.max(0, ms);
    // Yield to the event loop like a real timer would, so sockets keep being served.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
