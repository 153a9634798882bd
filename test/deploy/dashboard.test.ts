import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import ts from 'typescript';
import type { EmittedMetrics } from './emitted-metrics.js';
import { emittedMetrics } from './emitted-metrics.js';
import { DEPLOY_DIR, filesUnder } from './deploy-manifests.js';
import { grafanaVariableExpression, promqlLabelNames, promqlMetricNames } from './promql.js';

/**
 * The Grafana dashboard against the code: every series a query reads must be one the product
 * emits (derived from the instruments in src/ through the product's own Prometheus exporter),
 * and every label it groups or filters by must be a target label or an attribute key the code
 * uses. A panel reading a misspelt, renamed or never-emitted metric would otherwise stay empty.
 */

interface Target {
  expr?: string;
  datasource?: { uid?: string; type?: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { uid?: string; type?: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query?: string } }[] };
}

const DASHBOARD_FILES = filesUnder(join(DEPLOY_DIR, 'grafana/dashboards'), ['.json']);

/** Labels Prometheus adds (job, instance), the scrape configs add, and histograms carry. */
const TARGET_LABELS = new Set(['job', 'instance', 'service', 'pod', 'namespace', 'le']);
/** Series Prometheus itself writes for every target. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

function queries(dashboard: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    for (const target of panel.targets ?? []) {
      if (target.expr !== undefined)
        out.push({ where: `panel "${panel.title}"`, expr: target.expr });
    }
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    const expr = query === undefined ? undefined : grafanaVariableExpression(query);
    if (expr !== undefined) out.push({ where: `variable $${variable.name}`, expr });
  }
  return out;
}

/** Attribute keys the code sets: `medstream.*` / `messaging.*` string literals in src/. */
function codeAttributeLabels(): Set<string> {
  const labels = new Set<string>();
  for (const path of filesUnder(join(DEPLOY_DIR, '../src'), ['.ts'])) {
    const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022);
    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteral(node) && /^(medstream|messaging)\.[a-z0-9_.]+$/.test(node.text)) {
        labels.add(node.text.replace(/[^a-zA-Z0-9_]/g, '_'));
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return labels;
}

/** Names a query reads that the product does not emit. */
function unknownSeries(expr: string, emitted: ReadonlySet<string>): string[] {
  return promqlMetricNames(expr).filter((n) => !emitted.has(n) && !PROMETHEUS_SERIES.has(n));
}

let emitted: EmittedMetrics;

before(async () => {
  emitted = await emittedMetrics();
});

test('the instruments in src/ are all found, and /metrics carries their series', () => {
  assert.deepEqual(
    emitted.inventory.unresolved,
    [],
    'create* calls whose metric name is neither a literal nor a *Metrics table entry',
  );
  assert.ok(emitted.inventory.instruments.length >= 10);
  // Exporter naming, as served: counters get _total, histograms _bucket/_sum/_count, no units.
  assert.ok(emitted.series.has('medstream_processor_articles_total'));
  assert.ok(emitted.series.has('medstream_processor_batch_duration_bucket'));
  assert.ok(emitted.series.has('medstream_processor_consumer_lag'));
  assert.ok(!emitted.series.has('medstream_processor_batch_duration_seconds_bucket'));
});

test('the checker rejects series the code does not emit', () => {
  assert.deepEqual(
    unknownSeries(
      'histogram_quantile(0.95, sum by (le) (rate(medstream_processor_batch_duration_seconds_bucket[5m])))',
      emitted.series,
    ),
    ['medstream_processor_batch_duration_seconds_bucket'],
  );
  assert.deepEqual(unknownSeries('sum(rate(medstream_processor_articles[5m]))', emitted.series), [
    'medstream_processor_articles',
  ]);
  assert.deepEqual(unknownSeries('sum(up{service!=""})', emitted.series), []);
});

for (const file of DASHBOARD_FILES) {
  const dashboard = JSON.parse(readFileSync(file, 'utf8')) as Dashboard;

  test(`${dashboard.title}: recent schema, one datasource variable used by every query`, () => {
    assert.ok(dashboard.schemaVersion >= 39, `schemaVersion ${dashboard.schemaVersion}`);
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    assert.ok(variable !== undefined, 'a datasource variable');
    assert.equal(variable.query, 'prometheus');
    const ref = `\${${variable.name}}`;
    const panels = allPanels(dashboard.panels).filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 10);
    const ids = new Set<number>();
    for (const panel of allPanels(dashboard.panels)) {
      assert.ok(!ids.has(panel.id), `panel id ${panel.id} is unique`);
      ids.add(panel.id);
      assert.ok(panel.gridPos !== undefined, `${panel.title}: gridPos`);
    }
    for (const panel of panels) {
      assert.equal(panel.datasource?.uid, ref, `${panel.title}: datasource`);
      assert.ok((panel.description ?? '').length > 0, `${panel.title}: description`);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title}: queries`);
      for (const target of panel.targets ?? []) assert.equal(target.datasource?.uid, ref);
    }
  });

  test(`${dashboard.title}: every query reads series the code emits`, () => {
    const problems = queries(dashboard).flatMap(({ where, expr }) =>
      unknownSeries(expr, emitted.series).map((name) => `${where}: ${name}`),
    );
    const known = [...emitted.series].filter((s) => s.startsWith('medstream_')).sort();
    assert.deepEqual(
      problems,
      [],
      `not emitted by the code; emitted are:\n  ${known.join('\n  ')}`,
    );
  });

  test(`${dashboard.title}: labels are target labels or attributes the code sets`, () => {
    const attributes = codeAttributeLabels();
    const problems = queries(dashboard).flatMap(({ where, expr }) =>
      promqlLabelNames(expr)
        .filter((l) => !TARGET_LABELS.has(l) && !attributes.has(l))
        .map((l) => `${where}: ${l}`),
    );
    assert.deepEqual(problems, []);
  });

  test(`${dashboard.title}: throughput, latency quantiles, lag and dead letters are covered`, () => {
    const all = queries(dashboard)
      .map((q) => q.expr)
      .join('\n');
    for (const needed of [
      /rate\(medstream_producer_articles_total/,
      /rate\(medstream_processor_articles_total/,
      /rate\(medstream_sink_records_total/,
      /rate\(medstream_processor_tokens_total/,
      /histogram_quantile\(0\.5,.*medstream_processor_batch_duration_bucket/,
      /histogram_quantile\(0\.95,.*medstream_processor_batch_duration_bucket/,
      /histogram_quantile\(0\.99,.*medstream_processor_batch_duration_bucket/,
      /medstream_processor_consumer_lag/,
      /medstream_sink_consumer_lag/,
      /rate\(medstream_processor_dlq_total/,
      /rate\(medstream_sink_retries_total/,
    ]) {
      assert.match(all, needed);
    }
  });
}
