import { hostname } from 'node:os';
import {
  DiagLogLevel,
  ProxyTracerProvider,
  context,
  diag,
  metrics,
  propagation,
  trace,
} from '@opentelemetry/api';
import type { DiagLogger } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Config } from '../config/config.js';
import { MedStreamError } from '../errors.js';
import { INSTRUMENTATION_VERSION } from './instruments.js';
import type { OpsServer } from './ops-server.js';
import { Readiness, startOpsServer } from './ops-server.js';

/**
 * The telemetry SDK of the long-running commands (`process`, `ingest` into Kafka, `sink`);
 * library code only ever talks to `@opentelemetry/api` (telemetry/instruments.ts).
 *
 * - Metrics: a Prometheus reader served on the ops server's `/metrics` (same port as `/healthz`
 *   and `/readyz`), plus periodic OTLP/HTTP export when a collector endpoint is configured.
 * - Traces: OTLP/HTTP export (batched) when an endpoint is configured. Without one, spans are
 *   not recorded (always-off sampler) but still get trace ids, so the W3C `traceparent` the
 *   stages write into Kafka headers lets a stage that does export link to its upstream.
 * - Propagation: W3C trace context only, registered globally (see telemetry/kafka-context.ts).
 *
 * Every value comes from the validated configuration. The SDK pieces are assembled here rather
 * than through `NodeSDK`, which would configure exporters, resource detectors and propagators
 * from `OTEL_*` variables behind the configuration's back; the sampler is explicit too. What
 * the SDK still reads by itself does not contradict the configuration: the OTLP exporters'
 * headers, timeout, compression, certificates and metric temporality preference
 * (`OTEL_EXPORTER_OTLP_*`), span limits (`OTEL_SPAN_*`, `OTEL_ATTRIBUTE_*`) and the batch span
 * processor's queue settings (`OTEL_BSP_*`).
 *
 * The SDK modules load on start only, so short commands that never start telemetry do not pay
 * for them.
 */

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion: string;
  /** `service.instance.id`: tells replicas apart. */
  instanceId: string;
  /** Ops server port; 0 = an ephemeral port; unset = no ops server (and no `/metrics`). */
  opsPort?: number;
  /** Unset = all interfaces. */
  opsHost?: string;
  /** OTLP/HTTP base URL; `/v1/traces` and `/v1/metrics` are appended. Unset = no OTLP. */
  otlpEndpoint?: string;
  /** Interval of OTLP metric export; default 60 s. */
  metricsExportIntervalMs?: number;
  /** Longest the final flush may take on shutdown; default 5 s. */
  shutdownTimeoutMs?: number;
  /** More span processors, e.g. an in-memory exporter in tests; they make spans recorded. */
  spanProcessors?: SpanProcessor[];
  /** Where the ops address and the SDK's own warnings go; default stderr. */
  log?: (line: string) => void;
}

export interface Telemetry {
  /** The ops server's base URL, when there is one. */
  readonly opsUrl: string | undefined;
  /** What `/readyz` answers; ignored once shutdown began. `reason` fills the 503 body. */
  setReady(ready: boolean, reason?: string): void;
  /** `/readyz` answers 503 from now on: call when the command's shutdown path begins. */
  beginShutdown(): void;
  /** Exports what is pending now (spans, metrics), without stopping anything. */
  forceFlush(): Promise<void>;
  /**
   * The last step of the shutdown path (idempotent): not ready, flush and stop the exporters
   * (bounded by `shutdownTimeoutMs`), close the ops server, unregister the global providers.
   */
  shutdown(): Promise<void>;
}

export const DEFAULT_METRICS_EXPORT_INTERVAL_MS = 60_000;
export const DEFAULT_TELEMETRY_SHUTDOWN_TIMEOUT_MS = 5_000;
/** The OTLP exporters' own per-request limit. */
const OTLP_EXPORT_TIMEOUT_MS = 30_000;

/** The SDK registers process-wide globals: one telemetry per process at a time. */
let active = false;

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  if (active) {
    throw new MedStreamError('INTERNAL', 'telemetry is already started in this process');
  }
  active = true;
  try {
    return await start(options);
  } catch (error) {
    active = false;
    throw error;
  }
}

async function start(options: TelemetryOptions): Promise<Telemetry> {
  const log = options.log ?? ((line: string) => process.stderr.write(`medstream: ${line}\n`));
  const [
    { MeterProvider, PeriodicExportingMetricReader },
    { AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler },
    { node: traceNode },
    { resourceFromAttributes },
    { W3CTraceContextPropagator },
    { PrometheusExporter },
  ] = await Promise.all([
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
    import('@opentelemetry/exporter-prometheus'),
  ]);

  const readiness = new Readiness();
  // The server is mounted first: a port in use fails the start before any global is touched.
  const prometheus =
    options.opsPort === undefined
      ? undefined
      : new PrometheusExporter({ preventServerStart: true, appendTimestamp: false });
  let ops: OpsServer | undefined;
  if (prometheus !== undefined && options.opsPort !== undefined) {
    ops = await startOpsServer({
      port: options.opsPort,
      ...(options.opsHost === undefined ? {} : { host: options.opsHost }),
      readiness,
      metrics: (request, response) => prometheus.getMetricsRequestHandler(request, response),
    });
  }

  const resource = resourceFromAttributes({
    'service.name': options.serviceName,
    'service.version': options.serviceVersion,
    'service.instance.id': options.instanceId,
  });
  const otlp = options.otlpEndpoint?.replace(/\/+$/, '');
  const readers = [];
  if (prometheus !== undefined) readers.push(prometheus);
  if (otlp !== undefined) {
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-http');
    const interval = options.metricsExportIntervalMs ?? DEFAULT_METRICS_EXPORT_INTERVAL_MS;
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${otlp}/v1/metrics` }),
        exportIntervalMillis: interval,
        // The SDK requires the timeout not to exceed the interval.
        exportTimeoutMillis: Math.min(OTLP_EXPORT_TIMEOUT_MS, interval),
      }),
    );
  }
  const spanProcessors = [...(options.spanProcessors ?? [])];
  if (otlp !== undefined) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    spanProcessors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlp}/v1/traces` })),
    );
  }

  const meterProvider = new MeterProvider({ resource, readers });
  const tracerProvider = new traceNode.NodeTracerProvider({
    resource,
    spanProcessors,
    sampler:
      spanProcessors.length === 0
        ? new AlwaysOffSampler()
        : new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  });

  // Registration fails (false, or a different delegate) where another SDK registered first;
  // its globals are left alone then.
  const meterRegistered = metrics.setGlobalMeterProvider(meterProvider);
  if (meterRegistered) tracerProvider.register({ propagator: new W3CTraceContextPropagator() });
  const globalTracer = trace.getTracerProvider();
  const traceRegistered =
    globalTracer instanceof ProxyTracerProvider && globalTracer.getDelegate() === tracerProvider;
  if (!meterRegistered || !traceRegistered) {
    if (meterRegistered) metrics.disable();
    await Promise.allSettled([meterProvider.shutdown(), tracerProvider.shutdown(), ops?.close()]);
    throw new MedStreamError(
      'INTERNAL',
      'another OpenTelemetry SDK is registered in this process; start telemetry once, in the entrypoint',
    );
  }
  diag.setLogger(diagLogger(log), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });

  if (ops !== undefined) log(`ops server on ${ops.url} (/metrics, /healthz, /readyz)`);
  if (otlp !== undefined) log(`OTLP export to ${otlp} (traces and metrics)`);

  const timeoutMs = options.shutdownTimeoutMs ?? DEFAULT_TELEMETRY_SHUTDOWN_TIMEOUT_MS;
  let stopping: Promise<void> | undefined;
  return {
    opsUrl: ops?.url,
    setReady: (ready, reason) => readiness.set(ready, reason),
    beginShutdown: () => readiness.stop(),
    async forceFlush() {
      await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
    },
    shutdown() {
      stopping ??= (async () => {
        readiness.stop();
        try {
          const flushed = await withinTimeout(
            Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]),
            timeoutMs,
          );
          if (flushed === undefined) {
            log(
              `telemetry flush took longer than ${timeoutMs} ms; pending spans and metrics dropped`,
            );
          } else {
            for (const result of flushed) {
              if (result.status === 'rejected') {
                log(`telemetry flush failed: ${String(result.reason)}`);
              }
            }
          }
        } finally {
          await ops?.close();
          unregisterGlobals();
          active = false;
        }
      })();
      return stopping;
    },
  };
}

function unregisterGlobals(): void {
  trace.disable();
  metrics.disable();
  propagation.disable();
  context.disable();
  diag.disable();
}

/** Resolves with `promise`'s value, or with undefined once `ms` passed. */
async function withinTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The SDK's own warnings and errors (failed exports, dropped spans) go to the command's log. */
function diagLogger(log: (line: string) => void): DiagLogger {
  const write = (message: string, ...args: unknown[]): void =>
    log(
      `telemetry: ${[message, ...args.map((a) => (a instanceof Error ? a.message : String(a)))].join(' ')}`,
    );
  const ignore = (): void => undefined;
  return { error: write, warn: write, info: ignore, debug: ignore, verbose: ignore };
}

export interface WithTelemetryOptions {
  /** `service.instance.id`; default `<host>-<pid>`. */
  instanceId?: string;
  log?: (line: string) => void;
  spanProcessors?: SpanProcessor[];
}

/** The SDK options a command derives from the validated configuration. */
export function telemetryOptionsFromConfig(
  command: string,
  config: Config,
  options: WithTelemetryOptions = {},
): TelemetryOptions {
  return {
    serviceName: config.OTEL_SERVICE_NAME ?? `medstream-${command}`,
    serviceVersion: INSTRUMENTATION_VERSION,
    instanceId: options.instanceId ?? `${hostname()}-${process.pid}`,
    // MEDSTREAM_OPS_PORT=0 turns the server off; an ephemeral port is for tests only.
    ...(config.MEDSTREAM_OPS_PORT === 0 ? {} : { opsPort: config.MEDSTREAM_OPS_PORT }),
    ...(config.MEDSTREAM_OPS_HOST === undefined ? {} : { opsHost: config.MEDSTREAM_OPS_HOST }),
    ...(config.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
      ? {}
      : { otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT }),
    metricsExportIntervalMs: config.MEDSTREAM_METRICS_EXPORT_INTERVAL_MS,
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.spanProcessors === undefined ? {} : { spanProcessors: options.spanProcessors }),
  };
}

/**
 * Runs a long-running command with telemetry: starts the SDK (and the ops server), runs
 * `run`, and shuts telemetry down last, after `run` settled (its own shutdown path: stop
 * fetching, drain, flush, commit, close clients). `run` flips readiness through the handle and
 * calls `beginShutdown()` when its shutdown begins.
 */
export async function withTelemetry<T>(
  command: string,
  config: Config,
  run: (telemetry: Telemetry) => Promise<T>,
  options: WithTelemetryOptions = {},
): Promise<T> {
  const telemetry = await startTelemetry(telemetryOptionsFromConfig(command, config, options));
  try {
    return await run(telemetry);
  } finally {
    await telemetry.shutdown();
  }
}
