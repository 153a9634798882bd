import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Meter, ObservableCallback, ObservableResult } from '@opentelemetry/api';
import { formatSummary, runProcess } from '../../src/cli/commands/process.js';
import { loadConfig } from '../../src/config/config.js';
import { isMedStreamError } from '../../src/errors.js';
import { transactionalIdFor } from '../../src/processors/kafka-processor.js';
import { ProcessorMetrics, createProcessorInstruments } from '../../src/telemetry/instruments.js';
import { KeywordAnnotator } from './keyword-annotator.js';

test('transactional ids are stable per (group, input topic, partition)', () => {
  assert.equal(
    transactionalIdFor('medstream-processor', 'pubmed.articles', 3),
    'medstream-processor/pubmed.articles/3',
  );
  assert.notEqual(
    transactionalIdFor('g', 'pubmed.articles', 1),
    transactionalIdFor('g', 'pubmed.articles', 2),
  );
});

/** Just enough of a Meter to see which instruments are created and what they record. */
function recordingMeter() {
  const created: string[] = [];
  const recorded: [string, number, Record<string, unknown> | undefined][] = [];
  const callbacks = new Set<ObservableCallback>();
  const instrument = (name: string) => {
    created.push(name);
    const record = (value: number, attributes?: Record<string, unknown>) =>
      recorded.push([name, value, attributes]);
    return { add: record, record };
  };
  const meter = {
    createCounter: instrument,
    createHistogram: instrument,
    createObservableGauge: (name: string) => {
      created.push(name);
      return {
        addCallback: (cb: ObservableCallback) => callbacks.add(cb),
        removeCallback: (cb: ObservableCallback) => callbacks.delete(cb),
      };
    },
  } as unknown as Meter;
  return { meter, created, recorded, callbacks };
}

test('processor instruments use the medstream names; the lag gauge reports and can be removed', async () => {
  const { meter, created, callbacks } = recordingMeter();
  const instruments = createProcessorInstruments(meter);
  assert.deepEqual(new Set(created), new Set(Object.values(ProcessorMetrics)));

  const stop = instruments.observeLag(() => [
    { lag: 7, attributes: { 'messaging.destination.partition.id': '0' } },
  ]);
  assert.equal(callbacks.size, 1);
  const observed: [number, unknown][] = [];
  const result = {
    observe: (value: number, attributes: unknown) => observed.push([value, attributes]),
  } as unknown as ObservableResult;
  for (const cb of callbacks) await cb(result);
  assert.deepEqual(observed, [[7, { 'messaging.destination.partition.id': '0' }]]);
  stop();
  assert.equal(callbacks.size, 0);
});

test('the queue-depth gauge reports what is held, with its attributes, until stopped', async () => {
  const { meter, callbacks } = recordingMeter();
  const instruments = createProcessorInstruments(meter);
  let held = 40;
  const stop = instruments.observeQueueDepth(() => held, { 'messaging.destination.name': 'a' });
  const observed: [number, unknown][] = [];
  const result = {
    observe: (value: number, attributes: unknown) => observed.push([value, attributes]),
  } as unknown as ObservableResult;
  for (const cb of callbacks) await cb(result);
  held = 0;
  for (const cb of callbacks) await cb(result);
  assert.deepEqual(observed, [
    [40, { 'messaging.destination.name': 'a' }],
    [0, { 'messaging.destination.name': 'a' }],
  ]);
  stop();
  assert.equal(callbacks.size, 0);
});

test('medstream process without KAFKA_BROKERS is a configuration error, before any model loads', async () => {
  let loaded = false;
  await assert.rejects(
    runProcess(
      {},
      {
        config: loadConfig({}),
        annotatorFactory: () => {
          loaded = true;
          return Promise.resolve(new KeywordAnnotator());
        },
        log: () => undefined,
      },
    ),
    (error: unknown) => isMedStreamError(error) && error.code === 'CONFIG_INVALID',
  );
  assert.equal(loaded, false);
});

test('the shutdown summary names counts, dead-letter codes and the stop reason', () => {
  const line = formatSummary({
    groupId: 'g',
    instanceId: 'i',
    input: 'pubmed.articles',
    output: 'pubmed.entities',
    model: 'm 1',
    reason: 'signal',
    seconds: 2.5,
    stats: {
      batches: 3,
      articles: 10,
      tombstones: 2,
      deadLetters: 3,
      deadLetterCodes: { AVRO_DECODE: 2, RECORD_TOO_LARGE: 1 },
      characters: 1000,
      tokens: 0,
      aborts: 1,
      skipped: 0,
    },
  });
  assert.match(
    line,
    /10 articles, 2 tombstones, 3 dead letters \(AVRO_DECODE 2, RECORD_TOO_LARGE 1\) in 3 transactions; 1 aborted/,
  );
  assert.match(line, /2\.5 s, model m 1\n$/);
});
