import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { medstreamMeter } from '../../telemetry/instruments.js';

/** Telemetry names of the file sinks (`medstream.sink.files.*`), attribute `medstream.sink.format`. */
export const FileSinkMetrics = {
  /** Counter: records by `outcome` (written, deleted, rejected). */
  records: 'medstream.sink.files.records',
  /** Counter: bytes written to output files (sidecars included). */
  bytes: 'medstream.sink.files.bytes',
  /** Counter: files completed and renamed to their final name. */
  files: 'medstream.sink.files.published',
  /** Histogram: seconds a batch takes from its first write to its last fsync. */
  commitDuration: 'medstream.sink.files.commit.duration',
} as const;

export const FORMAT_ATTRIBUTE = 'medstream.sink.format';
export const OUTCOME_ATTRIBUTE = 'medstream.sink.outcome';

export interface FileSinkInstruments {
  readonly records: Counter;
  readonly bytes: Counter;
  readonly files: Counter;
  readonly commitDuration: Histogram;
}

export function createFileSinkInstruments(meter: Meter = medstreamMeter()): FileSinkInstruments {
  return {
    records: meter.createCounter(FileSinkMetrics.records, {
      description: 'Sink records handled by a file sink, by outcome.',
      unit: '{record}',
    }),
    bytes: meter.createCounter(FileSinkMetrics.bytes, {
      description: 'Bytes written to output files.',
      unit: 'By',
    }),
    files: meter.createCounter(FileSinkMetrics.files, {
      description: 'Output files completed and published under their final name.',
      unit: '{file}',
    }),
    commitDuration: meter.createHistogram(FileSinkMetrics.commitDuration, {
      description: 'Time to write and fsync one batch (the durability cost per batch).',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      },
    }),
  };
}
