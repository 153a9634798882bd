/**
 * A bounded single-consumer async queue: the in-process replacement for a Kafka topic.
 *
 * Invariants: at most `capacity` items are buffered; `push` waits while the queue is full, so
 * a fast producer is slowed to the consumer's pace (backpressure) instead of growing memory.
 * After `close()` no push is accepted and the iterator ends once the buffer is drained.
 * `fail(error)` ends the iterator with that error so a broken stage cannot hang the pipeline.
 */
export class BoundedQueue<T> implements AsyncIterable<T> {
  readonly capacity: number;
  private readonly items: T[] = [];
  private head = 0;
  private closed = false;
  private failure: { error: unknown } | undefined;
  private waitingPush: (() => void)[] = [];
  private waitingPull: (() => void) | undefined;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  get depth(): number {
    return this.items.length - this.head;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async push(item: T): Promise<void> {
    while (this.depth >= this.capacity && !this.closed) {
      await new Promise<void>((resolve) => this.waitingPush.push(resolve));
    }
    if (this.closed) throw new Error('push after close');
    this.items.push(item);
    this.wakePull();
  }

  close(): void {
    this.closed = true;
    this.wakePull();
    this.wakePushers();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure.error;
      if (this.depth > 0) {
        const item = this.items[this.head];
        this.items[this.head] = undefined as T;
        this.head += 1;
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items.splice(0, this.head);
          this.head = 0;
        }
        this.wakePushers();
        yield item;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.waitingPull = resolve));
    }
  }

  private wakePull(): void {
    const resolve = this.waitingPull;
    this.waitingPull = undefined;
    resolve?.();
  }

  private wakePushers(): void {
    const waiting = this.waitingPush;
    this.waitingPush = [];
    for (const resolve of waiting) resolve();
  }
}
