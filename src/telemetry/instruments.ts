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
 * entrypoint that starts an SDK (telemetry/sdk.ts) decides where the data goes.
 *
 * Naming: `medstream.<stage>.<what>` with OpenTelemetry units; attribute keys follow the
 * messaging semantic conventions where one exists. Every stage has a `*Metrics` table of names
 * and a `create*Instruments` factory; {@link ALL_METRICS} lists every instrument the factories
 * create, so dashboards and alerts can be checked against the code.
 *
 * Instruments must be created after the SDK started: the metrics API has no proxy, so a meter
 * taken before `startTelemetry` stays a no-op for good.
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
  /** Observable gauge: fetched records held in memory and not yet committed. */
  queueDepth: 'medstream.processor.queue.depth',
  /** Histogram: seconds to load the served model (session, vocabularies, dictionary). */
  modelLoadDuration: 'medstream.processor.model.load.duration',
} as const;

export const ProducerMetrics = {
  /** Counter: articles committed to Kafka, by source kind (`eutils`, `files`). */
  articles: 'medstream.producer.articles',
  /** Counter: dead letters committed (records the parser could not turn into an Article). */
  deadLetters: 'medstream.producer.dead_letters',
  /** Counter: deletion tombstones committed (`DeleteCitation` PMIDs). */
  deletes: 'medstream.producer.deletes',
  /** Counter: source units (update files, date windows) committed as one transaction each. */
  units: 'medstream.producer.units',
} as const;

export const SinkMetrics = {
  /** Counter: records by sink (`medstream.sink`) and outcome (written, deleted, rejected). */
  records: 'medstream.sink.records',
  /** Counter: retried writes, by sink and error code. */
  retries: 'medstream.sink.retries',
  /** Histogram: seconds from a batch's first write attempt to its offset commit. */
  batchDuration: 'medstream.sink.batch.duration',
  /** Histogram: records per batch. */
  batchSize: 'medstream.sink.batch.size',
  /** Observable gauge: records of the input topic not yet committed by the sink's group. */
  consumerLag: 'medstream.sink.consumer.lag',
} as const;

export const SpanNames = {
  processorBatch: 'medstream.processor.batch',
  /** One source unit (update file, date window) produced in one Kafka transaction. */
  producerUnit: 'medstream.producer.unit',
  /** One batch of a sink, linked to the processor spans of its records. */
  sinkBatch: 'medstream.sink.batch',
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
  /** Producer source kind: `eutils` or `files` (bounded; file names go on spans only). */
  source: 'medstream.source',
  /** Producer unit name (an update file, a date window): spans only, never metrics. */
  unit: 'medstream.producer.unit',
  /** Sink name: `opensearch`, `neo4j`, `pubtator`, … */
  sink: 'medstream.sink',
  /** Sink record outcome: `written`, `deleted` or `rejected`. */
  outcome: 'medstream.outcome',
  modelName: 'medstream.model.name',
  modelVersion: 'medstream.model.version',
} as const;

export type SinkOutcome = 'written' | 'deleted' | 'rejected';

export type MetricKind = 'counter' | 'histogram' | 'gauge' | 'updown';

/** One instrument as the factories create it. */
export interface MetricDefinition {
  readonly name: string;
  readonly kind: MetricKind;
  /** UCUM unit; `{thing}` annotations count things. */
  readonly unit: string;
  readonly description: string;
  /** Explicit bucket boundaries (histograms only). */
  readonly buckets?: readonly number[];
}

const SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const RECORD_COUNT_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

function define(
  name: string,
  kind: MetricKind,
  unit: string,
  description: string,
  buckets?: readonly number[],
): MetricDefinition {
  return buckets === undefined
    ? { name, kind, unit, description }
    : { name, kind, unit, description, buckets };
}

export const ProcessorMetricDefinitions = {
  articles: define(
    ProcessorMetrics.articles,
    'counter',
    '{article}',
    'Articles annotated and written.',
  ),
  tombstones: define(
    ProcessorMetrics.tombstones,
    'counter',
    '{record}',
    'Deletion tombstones passed through.',
  ),
  tokens: define(ProcessorMetrics.tokens, 'counter', '{token}', 'Tokens the model annotated.'),
  characters: define(
    ProcessorMetrics.characters,
    'counter',
    '{char}',
    'Characters of annotated text (UTF-16 code units).',
  ),
  batchSize: define(
    ProcessorMetrics.batchSize,
    'histogram',
    '{record}',
    'Records per committed micro-batch.',
    RECORD_COUNT_BUCKETS,
  ),
  batchDuration: define(
    ProcessorMetrics.batchDuration,
    'histogram',
    's',
    'Time from the start of a micro-batch to its commit.',
    SECONDS_BUCKETS,
  ),
  deadLetters: define(
    ProcessorMetrics.deadLetters,
    'counter',
    '{record}',
    'Records sent to the dead-letter topic, by error code.',
  ),
  aborts: define(
    ProcessorMetrics.aborts,
    'counter',
    '{transaction}',
    'Kafka transactions aborted; their batch is re-read.',
  ),
  consumerLag: define(
    ProcessorMetrics.consumerLag,
    'gauge',
    '{record}',
    'Records of the input topic not yet committed by the processor, per partition.',
  ),
  queueDepth: define(
    ProcessorMetrics.queueDepth,
    'gauge',
    '{record}',
    'Fetched input records held in memory and not yet committed.',
  ),
  modelLoadDuration: define(
    ProcessorMetrics.modelLoadDuration,
    'histogram',
    's',
    'Time to load the served model before the processor joins its group.',
    [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  ),
} as const satisfies Record<keyof typeof ProcessorMetrics, MetricDefinition>;

export const ProducerMetricDefinitions = {
  articles: define(
    ProducerMetrics.articles,
    'counter',
    '{article}',
    'Articles committed to Kafka, by source kind.',
  ),
  deadLetters: define(
    ProducerMetrics.deadLetters,
    'counter',
    '{record}',
    'Dead letters committed to Kafka (records that are not valid articles).',
  ),
  deletes: define(
    ProducerMetrics.deletes,
    'counter',
    '{record}',
    'Deletion tombstones committed to Kafka.',
  ),
  units: define(
    ProducerMetrics.units,
    'counter',
    '{unit}',
    'Source units (update files, date windows) committed, one transaction each.',
  ),
} as const satisfies Record<keyof typeof ProducerMetrics, MetricDefinition>;

export const SinkMetricDefinitions = {
  records: define(SinkMetrics.records, 'counter', '{record}', 'Sink records by sink and outcome.'),
  retries: define(
    SinkMetrics.retries,
    'counter',
    '{retry}',
    'Sink writes retried after a retriable failure, by sink and error code.',
  ),
  batchDuration: define(
    SinkMetrics.batchDuration,
    'histogram',
    's',
    'Time from the first write attempt of a sink batch to its offset commit.',
    SECONDS_BUCKETS,
  ),
  batchSize: define(
    SinkMetrics.batchSize,
    'histogram',
    '{record}',
    'Records per sink batch.',
    RECORD_COUNT_BUCKETS,
  ),
  consumerLag: define(
    SinkMetrics.consumerLag,
    'gauge',
    '{record}',
    'Records of the input topic not yet committed by the sink, per partition.',
  ),
} as const satisfies Record<keyof typeof SinkMetrics, MetricDefinition>;

/** Every instrument the factories in this module create. */
export const ALL_METRICS: readonly MetricDefinition[] = [
  ...Object.values(ProcessorMetricDefinitions),
  ...Object.values(ProducerMetricDefinitions),
  ...Object.values(SinkMetricDefinitions),
];

/**
 * How the Prometheus exporter (the `/metrics` endpoint) names a metric: characters outside
 * `[a-zA-Z0-9_:]` become `_`, counters get `_total`, histograms are exposed as `_bucket`,
 * `_sum` and `_count` series. Units are not appended (exporter-prometheus 0.208).
 */
export function prometheusNames(definition: Pick<MetricDefinition, 'name' | 'kind'>): {
  /** The name on the `# TYPE` line. */
  family: string;
  /** The sample names a query can use. */
  series: string[];
} {
  const base = definition.name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_{2,}/g, '_');
  switch (definition.kind) {
    case 'counter': {
      const family = base.endsWith('_total') ? base : `${base}_total`;
      return { family, series: [family] };
    }
    case 'histogram':
      return { family: base, series: [`${base}_bucket`, `${base}_sum`, `${base}_count`] };
    case 'gauge':
    case 'updown':
      return { family: base, series: [base] };
  }
}

export function medstreamMeter(): Meter {
  return metrics.getMeter(METER_NAME, INSTRUMENTATION_VERSION);
}

export function medstreamTracer(): Tracer {
  return trace.getTracer(TRACER_NAME, INSTRUMENTATION_VERSION);
}

function counter(meter: Meter, definition: MetricDefinition): Counter {
  return meter.createCounter(definition.name, {
    description: definition.description,
    unit: definition.unit,
  });
}

function histogram(meter: Meter, definition: MetricDefinition): Histogram {
  return meter.createHistogram(definition.name, {
    description: definition.description,
    unit: definition.unit,
    ...(definition.buckets === undefined
      ? {}
      : { advice: { explicitBucketBoundaries: [...definition.buckets] } }),
  });
}

function gauge(meter: Meter, definition: MetricDefinition): ObservableGauge {
  return meter.createObservableGauge(definition.name, {
    description: definition.description,
    unit: definition.unit,
  });
}

/** Reports `read()` on every collection until the returned function is called. */
function observeWith<T>(
  instrument: ObservableGauge,
  read: () => T,
  report: (result: ObservableResult, value: T) => void,
): () => void {
  const callback = (result: ObservableResult): void => report(result, read());
  instrument.addCallback(callback);
  return () => instrument.removeCallback(callback);
}

export interface LagObservation {
  lag: number;
  attributes: Attributes;
}

function reportLag(result: ObservableResult, observations: Iterable<LagObservation>): void {
  for (const { lag, attributes } of observations) result.observe(lag, attributes);
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
  queueDepth: ObservableGauge;
  modelLoadDuration: Histogram;
  /**
   * Reports `read()` on every collection; returns the function that stops it (call it on
   * close so a closed processor does not keep reporting).
   */
  observeLag(read: () => Iterable<LagObservation>): () => void;
  /** Reports the records `read()` says are held, with `attributes`; returns the stop function. */
  observeQueueDepth(read: () => number, attributes: Attributes): () => void;
}

export function createProcessorInstruments(meter: Meter = medstreamMeter()): ProcessorInstruments {
  const d = ProcessorMetricDefinitions;
  const consumerLag = gauge(meter, d.consumerLag);
  const queueDepth = gauge(meter, d.queueDepth);
  return {
    articles: counter(meter, d.articles),
    tombstones: counter(meter, d.tombstones),
    tokens: counter(meter, d.tokens),
    characters: counter(meter, d.characters),
    batchSize: histogram(meter, d.batchSize),
    batchDuration: histogram(meter, d.batchDuration),
    deadLetters: counter(meter, d.deadLetters),
    aborts: counter(meter, d.aborts),
    consumerLag,
    queueDepth,
    modelLoadDuration: histogram(meter, d.modelLoadDuration),
    observeLag: (read) => observeWith(consumerLag, read, reportLag),
    observeQueueDepth: (read, attributes) =>
      observeWith(queueDepth, read, (result, depth) => result.observe(depth, attributes)),
  };
}

export interface ProducerInstruments {
  articles: Counter;
  deadLetters: Counter;
  deletes: Counter;
  units: Counter;
}

export function createProducerInstruments(meter: Meter = medstreamMeter()): ProducerInstruments {
  const d = ProducerMetricDefinitions;
  return {
    articles: counter(meter, d.articles),
    deadLetters: counter(meter, d.deadLetters),
    deletes: counter(meter, d.deletes),
    units: counter(meter, d.units),
  };
}

export interface SinkInstruments {
  /** Attributes: {@link AttributeKeys.sink}, {@link AttributeKeys.outcome}. */
  records: Counter;
  /** Attributes: {@link AttributeKeys.sink}, {@link AttributeKeys.errorCode}. */
  retries: Counter;
  batchDuration: Histogram;
  batchSize: Histogram;
  consumerLag: ObservableGauge;
  /** As {@link ProcessorInstruments.observeLag}; attributes should name the partition. */
  observeLag(read: () => Iterable<LagObservation>): () => void;
}

export function createSinkInstruments(meter: Meter = medstreamMeter()): SinkInstruments {
  const d = SinkMetricDefinitions;
  const consumerLag = gauge(meter, d.consumerLag);
  return {
    records: counter(meter, d.records),
    retries: counter(meter, d.retries),
    batchDuration: histogram(meter, d.batchDuration),
    batchSize: histogram(meter, d.batchSize),
    consumerLag,
    observeLag: (read) => observeWith(consumerLag, read, reportLag),
  };
}
