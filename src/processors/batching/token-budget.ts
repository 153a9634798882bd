/**
 * Plans inference batches under a token budget. The cost of a padded batch is
 * `rows × longest row`, so rows of similar length are grouped (length bucketing): sorting by
 * length before cutting keeps padding small. Each batch respects both `maxTokens` (padded
 * cells) and `maxRows`; a single row longer than the budget still gets a batch of its own.
 */
export interface BatchPlanOptions {
  maxTokens: number;
  maxRows: number;
}

export interface PlannedBatch {
  /** Indices into the input, sorted by length within the batch. */
  rows: number[];
  maxLength: number;
}

export function planBatches(lengths: readonly number[], options: BatchPlanOptions): PlannedBatch[] {
  if (options.maxTokens < 1 || options.maxRows < 1) {
    throw new RangeError('maxTokens and maxRows must be positive');
  }
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const batches: PlannedBatch[] = [];
  let rows: number[] = [];
  let maxLength = 0;
  for (const index of order) {
    const length = Math.max(1, lengths[index]);
    const wouldBe = Math.max(maxLength, length) * (rows.length + 1);
    if (rows.length > 0 && (wouldBe > options.maxTokens || rows.length >= options.maxRows)) {
      batches.push({ rows, maxLength });
      rows = [];
      maxLength = 0;
    }
    rows.push(index);
    maxLength = Math.max(maxLength, length);
  }
  if (rows.length > 0) batches.push({ rows, maxLength });
  return batches;
}
