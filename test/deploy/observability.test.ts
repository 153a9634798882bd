import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { DEPLOY_DIR, filesUnder, loadCompose, repoRelative } from './deploy-manifests.js';

/** The collector, Prometheus and Grafana provisioning files: parse, and agree with each other. */

interface CollectorConfig {
  extensions?: Record<string, unknown>;
  receivers: Record<string, { protocols?: Record<string, { endpoint: string }> }>;
  processors: Record<string, unknown>;
  exporters: Record<string, { endpoint?: string; namespace?: string }>;
  service: {
    extensions?: string[];
    pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>;
    telemetry?: {
      metrics?: { readers?: { pull?: { exporter?: { prometheus?: { port: number } } } }[] };
    };
  };
}

const collector = parse(
  readFileSync(join(DEPLOY_DIR, 'otel-collector/config.yaml'), 'utf8'),
) as CollectorConfig;

function port(endpoint: string): number {
  return Number(endpoint.split(':').at(-1));
}

test('every YAML file under deploy/ (outside the local service harness) parses', () => {
  const files = filesUnder(DEPLOY_DIR, ['.yaml', '.yml']).filter(
    (f) => !repoRelative(f).startsWith('deploy/local/'),
  );
  assert.ok(files.length >= 10);
  for (const file of files) {
    const documents = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
    for (const document of documents) {
      assert.deepEqual(document.errors, [], repoRelative(file));
      assert.deepEqual(document.warnings, [], repoRelative(file));
    }
    assert.ok(documents.length > 0, repoRelative(file));
  }
});

test('collector pipelines use defined components; memory_limiter comes first', () => {
  for (const [name, pipeline] of Object.entries(collector.service.pipelines)) {
    for (const r of pipeline.receivers) assert.ok(collector.receivers[r], `${name}: receiver ${r}`);
    for (const p of pipeline.processors)
      assert.ok(collector.processors[p], `${name}: processor ${p}`);
    for (const e of pipeline.exporters) assert.ok(collector.exporters[e], `${name}: exporter ${e}`);
    assert.equal(pipeline.processors[0], 'memory_limiter', `${name}: memory_limiter first`);
    assert.ok(pipeline.processors.includes('batch'), `${name}: batch`);
  }
  for (const e of collector.service.extensions ?? []) assert.ok(collector.extensions?.[e]);
  assert.ok(collector.service.pipelines.traces.receivers.includes('otlp'));
  assert.ok(collector.service.pipelines.metrics.exporters.includes('prometheus'));
});

test('OTLP-received metrics keep their own namespace, apart from the direct scrape', () => {
  // The same measurements also reach Prometheus from each process's /metrics; a namespace
  // keeps sums over medstream_* series from counting them twice.
  assert.ok((collector.exporters.prometheus.namespace ?? '') !== '');
});

test('Prometheus scrapes the collector where it serves metrics, and compose exposes it', () => {
  const prometheus = parse(readFileSync(join(DEPLOY_DIR, 'prometheus/prometheus.yml'), 'utf8')) as {
    scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[];
  };
  const targets = prometheus.scrape_configs
    .find((j) => j.job_name === 'otel-collector')
    ?.static_configs?.flatMap((s) => s.targets)
    .map((t) => Number(t.split(':')[1]))
    .sort();
  const served = [
    port(collector.exporters.prometheus.endpoint ?? ''),
    collector.service.telemetry?.metrics?.readers?.[0]?.pull?.exporter?.prometheus?.port ?? NaN,
  ].sort();
  assert.deepEqual(targets, served);
  const exposed = (loadCompose().services['otel-collector'].expose ?? []).map(Number);
  for (const p of [...served, port(collector.receivers.otlp.protocols?.http.endpoint ?? '')]) {
    assert.ok(exposed.includes(p), `compose exposes collector port ${p}`);
  }
});

test('Grafana datasource provisioning points at the compose Prometheus', () => {
  const datasources = parse(
    readFileSync(join(DEPLOY_DIR, 'grafana/provisioning/datasources/prometheus.yaml'), 'utf8'),
  ) as { datasources: { type: string; url: string }[] };
  const [prometheus] = datasources.datasources;
  assert.equal(prometheus.type, 'prometheus');
  const url = new URL(prometheus.url);
  assert.ok(loadCompose().services[url.hostname] !== undefined, `${url.hostname} is a service`);
});
