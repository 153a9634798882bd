/**
 * Precision, recall and F1 from counts. A ratio with a zero denominator is 0 (the BioCreative
 * kit prints NaN there; 0 keeps tables and thresholds comparable and JSON-serializable).
 */
export interface Prf {
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export function prf(tp: number, fp: number, fn: number): Prf {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, fn, precision, recall, f1 };
}

/** Scores of one evaluation: all evaluated types together (micro) and each type alone. */
export interface ScoreSet {
  readonly overall: Prf;
  readonly byType: Readonly<Record<string, Prf>>;
}

/** Set comparison of keys: |gold ∩ pred| = TP, the rest of pred FP, the rest of gold FN. */
export function compareSets(gold: ReadonlySet<string>, pred: ReadonlySet<string>): Prf {
  let tp = 0;
  for (const key of pred) if (gold.has(key)) tp += 1;
  return prf(tp, pred.size - tp, gold.size - tp);
}
