import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { context, metrics, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../src/config/config.js';
import { isMedStreamError } from '../../src/errors.js';
import { medstreamMeter, medstreamTracer } from '../../src/telemetry/instruments.js';
import { injectTraceContext } from '../../src/telemetry/kafka-context.js';
import type { Telemetry, TelemetryOptions } from '../../src/telemetry/sdk.js';
import {
  startTelemetry,
  telemetryOptionsFromConfig,
  withTelemetry,
} from '../../src/telemetry/sdk.js';

function options(overrides: Partial<TelemetryOptions> = {}): TelemetryOptions {
  return {
    serviceName: 'medstream-test',
    serviceVersion: '0.0.0-test',
    instanceId: 'test-1',
    opsPort: 0,
    opsHost: '127.0.0.1',
    log: () => undefined,
    ...overrides,
  };
}

async function get(telemetry: Telemetry, path: string, method = 'GET') {
  assert.ok(telemetry.opsUrl !== undefined, 'an ops server');
  const response = await fetch(`${telemetry.opsUrl}${path}`, { method });
  return { status: response.status, body: await response.text() };
}

test('one port serves /metrics (Prometheus text with our counter), /healthz and /readyz', async () => {
  const lines: string[] = [];
  const telemetry = await startTelemetry(options({ log: (line) => lines.push(line) }));
  try {
    assert.match(telemetry.opsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(
      lines.some((l) => l.includes(`ops server on ${telemetry.opsUrl}`)),
      'the ops address is logged',
    );
    const counter = medstreamMeter().createCounter('medstream.test.things', { unit: '{thing}' });
    counter.add(3, { kind: 'a' });
    counter.add(4, { kind: 'a' });

    const scrape = await get(telemetry, '/metrics');
    assert.equal(scrape.status, 200);
    assert.match(scrape.body, /^# TYPE medstream_test_things_total counter$/m);
    assert.match(scrape.body, /^medstream_test_things_total\{kind="a"\} 7$/m);
    assert.match(
      scrape.body,
      /^target_info\{service_name="medstream-test",service_version="0\.0\.0-test",service_instance_id="test-1"\} 1$/m,
    );

    assert.deepEqual(await get(telemetry, '/healthz'), { status: 200, body: 'ok\n' });
    assert.equal((await get(telemetry, '/healthz?probe=1', 'HEAD')).status, 200);
    assert.equal((await get(telemetry, '/nothing-here')).status, 404);
    assert.equal((await get(telemetry, '/metrics', 'POST')).status, 405);
  } finally {
    await telemetry.shutdown();
  }
});

test('/readyz: 503 until ready, 200 when ready, 503 again while not, and for good once shutdown began', async () => {
  const telemetry = await startTelemetry(options());
  try {
    assert.deepEqual(await get(telemetry, '/readyz'), {
      status: 503,
      body: 'not ready: starting\n',
    });
    telemetry.setReady(true);
    assert.deepEqual(await get(telemetry, '/readyz'), { status: 200, body: 'ready\n' });
    telemetry.setReady(false, 'consumer restarting');
    assert.deepEqual(await get(telemetry, '/readyz'), {
      status: 503,
      body: 'not ready: consumer restarting\n',
    });
    telemetry.setReady(true);
    telemetry.beginShutdown();
    telemetry.setReady(true);
    assert.deepEqual(await get(telemetry, '/readyz'), {
      status: 503,
      body: 'not ready: shutting down\n',
    });
    // Liveness is not readiness: the process still answers while it drains.
    assert.equal((await get(telemetry, '/healthz')).status, 200);
  } finally {
    await telemetry.shutdown();
  }
  await assert.rejects(fetch(`${telemetry.opsUrl}/healthz`), 'the ops server is closed');
});

test('shutdown unregisters the SDK: instruments go no-op and telemetry can start again', async () => {
  const first = await startTelemetry(options({ opsPort: undefined }));
  assert.equal(first.opsUrl, undefined, 'no ops port, no server');
  await assert.rejects(startTelemetry(options()), (error: unknown) => isMedStreamError(error));
  await first.shutdown();
  await first.shutdown();

  const memory = new InMemorySpanExporter();
  const second = await startTelemetry(
    options({ spanProcessors: [new SimpleSpanProcessor(memory)] }),
  );
  try {
    medstreamMeter().createCounter('medstream.test.second').add(1);
    assert.match((await get(second, '/metrics')).body, /^medstream_test_second_total 1$/m);
    assert.equal(medstreamTracer().startSpan('during').isRecording(), true);
  } finally {
    await second.shutdown();
  }
  // After shutdown the API is back to its no-op providers.
  assert.equal(medstreamTracer().startSpan('after').isRecording(), false);
  assert.notEqual(metrics.getMeterProvider().constructor.name, 'MeterProvider');
});

test('a port in use is a CONFIG_INVALID error naming MEDSTREAM_OPS_PORT, and leaves nothing registered', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as AddressInfo;
  try {
    await assert.rejects(
      startTelemetry(options({ opsPort: port })),
      (error: unknown) =>
        isMedStreamError(error) &&
        error.code === 'CONFIG_INVALID' &&
        error.message.includes('MEDSTREAM_OPS_PORT') &&
        error.message.includes(String(port)),
    );
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
  // Nothing was left half-started: a new start succeeds.
  const telemetry = await startTelemetry(options());
  await telemetry.shutdown();
});

test('spans reach the configured span processors, and shutdown flushes them', async () => {
  const memory = new InMemorySpanExporter();
  const telemetry = await startTelemetry(
    options({ opsPort: undefined, spanProcessors: [new SimpleSpanProcessor(memory)] }),
  );
  let finished: ReturnType<InMemorySpanExporter['getFinishedSpans']> = [];
  try {
    await medstreamTracer().startActiveSpan('outer', async (outer) => {
      // Async context survives awaits: the inner span is the outer's child.
      await new Promise((resolve) => setTimeout(resolve, 5));
      medstreamTracer().startSpan('inner').end();
      outer.end();
    });
    await telemetry.forceFlush();
    finished = memory.getFinishedSpans();
  } finally {
    await telemetry.shutdown();
  }
  // Read before shutdown: shutting the exporter down clears it.
  const spans = finished;
  const outer = spans.find((s) => s.name === 'outer');
  const inner = spans.find((s) => s.name === 'inner');
  assert.ok(outer !== undefined && inner !== undefined, spans.map((s) => s.name).join(', '));
  assert.equal(inner.parentSpanContext?.spanId, outer.spanContext().spanId);
  assert.equal(outer.resource.attributes['service.name'], 'medstream-test');
});

test('shutdown is bounded: an exporter that never finishes does not hold it past the timeout', async () => {
  const stuck: SpanProcessor = {
    onStart: () => undefined,
    onEnd: () => undefined,
    forceFlush: () => Promise.resolve(),
    shutdown: () => new Promise<void>(() => undefined),
  };
  const lines: string[] = [];
  const telemetry = await startTelemetry(
    options({ spanProcessors: [stuck], shutdownTimeoutMs: 200, log: (l) => lines.push(l) }),
  );
  const started = performance.now();
  await telemetry.shutdown();
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 190 && elapsed < 2000, `shutdown took ${elapsed.toFixed(0)} ms`);
  assert.ok(
    lines.some((l) => l.includes('took longer than 200 ms')),
    lines.join('\n'),
  );
  await assert.rejects(fetch(`${telemetry.opsUrl}/healthz`), 'the ops server is closed anyway');
});

test('with an OTLP endpoint, traces and metrics are posted to <endpoint>/v1/traces and /v1/metrics', async () => {
  const received: { path: string; body: string }[] = [];
  const collector = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as AddressInfo;
  try {
    const telemetry = await startTelemetry(
      options({ opsPort: undefined, otlpEndpoint: `http://127.0.0.1:${port}/` }),
    );
    try {
      medstreamTracer().startSpan('medstream.test.exported').end();
      medstreamMeter().createCounter('medstream.test.exported').add(5);
    } finally {
      await telemetry.shutdown();
    }
  } finally {
    collector.closeAllConnections();
    await new Promise((resolve) => collector.close(resolve));
  }
  const traces = received.filter((r) => r.path === '/v1/traces');
  const metricsPosts = received.filter((r) => r.path === '/v1/metrics');
  assert.ok(
    traces.some((r) => r.body.includes('medstream.test.exported')),
    'span exported',
  );
  assert.ok(
    metricsPosts.some((r) => r.body.includes('medstream.test.exported')),
    'metric exported',
  );
  assert.ok(
    traces.every((r) => r.body.includes('medstream-test')),
    'service.name on the resource',
  );
});

test('options from the configuration: port 0 means no ops server; the service is named after the command', () => {
  const defaults = telemetryOptionsFromConfig('process', loadConfig({}), { instanceId: 'i' });
  assert.equal(defaults.serviceName, 'medstream-process');
  assert.equal(defaults.opsPort, 9464);
  assert.equal(defaults.otlpEndpoint, undefined);
  assert.equal(defaults.instanceId, 'i');

  const configured = telemetryOptionsFromConfig(
    'sink',
    loadConfig({
      MEDSTREAM_OPS_PORT: '0',
      OTEL_SERVICE_NAME: 'graph-loader',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      MEDSTREAM_METRICS_EXPORT_INTERVAL_MS: '5000',
    }),
  );
  assert.equal(configured.serviceName, 'graph-loader');
  assert.equal(configured.opsPort, undefined);
  assert.equal(configured.otlpEndpoint, 'http://127.0.0.1:4318');
  assert.equal(configured.metricsExportIntervalMs, 5000);
  assert.match(configured.instanceId, /-\d+$/);
});

test('withTelemetry shuts telemetry down after the command, also when it fails', async () => {
  const config = loadConfig({ MEDSTREAM_OPS_PORT: '0' });
  let seen: Telemetry | undefined;
  await assert.rejects(
    withTelemetry(
      'test',
      config,
      (telemetry) => {
        seen = telemetry;
        return Promise.reject(new Error('command failed'));
      },
      { log: () => undefined },
    ),
    /command failed/,
  );
  assert.ok(seen !== undefined, 'the command ran');
  // Shut down: a new start in the same process succeeds.
  const result = await withTelemetry('test', config, () => Promise.resolve(42), {
    log: () => undefined,
  });
  assert.equal(result, 42);
});

test('without an exporter, spans are not recorded but still carry a trace id downstream', async () => {
  const telemetry = await startTelemetry(options({ opsPort: undefined }));
  try {
    const span = medstreamTracer().startSpan('unexported');
    assert.equal(span.isRecording(), false);
    const headers = injectTraceContext({}, trace.setSpan(context.active(), span));
    span.end();
    assert.equal(
      headers.traceparent,
      `00-${span.spanContext().traceId}-${span.spanContext().spanId}-00`,
      'valid ids, sampled flag off',
    );
  } finally {
    await telemetry.shutdown();
  }
});
