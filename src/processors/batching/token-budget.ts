/**
 * Plans inference batches under a token budget. The cost of a padded batch is
 * `rows × longest row`, so rows of similar length are grouped (length bucketing): sorting by
 * length before cutting keeps padding small. Each batch respects both `maxTokens` (padded
 * cells) and `maxRows`; a single row longer than the budget still gets a batch of its own.
 *
 * Without `callCost` the sorted rows are cut greedily (each batch filled to the budget). With
 * it, they are cut where the total cost Σ (rows × longest row + callCost) is least (dynamic
 * programming over the sorted rows, O(rows × maxRows)): a batch is closed early when the
 * padding the next, longer rows would add to it costs more than another inference call.
 */
export interface BatchPlanOptions {
  maxTokens: number;
  maxRows: number;
  /** Fixed cost of one inference call, in padded token cells (≥ 0). */
  callCost?: number;
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
  if (options.callCost !== undefined) return planLeastCost(lengths, order, options);
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

function planLeastCost(
  lengths: readonly number[],
  order: readonly number[],
  options: BatchPlanOptions,
): PlannedBatch[] {
  const callCost = options.callCost ?? 0;
  if (!(callCost >= 0)) throw new RangeError('callCost must be non-negative');
  const n = order.length;
  const sorted = order.map((i) => Math.max(1, lengths[i]));
  // cost[j]: least cost of the first j sorted rows; cut[j]: where their last batch starts.
  const cost = new Float64Array(n + 1).fill(Infinity);
  const cut = new Int32Array(n + 1);
  cost[0] = 0;
  for (let j = 1; j <= n; j += 1) {
    const longest = sorted[j - 1];
    for (let i = j - 1; i >= 0; i -= 1) {
      const rows = j - i;
      // A row longer than the budget still gets a batch of its own.
      if (rows > 1 && (rows > options.maxRows || rows * longest > options.maxTokens)) break;
      const total = cost[i] + rows * longest + callCost;
      if (total < cost[j]) {
        cost[j] = total;
        cut[j] = i;
      }
    }
  }
  const batches: PlannedBatch[] = [];
  for (let j = n; j > 0; j = cut[j]) {
    batches.push({ rows: order.slice(cut[j], j), maxLength: sorted[j - 1] });
  }
  return batches.reverse();
}
