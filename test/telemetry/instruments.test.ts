import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Meter } from '@opentelemetry/api';
import type { MetricDefinition, MetricKind } from '../../src/telemetry/instruments.js';
import {
  ALL_METRICS,
  AttributeKeys,
  ProcessorMetrics,
  ProducerMetrics,
  SinkMetrics,
  createProcessorInstruments,
  createProducerInstruments,
  createSinkInstruments,
  prometheusNames,
} from '../../src/telemetry/instruments.js';
import { startTelemetry } from '../../src/telemetry/sdk.js';

/** A Meter that records what each factory creates: name, kind (by method) and unit. */
function describingMeter(): { meter: Meter; created: Omit<MetricDefinition, 'description'>[] } {
  const created: Omit<MetricDefinition, 'description'>[] = [];
  const make =
    (kind: MetricKind) =>
    (name: string, options?: { unit?: string }): unknown => {
      created.push({ name, kind, unit: options?.unit ?? '' });
      return {
        add: () => undefined,
        record: () => undefined,
        addCallback: () => undefined,
        removeCallback: () => undefined,
      };
    };
  const meter = {
    createCounter: make('counter'),
    createHistogram: make('histogram'),
    createObservableGauge: make('gauge'),
    createUpDownCounter: make('updown'),
    createGauge: make('gauge'),
    createObservableCounter: make('counter'),
    createObservableUpDownCounter: make('updown'),
  } as unknown as Meter;
  return { meter, created };
}

const key = (d: Pick<MetricDefinition, 'name' | 'kind' | 'unit'>): string =>
  `${d.name} ${d.kind} ${d.unit}`;

test('ALL_METRICS lists exactly what the factories create, with the same kind and unit', () => {
  const { meter, created } = describingMeter();
  createProcessorInstruments(meter);
  createProducerInstruments(meter);
  createSinkInstruments(meter);
  assert.deepEqual(new Set(ALL_METRICS.map(key)), new Set(created.map(key)));
  assert.equal(created.length, ALL_METRICS.length, 'no instrument created twice');
  assert.equal(new Set(ALL_METRICS.map((d) => d.name)).size, ALL_METRICS.length, 'unique names');
  const tables = [ProcessorMetrics, ProducerMetrics, SinkMetrics].flatMap((t) => Object.values(t));
  assert.deepEqual(new Set(ALL_METRICS.map((d) => d.name)), new Set<string>(tables));
  for (const d of ALL_METRICS) {
    assert.match(d.name, /^medstream\.[a-z]+\.[a-z_.]+$/, d.name);
    assert.ok(d.description.length > 0, `${d.name} has a description`);
    if (d.kind === 'histogram') assert.ok(d.buckets !== undefined, `${d.name} has buckets`);
  }
});

test('the requested names: queue depth, model load time, producer and sink tables', () => {
  const byName = new Map(ALL_METRICS.map((d) => [d.name, d]));
  const expect = (name: string, kind: MetricKind, unit?: string): void => {
    const d = byName.get(name);
    assert.ok(d !== undefined, `${name} is defined`);
    assert.equal(d.kind, kind, name);
    if (unit !== undefined) assert.equal(d.unit, unit, name);
  };
  expect('medstream.processor.queue.depth', 'gauge');
  expect('medstream.processor.model.load.duration', 'histogram', 's');
  expect('medstream.producer.articles', 'counter');
  expect('medstream.producer.dead_letters', 'counter');
  expect('medstream.producer.deletes', 'counter');
  expect('medstream.sink.records', 'counter');
  expect('medstream.sink.retries', 'counter');
  expect('medstream.sink.batch.duration', 'histogram', 's');
  expect('medstream.sink.batch.size', 'histogram');
  expect('medstream.sink.consumer.lag', 'gauge');
});

test('prometheusNames matches what /metrics exposes for every instrument', async () => {
  const telemetry = await startTelemetry({
    serviceName: 'medstream-test',
    serviceVersion: '0',
    instanceId: 'i',
    opsPort: 0,
    opsHost: '127.0.0.1',
    log: () => undefined,
  });
  try {
    const processor = createProcessorInstruments();
    const producer = createProducerInstruments();
    const sink = createSinkInstruments();
    for (const instruments of [processor, producer, sink]) {
      for (const value of Object.values(instruments)) {
        const instrument = value as { add?: unknown; record?: unknown };
        if (typeof instrument.add === 'function') (instrument.add as (n: number) => void)(1);
        if (typeof instrument.record === 'function') (instrument.record as (n: number) => void)(1);
      }
    }
    const stops = [
      processor.observeLag(() => [{ lag: 4, attributes: { [AttributeKeys.partition]: '0' } }]),
      processor.observeQueueDepth(() => 12, { [AttributeKeys.destination]: 'pubmed.articles' }),
      sink.observeLag(() => [{ lag: 9, attributes: { [AttributeKeys.partition]: '2' } }]),
    ];
    sink.records.add(5, { [AttributeKeys.sink]: 'opensearch', [AttributeKeys.outcome]: 'written' });

    const body = await (await fetch(`${telemetry.opsUrl}/metrics`)).text();
    const prometheusType = {
      counter: 'counter',
      histogram: 'histogram',
      gauge: 'gauge',
      updown: 'gauge',
    };
    for (const d of ALL_METRICS) {
      const { family, series } = prometheusNames(d);
      assert.ok(
        body.includes(`# TYPE ${family} ${prometheusType[d.kind]}\n`),
        `# TYPE ${family} ${prometheusType[d.kind]} in:\n${body}`,
      );
      for (const name of series) {
        assert.match(body, new RegExp(`^${name}[{ ]`, 'm'), `${name} (${d.name})`);
      }
    }
    assert.match(
      body,
      /^medstream_sink_records_total\{medstream_sink="opensearch",medstream_outcome="written"\} 5$/m,
    );
    assert.match(
      body,
      /^medstream_processor_queue_depth\{messaging_destination_name="pubmed\.articles"\} 12$/m,
    );
    assert.match(
      body,
      /^medstream_sink_consumer_lag\{messaging_destination_partition_id="2"\} 9$/m,
    );

    for (const stop of stops) stop();
  } finally {
    await telemetry.shutdown();
  }
});

test('prometheusNames: dots become underscores, counters get _total, histograms three series', () => {
  assert.deepEqual(prometheusNames({ name: 'medstream.producer.dead_letters', kind: 'counter' }), {
    family: 'medstream_producer_dead_letters_total',
    series: ['medstream_producer_dead_letters_total'],
  });
  assert.deepEqual(prometheusNames({ name: 'medstream.sink.batch.duration', kind: 'histogram' }), {
    family: 'medstream_sink_batch_duration',
    series: [
      'medstream_sink_batch_duration_bucket',
      'medstream_sink_batch_duration_sum',
      'medstream_sink_batch_duration_count',
    ],
  });
  assert.deepEqual(prometheusNames({ name: 'medstream.sink.consumer.lag', kind: 'gauge' }), {
    family: 'medstream_sink_consumer_lag',
    series: ['medstream_sink_consumer_lag'],
  });
});
