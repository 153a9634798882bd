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
