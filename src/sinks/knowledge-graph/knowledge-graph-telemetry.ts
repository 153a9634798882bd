import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { medstreamMeter } from '../../telemetry/instruments.js';

/** Telemetry names of the Neo4j knowledge-graph sink (`medstream.sink.neo4j.*`). */
export const KnowledgeGraphMetrics = {
  /** Counter: records by `outcome` (written, deleted, rejected). */
  records: 'medstream.sink.neo4j.records',
  /** Counter: records that changed nothing because their PMID had a newer version stored. */
  superseded: 'medstream.sink.neo4j.superseded',
  /** Counter: whole-batch retries after a retriable failure, by error code. */
  retries: 'medstream.sink.neo4j.retries',
  /** Counter: committed graph transactions. */
  transactions: 'medstream.sink.neo4j.transactions',
  /** Counter: concept pairs left out of CO_OCCURS by the per-article cap. */
  skippedPairs: 'medstream.sink.neo4j.pairs.skipped',
  /** Histogram: seconds from a write's start to its last commit, retries included. */
  writeDuration: 'medstream.sink.neo4j.write.duration',
} as const;

export const KnowledgeGraphSpans = {
  write: 'medstream.sink.neo4j.write',
} as const;

/** Attribute key of the records counter. */
export const OUTCOME_ATTRIBUTE = 'medstream.sink.outcome';

export interface KnowledgeGraphInstruments {
  readonly records: Counter;
  readonly superseded: Counter;
  readonly retries: Counter;
  readonly transactions: Counter;
  readonly skippedPairs: Counter;
  readonly writeDuration: Histogram;
}

export function createKnowledgeGraphInstruments(
  meter: Meter = medstreamMeter(),
): KnowledgeGraphInstruments {
  return {
    records: meter.createCounter(KnowledgeGraphMetrics.records, {
      description: 'Sink records handled by the knowledge-graph loader, by outcome.',
      unit: '{record}',
    }),
    superseded: meter.createCounter(KnowledgeGraphMetrics.superseded, {
      description: 'Records (replays, late older versions) already superseded in the graph.',
      unit: '{record}',
    }),
    retries: meter.createCounter(KnowledgeGraphMetrics.retries, {
      description: 'Graph batches retried after a retriable failure.',
      unit: '{retry}',
    }),
    transactions: meter.createCounter(KnowledgeGraphMetrics.transactions, {
      description: 'Committed graph transactions.',
      unit: '{transaction}',
    }),
    skippedPairs: meter.createCounter(KnowledgeGraphMetrics.skippedPairs, {
      description: 'Concept pairs left out of CO_OCCURS by the per-article concept cap.',
      unit: '{pair}',
    }),
    writeDuration: meter.createHistogram(KnowledgeGraphMetrics.writeDuration, {
      description: 'Time from the start of a sink write to its last commit, retries included.',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      },
    }),
  };
}
