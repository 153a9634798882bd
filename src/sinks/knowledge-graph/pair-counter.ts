import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { MedStreamError } from '../../errors.js';

/**
 * Counts concept-pair occurrences of a whole corpus in bounded memory: an external sort with
 * aggregation. Pairs are numbers (`start·2^26 + end` over concept indices, exact in a double);
 * they fill a fixed Float64Array; a full buffer is sorted, collapsed into (pair, count) entries
 * and written to a run file; at the end the runs are merged (k-way, summing equal pairs), in
 * several passes when there are more runs than `maxOpenRuns`.
 *
 * Why not a Map: a back-fill of 36M abstracts with ~20 pairs each is ~7·10^8 pair occurrences
 * over (by the shape of PubTator's chemical/disease graphs) tens of millions of distinct pairs —
 * beyond the 2^24 entries one V8 Map can hold, and ~100 bytes per entry besides. The external
 * counter needs `20 · chunkEntries` bytes (the buffer and a run being written: 80 MiB by
 * default) plus `12 · readBufferEntries` per open run while merging, and at most 12 bytes of
 * disk per occurrence (less after collapsing).
 */

export const PAIR_INDEX_LIMIT = 2 ** 26;
const ENTRY_BYTES = 12;

export function pairKey(start: number, end: number): number {
  return start * PAIR_INDEX_LIMIT + end;
}

export function splitPairKey(key: number): [start: number, end: number] {
  const start = Math.floor(key / PAIR_INDEX_LIMIT);
  return [start, key - start * PAIR_INDEX_LIMIT];
}

export interface PairCounterOptions {
  /** A folder of the counter's own for run files: created if needed, removed by `dispose()`. */
  readonly dir: string;
  /** Pair occurrences buffered before a run is written (8 bytes each). Default 4 Mi. */
  readonly chunkEntries?: number;
  /** Entries read at a time from each run while merging (12 bytes each). Default 16 Ki. */
  readonly readBufferEntries?: number;
  /** Most runs merged in one pass (open files). Default 256. */
  readonly maxOpenRuns?: number;
}

/** Aggregated counts in ascending pair order, `length` entries of `keys`/`counts` valid. */
export interface PairCountBatch {
  readonly keys: Float64Array;
  readonly counts: Float64Array;
  readonly length: number;
}

class RunReader {
  private readonly buffer: Buffer;
  private position = 0;
  private filled = 0;
  private offset = 0;
  key = 0;
  count = 0;

  private constructor(
    private readonly handle: FileHandle,
    entries: number,
  ) {
    this.buffer = Buffer.alloc(entries * ENTRY_BYTES);
  }

  static async open(path: string, entries: number): Promise<RunReader | undefined> {
    const reader = new RunReader(await open(path, 'r'), entries);
    if (await reader.refill()) return reader;
    await reader.close();
    return undefined;
  }

  /** Moves to the next entry in memory; false when the buffer is used up (then `refill`). */
  next(): boolean {
    if (this.position + ENTRY_BYTES > this.filled) return false;
    this.key = this.buffer.readDoubleLE(this.position);
    this.count = this.buffer.readUInt32LE(this.position + 8);
    this.position += ENTRY_BYTES;
    return true;
  }

  /** Reads the next block and moves to its first entry; false at the end of the run. */
  async refill(): Promise<boolean> {
    const { bytesRead } = await this.handle.read(this.buffer, 0, this.buffer.length, this.offset);
    this.offset += bytesRead;
    this.filled = bytesRead - (bytesRead % ENTRY_BYTES);
    this.position = 0;
    return this.next();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** A binary min-heap of readers ordered by their current key. */
class ReaderHeap {
  readonly items: RunReader[] = [];

  push(reader: RunReader): void {
    const items = this.items;
    items.push(reader);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent].key <= items[i].key) break;
      [items[parent], items[i]] = [items[i], items[parent]];
      i = parent;
    }
  }

  /** Restores the heap after the top reader's key grew. */
  siftDown(): void {
    const items = this.items;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && items[left].key < items[smallest].key) smallest = left;
      if (right < items.length && items[right].key < items[smallest].key) smallest = right;
      if (smallest === i) return;
      [items[smallest], items[i]] = [items[i], items[smallest]];
      i = smallest;
    }
  }

  pop(): RunReader | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.siftDown();
    }
    return top;
  }
}

export class ExternalPairCounter {
  private readonly options: Required<PairCounterOptions>;
  private readonly chunk: Float64Array;
  private length = 0;
  private runs: string[] = [];
  private runSerial = 0;
  private dirReady = false;
  private merged = false;
  /** Pair occurrences added. */
  occurrences = 0;

  constructor(options: PairCounterOptions) {
    this.options = {
      chunkEntries: 4 * 1024 * 1024,
      readBufferEntries: 16 * 1024,
      maxOpenRuns: 256,
      ...options,
    };
    if (this.options.chunkEntries < 1 || this.options.maxOpenRuns < 2) {
      throw new MedStreamError('CONFIG_INVALID', 'pair counter: chunkEntries ≥ 1, maxOpenRuns ≥ 2');
    }
    this.chunk = new Float64Array(this.options.chunkEntries);
  }

  /** Run files written so far (0 when everything fitted the buffer). */
  get runCount(): number {
    return this.runSerial;
  }

  async add(keys: readonly number[]): Promise<void> {
    if (this.merged) throw new MedStreamError('INTERNAL', 'pair counter: add() after counts()');
    for (const key of keys) {
      this.chunk[this.length] = key;
      this.length += 1;
      if (this.length === this.chunk.length) await this.spill();
    }
    this.occurrences += keys.length;
  }

  /** Sorted, collapsed contents of the buffer. */
  private collapse(): PairCountBatch {
    const sorted = this.chunk.subarray(0, this.length).sort();
    const keys = new Float64Array(sorted.length);
    const counts = new Float64Array(sorted.length);
    let n = -1;
    for (const key of sorted) {
      if (n >= 0 && keys[n] === key) {
        counts[n] += 1;
      } else {
        n += 1;
        keys[n] = key;
        counts[n] = 1;
      }
    }
    this.length = 0;
    return { keys, counts, length: n + 1 };
  }

  private async newRunPath(): Promise<string> {
    if (!this.dirReady) {
      await mkdir(this.options.dir, { recursive: true });
      this.dirReady = true;
    }
    this.runSerial += 1;
    return join(this.options.dir, `pairs-${String(this.runSerial).padStart(6, '0')}.run`);
  }

  /** Writes the sorted, collapsed buffer as a run file. */
  private async spill(): Promise<void> {
    const sorted = this.chunk.subarray(0, this.length).sort();
    const buffer = Buffer.allocUnsafe(sorted.length * ENTRY_BYTES);
    let at = -ENTRY_BYTES;
    let previous = Number.NaN;
    for (const key of sorted) {
      if (key === previous) {
        buffer.writeUInt32LE(buffer.readUInt32LE(at + 8) + 1, at + 8);
      } else {
        at += ENTRY_BYTES;
        buffer.writeDoubleLE(key, at);
        buffer.writeUInt32LE(1, at + 8);
        previous = key;
      }
    }
    this.length = 0;
    const path = await this.newRunPath();
    await writeFile(path, buffer.subarray(0, at + ENTRY_BYTES));
    this.runs.push(path);
  }

  /**
   * Every distinct pair with its count, ascending by key, in batches of up to `batchEntries`.
   * Call once, after the last `add`.
   */
  async *counts(batchEntries = 64 * 1024): AsyncGenerator<PairCountBatch> {
    if (this.merged) throw new MedStreamError('INTERNAL', 'pair counter: counts() called twice');
    this.merged = true;
    if (this.runs.length === 0) {
      const batch = this.collapse();
      for (let from = 0; from < batch.length; from += batchEntries) {
        const to = Math.min(batch.length, from + batchEntries);
        yield {
          keys: batch.keys.subarray(from, to),
          counts: batch.counts.subarray(from, to),
          length: to - from,
        };
      }
      return;
    }
    if (this.length > 0) await this.spill();
    while (this.runs.length > this.options.maxOpenRuns) {
      const group = this.runs.splice(0, this.options.maxOpenRuns);
      const path = await this.newRunPath();
      const handle = await open(path, 'w');
      try {
        for await (const batch of this.merge(group, batchEntries)) {
          const buffer = Buffer.alloc(batch.length * ENTRY_BYTES);
          for (let i = 0; i < batch.length; i += 1) {
            buffer.writeDoubleLE(batch.keys[i], i * ENTRY_BYTES);
            buffer.writeUInt32LE(batch.counts[i], i * ENTRY_BYTES + 8);
          }
          await handle.write(buffer);
        }
      } finally {
        await handle.close();
      }
      await Promise.all(group.map((run) => rm(run, { force: true })));
      this.runs.push(path);
    }
    yield* this.merge(this.runs, batchEntries);
  }

  private async *merge(
    paths: readonly string[],
    batchEntries: number,
  ): AsyncGenerator<PairCountBatch> {
    const heap = new ReaderHeap();
    const readers: RunReader[] = [];
    try {
      for (const path of paths) {
        const reader = await RunReader.open(path, this.options.readBufferEntries);
        if (reader !== undefined) {
          readers.push(reader);
          heap.push(reader);
        }
      }
      let keys = new Float64Array(batchEntries);
      let counts = new Float64Array(batchEntries);
      let n = -1;
      for (;;) {
        const top = heap.items[0];
        if (top === undefined) break;
        if (n >= 0 && keys[n] === top.key) {
          counts[n] += top.count;
        } else {
          if (n + 1 === batchEntries) {
            yield { keys, counts, length: batchEntries };
            keys = new Float64Array(batchEntries);
            counts = new Float64Array(batchEntries);
            n = -1;
          }
          n += 1;
          keys[n] = top.key;
          counts[n] = top.count;
        }
        // Reads from disk once per buffer, not once per entry.
        const more = top.next() || (await top.refill());
        if (more) heap.siftDown();
        else heap.pop();
      }
      if (n >= 0) yield { keys, counts, length: n + 1 };
    } finally {
      await Promise.all(readers.map((reader) => reader.close()));
    }
  }

  /** Removes the run files. */
  async dispose(): Promise<void> {
    await rm(this.options.dir, { recursive: true, force: true });
  }
}
