import { ROOT_CONTEXT, context, propagation, trace } from '@opentelemetry/api';
import type { Context, Link, TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';

/**
 * Trace context in Kafka record headers (W3C `traceparent` / `tracestate`), through the global
 * propagator: the entrypoint's SDK registers the W3C trace-context propagator; without an SDK
 * both directions are no-ops (nothing injected, the root context extracted).
 *
 * Stages consume in batches, so a consumer does not make one record's producer its parent: its
 * batch span links to the context extracted from each input record ({@link traceLinks}), and
 * injects its own context into every record it writes.
 */

const setter: TextMapSetter<IHeaders> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

const getter: TextMapGetter<IHeaders | undefined> = {
  keys(carrier) {
    return carrier === undefined ? [] : Object.keys(carrier);
  },
  get(carrier, key) {
    const value = carrier?.[key];
    if (value === undefined) return undefined;
    // kafkajs delivers header values as Buffers; a repeated header arrives as an array.
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
};

/** Writes the context's trace headers into `headers` (in place) and returns `headers`. */
export function injectTraceContext(headers: IHeaders, ctx: Context = context.active()): IHeaders {
  propagation.inject(ctx, headers, setter);
  return headers;
}

/**
 * The trace context a record's headers carry, on top of the root context (never the caller's
 * active context: a record without headers must not appear to belong to the current trace).
 */
export function extractTraceContext(headers: IHeaders | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, getter);
}

/**
 * One link per distinct producing span among `headers` (records of one producer transaction
 * share a span, so a batch of hundreds of records usually needs one or two links; span limits
 * cap links at 128 by default).
 */
export function traceLinks(headers: Iterable<IHeaders | undefined>): Link[] {
  const links = new Map<string, Link>();
  for (const h of headers) {
    const spanContext = trace.getSpanContext(extractTraceContext(h));
    if (spanContext === undefined || !trace.isSpanContextValid(spanContext)) continue;
    const id = `${spanContext.traceId}-${spanContext.spanId}`;
    if (!links.has(id)) links.set(id, { context: spanContext });
  }
  return [...links.values()];
}
