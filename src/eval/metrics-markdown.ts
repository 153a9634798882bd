import type { Prf, ScoreSet } from './prf.js';

/**
 * A METRICS.md block from evaluation results: one markdown table with the metric named next to
 * every number (models.md, "How to report a result"). Numbers have 4 decimals; counts are
 * given so that a reader can recompute them.
 */
export interface MetricsReport {
  /** Heading, e.g. `NCBI-disease test — oracle spans + dictionary normalizer`. */
  readonly title: string;
  /** NER: strict mention-level micro P/R/F1 (evaluateMentions). */
  readonly ner?: ScoreSet;
  /** NEN: document-level concept P/R/F1 (evaluateConcepts). */
  readonly nen?: ScoreSet;
  /** Free-form lines under the table (model version, data versions, caveats). */
  readonly notes?: readonly string[];
}

export const NER_METRIC_NAME = 'NER mention-level strict micro';
export const NEN_METRIC_NAME = 'NEN document-level concept (BC5CDR kit)';

const fmt = (x: number): string => x.toFixed(4);

function rows(metric: string, scores: ScoreSet): string[] {
  const line = (type: string, s: Prf) =>
    `| ${metric} | ${type} | ${fmt(s.precision)} | ${fmt(s.recall)} | ${fmt(s.f1)} | ${s.tp} | ${s.fp} | ${s.fn} |`;
  const types = Object.keys(scores.byType).sort();
  const out = types.map((t) => line(t, scores.byType[t]));
  // A single type's micro row would repeat it.
  if (types.length !== 1) out.unshift(line('all (micro)', scores.overall));
  return out;
}

export function metricsMarkdown(report: MetricsReport): string {
  const lines = [
    `### ${report.title}`,
    '',
    '| Metric | Type | P | R | F1 | TP | FP | FN |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  if (report.ner !== undefined) lines.push(...rows(NER_METRIC_NAME, report.ner));
  if (report.nen !== undefined) lines.push(...rows(NEN_METRIC_NAME, report.nen));
  if (report.notes !== undefined && report.notes.length > 0) {
    lines.push('', ...report.notes.map((n) => `- ${n}`));
  }
  return `${lines.join('\n')}\n`;
}
