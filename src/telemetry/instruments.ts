import { metrics, trace } from '@opentelemetry/api';
import type {
  Attributes,
  Counter,
  Histogram,
  Meter,
  ObservableGauge,
  ObservableResult,
  Tracer,
} from '@opentelemetry/api';

/**
 * The product's telemetry names, in one place. Library code records through
 * `@opentelemetry/api` only: without an SDK (tests, library use) every call is a no-op; the
 * entrypoint that starts an SDK decides where the data goes.
 *
 * Naming: `medstream.<stage>.<what>` with OpenTelemetry units; attribute keys follow the
 * messaging semantic conventions where one exists. A new stage (sink, producer) adds its own
 * `*Metrics` table and `create*Instruments` factory beside these.
 */
export const METER_NAME = 'medstream';
export const TRACER_NAME = 'medstream';
export const INSTRUMENTATION_VERSION = '0.1.0';

export const ProcessorMetrics = {
  /** Counter: articles annotated and written (tombstones and dead letters excluded). */
  articles: 'medstream.processor.articles',
  /** Counter: deletion tombstones passed through. */
  tombstones: 'medstream.processor.tombstones',
  /** Counter: tokens the model saw, when the annotator reports them. */
  tokens: 'medstream.processor.tokens',
  /** Counter: characters of annotated text (UTF-16 code units). */
  characters: 'medstream.processor.characters',
  /** Histogram: records per committed micro-batch. */
  batchSize: 'medstream.processor.batch.size',
  /** Histogram: seconds from a micro-batch's start to its commit. */
  batchDuration: 'medstream.processor.batch.duration',
  /** Counter: records sent to the dead-letter topic, by error code. */
  deadLetters: 'medstream.processor.dlq',
  /** Counter: transactions aborted (the batch is re-read). */
  aborts: 'medstream.processor.transaction.aborts',
  /** Observable gauge: records between the committed offset and the high watermark. */
  consumerLag: 'medstream.processor.consumer.lag',
} as const;

export const SpanNames = {
  processorBatch: 'medstream.processor.batch',
} as const;

/** Attribute keys. `messaging.*` are OpenTelemetry semantic conventions. */
export const AttributeKeys = {
  messagingSystem: 'messaging.system',
  destination: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  consumerGroup: 'messaging.consumer.group.name',
  batchCount: 'messaging.batch.message_count',
  errorCode: 'medstream.error.code',
  firstOffset: 'medstream.kafka.first_offset',
  lastOffset: 'medstream.kafka.last_offset',
  deadLetters: 'medstream.batch.dead_letters',
  instance: 'medstream.instance.id',
} as const;

export function medstreamMeter(): Meter {
  return metrics.getMeter(METER_NAME, INSTRUMENTATION_VERSION);
}

export function medstreamTracer(): Tracer {
  return trace.getTracer(TRACER_NAME, INSTRUMENTATION_VERSION);
}

export interface LagObservation {
  lag: number;
  attributes: Attributes;
}

export interface ProcessorInstruments {
  articles: Counter;
  tombstones: Counter;
  tokens: Counter;
  characters: Counter;
  batchSize: Histogram;
  batchDuration: Histogram;
  deadLetters: Counter;
  aborts: Counter;
  consumerLag: ObservableGauge;
  /**
   * Reports `read()` on every collection; returns the function that stops it (call it on
   * close so a closed processor does not keep reporting).
   */
  observeLag(read: () => Iterable<LagObservation>): () => void;
}

export function createProcessorInstruments(meter: Meter = medstreamMeter()): ProcessorInstruments {
  const consumerLag = meter.createObservableGauge(ProcessorMetrics.consumerLag, {
    description: 'Records of the input topic not yet committed by the processor, per partition.',
    unit: '{record}',
  });
  return {
    articles: meter.createCounter(ProcessorMetrics.articles, {
      description: 'Articles annotated and written.',
      unit: '{article}',
    }),
    tombstones: meter.createCounter(ProcessorMetrics.tombstones, {
      description: 'Deletion tombstones passed through.',
      unit: '{record}',
    }),
    tokens: meter.createCounter(ProcessorMetrics.tokens, {
      description: 'Tokens the model annotated.',
      unit: '{token}',
    }),
    characters: meter.createCounter(ProcessorMetrics.characters, {
      description: 'Characters of annotated text (UTF-16 code units).',
      unit: '{char}',
    }),
    batchSize: meter.createHistogram(ProcessorMetrics.batchSize, {
      description: 'Records per committed micro-batch.',
      unit: '{record}',
      advice: { explicitBucketBoundaries: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] },
    }),
    batchDuration: meter.createHistogram(ProcessorMetrics.batchDuration, {
      description: 'Time from the start of a micro-batch to its commit.',
      unit: 's',
      advice: {
        explicitBucketBoundaries: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      },
    }),
    deadLetters: meter.createCounter(ProcessorMetrics.deadLetters, {
      description: 'Records sent to the dead-letter topic, by error code.',
      unit: '{record}',
    }),
    aborts: meter.createCounter(ProcessorMetrics.aborts, {
      description: 'Kafka transactions aborted; their batch is re-read.',
      unit: '{transaction}',
    }),
    consumerLag,
    observeLag(read) {
      const callback = (result: ObservableResult): void => {
        for (const { lag, attributes } of read()) result.observe(lag, attributes);
      };
      consumerLag.addCallback(callback);
      return () => consumerLag.removeCallback(callback);
    },
  };
}
