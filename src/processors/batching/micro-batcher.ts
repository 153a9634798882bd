/**
 * Groups a stream into micro-batches bounded by item count, a weight (e.g. tokens) and time:
 * a batch is emitted when it is full or when `maxDelayMs` has passed since its first item, so
 * a trickle of input (a live feed) is not held back waiting for a full batch.
 *
 * The source is pulled only while the current batch has room, so backpressure from the
 * consumer of the batches reaches the source.
 */
export interface MicroBatchOptions<T> {
  maxItems: number;
  maxWeight?: number;
  weight?: (item: T) => number;
  maxDelayMs: number;
}

export async function* microBatches<T>(
  source: AsyncIterable<T>,
  options: MicroBatchOptions<T>,
): AsyncGenerator<T[]> {
  const iterator = source[Symbol.asyncIterator]();
  const weightOf = options.weight ?? (() => 1);
  const maxWeight = options.maxWeight ?? Number.POSITIVE_INFINITY;
  let pending: Promise<IteratorResult<T>> | undefined;
  let done = false;
  try {
    while (!done) {
      const batch: T[] = [];
      let weight = 0;
      let deadline: number | undefined;
      while (batch.length < options.maxItems && weight < maxWeight) {
        pending ??= iterator.next();
        let result: IteratorResult<T> | 'timeout';
        if (deadline === undefined) {
          result = await pending;
        } else {
          const remaining = deadline - Date.now();
          if (remaining <= 0) break;
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), remaining);
          });
          result = await Promise.race([pending, timeout]);
          clearTimeout(timer);
        }
        if (result === 'timeout') break;
        pending = undefined;
        if (result.done === true) {
          done = true;
          break;
        }
        batch.push(result.value);
        weight += weightOf(result.value);
        deadline ??= Date.now() + options.maxDelayMs;
      }
      if (batch.length > 0) yield batch;
    }
  } finally {
    if (!done) await iterator.return?.();
  }
}
