import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grafanaVariableExpression, promqlLabelNames, promqlMetricNames } from './promql.js';

test('metric names: functions, groupings, matchers, ranges and numbers are not metrics', () => {
  assert.deepEqual(
    promqlMetricNames(
      'histogram_quantile(0.99, sum by (le, medstream_sink) (rate(a_bucket{x="y"}[$__rate_interval])))',
    ),
    ['a_bucket'],
  );
  assert.deepEqual(
    promqlMetricNames('sum(rate(a_sum[5m])) / sum(rate(a_count[5m])) > 1e3 and on (instance) b'),
    ['a_sum', 'a_count', 'b'],
  );
  assert.deepEqual(promqlMetricNames('sum(a offset 1h) without (pod)'), ['a']);
  assert.deepEqual(promqlMetricNames('label_replace(up, "dst", "$1", "src", "(.*)")'), ['up']);
  assert.deepEqual(promqlMetricNames('max by (instance) (a / b)'), ['a', 'b']);
});

test('label names: matchers and groupings', () => {
  assert.deepEqual(
    promqlLabelNames(
      'sum by (medstream_sink, le) (rate(x{medstream_outcome="rejected", job=~"m.*"}[5m]))',
    ).sort(),
    ['job', 'le', 'medstream_outcome', 'medstream_sink'],
  );
  assert.deepEqual(promqlLabelNames('sum(rate(x{a="{b=1}"}[5m]))'), ['a']);
});

test('Grafana variable queries', () => {
  assert.equal(grafanaVariableExpression('label_values(m{a="b"}, group)'), 'm{a="b"}');
  assert.equal(grafanaVariableExpression('label_values(group)'), undefined);
  assert.equal(grafanaVariableExpression('query_result(sum(m))'), 'sum(m)');
});
