import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { MedStreamError } from '../../src/errors.js';

test('defaults: in-process transport, data root resolved, result frozen', () => {
  const config = loadConfig({});
  assert.equal(config.KAFKA_BROKERS, undefined);
  assert.ok(config.dataRoot.endsWith('/shared/data'));
  assert.ok(Object.isFrozen(config));
});

test('KAFKA_BROKERS is split on commas and trimmed', () => {
  const config = loadConfig({ KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093' });
  assert.deepEqual(config.KAFKA_BROKERS, ['127.0.0.1:9092', '127.0.0.1:9093']);
});

test('invalid values fail with CONFIG_INVALID naming the variable', () => {
  assert.throws(
    () => loadConfig({ OPENSEARCH_URL: 'not a url' }),
    (error: unknown) =>
      error instanceof MedStreamError &&
      error.code === 'CONFIG_INVALID' &&
      error.message.includes('OPENSEARCH_URL'),
  );
});

test('telemetry defaults: ops server on 9464, no OTLP export, service name left to the command', () => {
  const config = loadConfig({});
  assert.equal(config.MEDSTREAM_OPS_PORT, 9464);
  assert.equal(config.MEDSTREAM_OPS_HOST, undefined);
  assert.equal(config.OTEL_EXPORTER_OTLP_ENDPOINT, undefined);
  assert.equal(config.OTEL_SERVICE_NAME, undefined);
  assert.equal(config.MEDSTREAM_METRICS_EXPORT_INTERVAL_MS, 60_000);
});

test('telemetry variables are parsed: port 0 (no ops server), host, endpoint, service name, interval', () => {
  const config = loadConfig({
    MEDSTREAM_OPS_PORT: '0',
    MEDSTREAM_OPS_HOST: '127.0.0.1',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318/',
    OTEL_SERVICE_NAME: ' medstream-processor-eu ',
    MEDSTREAM_METRICS_EXPORT_INTERVAL_MS: '15000',
  });
  assert.equal(config.MEDSTREAM_OPS_PORT, 0);
  assert.equal(config.MEDSTREAM_OPS_HOST, '127.0.0.1');
  assert.equal(config.OTEL_EXPORTER_OTLP_ENDPOINT, 'https://collector.example:4318/');
  assert.equal(config.OTEL_SERVICE_NAME, 'medstream-processor-eu');
  assert.equal(config.MEDSTREAM_METRICS_EXPORT_INTERVAL_MS, 15_000);
});

test('invalid telemetry values fail with CONFIG_INVALID naming the variable', () => {
  const cases: [string, string][] = [
    ['MEDSTREAM_OPS_PORT', '65536'],
    ['MEDSTREAM_OPS_PORT', '-1'],
    ['MEDSTREAM_OPS_PORT', '94.64'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://127.0.0.1:4317'],
    ['OTEL_SERVICE_NAME', '  '],
    ['MEDSTREAM_METRICS_EXPORT_INTERVAL_MS', '10'],
  ];
  for (const [name, value] of cases) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error: unknown) =>
        error instanceof MedStreamError &&
        error.code === 'CONFIG_INVALID' &&
        error.message.includes(name),
      `${name}=${value}`,
    );
  }
});
