import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { medstreamTracer } from '../../src/telemetry/instruments.js';
import {
  extractTraceContext,
  injectTraceContext,
  traceLinks,
} from '../../src/telemetry/kafka-context.js';
import type { Telemetry } from '../../src/telemetry/sdk.js';
import { startTelemetry } from '../../src/telemetry/sdk.js';

/** Header values as a kafkajs consumer delivers them: Buffers. */
function asDelivered(headers: IHeaders): IHeaders {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(String(v))]));
}

async function withSdk(fn: (telemetry: Telemetry) => Promise<void> | void): Promise<void> {
  const telemetry = await startTelemetry({
    serviceName: 'medstream-test',
    serviceVersion: '0',
    instanceId: 'i',
    spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
    log: () => undefined,
  });
  try {
    await fn(telemetry);
  } finally {
    await telemetry.shutdown();
  }
}

test('without an SDK, injection writes nothing and extraction yields no span context', () => {
  const span = medstreamTracer().startSpan('no-sdk');
  const headers = injectTraceContext({ existing: 'kept' }, trace.setSpan(context.active(), span));
  span.end();
  assert.deepEqual(headers, { existing: 'kept' });
  const incoming = asDelivered({
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  assert.equal(trace.getSpanContext(extractTraceContext(incoming)), undefined);
});

test('inject → Buffer headers → extract round trip keeps trace id, span id, flags and tracestate', () =>
  withSdk(() => {
    const span = medstreamTracer().startSpan('producer');
    const incoming = asDelivered({
      traceparent: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
      tracestate: 'vendor=abc',
    });
    // A span context carrying tracestate, as a consumer would continue it.
    const withState = extractTraceContext(incoming);
    const headers = injectTraceContext({ 'content-kind': 'article' }, withState);
    span.end();
    assert.equal(headers['content-kind'], 'article', 'other headers are kept');
    assert.equal(
      headers.traceparent,
      `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
    );
    assert.equal(headers.tracestate, 'vendor=abc');

    const extracted = trace.getSpanContext(extractTraceContext(asDelivered(headers)));
    assert.ok(extracted !== undefined, 'a span context');
    assert.equal(extracted.traceId, span.spanContext().traceId);
    assert.equal(extracted.spanId, span.spanContext().spanId);
    assert.equal(extracted.traceFlags, 1);
    assert.equal(extracted.isRemote, true);
    assert.equal(extracted.traceState?.get('vendor'), 'abc');
  }));

test('injecting the active context: a span started with startActiveSpan is what records carry', () =>
  withSdk(() =>
    medstreamTracer().startActiveSpan('batch', (span) => {
      const headers = injectTraceContext({});
      span.end();
      assert.equal(
        headers.traceparent,
        `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
      );
    }),
  ));

test('extraction never borrows the active context: a record without headers has no trace', () =>
  withSdk(() =>
    medstreamTracer().startActiveSpan('consumer', (span) => {
      assert.equal(trace.getSpanContext(extractTraceContext(undefined)), undefined);
      assert.equal(
        trace.getSpanContext(extractTraceContext({ other: Buffer.from('x') })),
        undefined,
      );
      span.end();
    }),
  ));

test('malformed traceparent values are ignored; a repeated header uses its first value', () =>
  withSdk(() => {
    for (const bad of ['garbage', '00-00000000000000000000000000000000-b7ad6b7169203331-01', '']) {
      assert.equal(
        trace.getSpanContext(extractTraceContext({ traceparent: Buffer.from(bad) })),
        undefined,
        bad,
      );
    }
    const repeated = extractTraceContext({
      traceparent: [
        Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
        Buffer.from('00-11111111111111111111111111111111-2222222222222222-01'),
      ],
    });
    assert.equal(trace.getSpanContext(repeated)?.traceId, '0af7651916cd43dd8448eb211c80319c');
  }));

test('traceLinks: one link per distinct producing span, records without context skipped', () =>
  withSdk(() => {
    const a = medstreamTracer().startSpan('a');
    const b = medstreamTracer().startSpan('b');
    const headersOf = (span: typeof a): IHeaders =>
      asDelivered(injectTraceContext({}, trace.setSpan(context.active(), span)));
    const links = traceLinks([
      headersOf(a),
      headersOf(a),
      undefined,
      headersOf(b),
      { traceparent: Buffer.from('not a traceparent') },
      headersOf(a),
    ]);
    a.end();
    b.end();
    assert.deepEqual(
      links.map((l) => [l.context.traceId, l.context.spanId]),
      [
        [a.spanContext().traceId, a.spanContext().spanId],
        [b.spanContext().traceId, b.spanContext().spanId],
      ],
    );
  }));
