import { resolve } from 'node:path';
import { z } from 'zod';
import { MedStreamError } from '../errors.js';

/**
 * The only module that reads the environment. Configuration is validated once, at start-up,
 * and the result is frozen; every other module receives the values it needs as arguments.
 */
const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0),
);

export const EnvSchema = z.object({
  MEDSTREAM_DATA: z
    .string()
    .default('../shared/data')
    .describe('Root of the corpora, vocabularies and PubMed samples (never copied into the repo).'),
  MEDSTREAM_CACHE: z
    .string()
    .default('.cache')
    .describe('Git-ignored cache for service jars, logs and pids.'),
  KAFKA_BROKERS: csv
    .optional()
    .describe('Comma-separated Kafka bootstrap servers; unset = in-process transport.'),
  KAFKA_CLIENT_ID: z.string().default('medstream').describe('Kafka client id.'),
  KAFKA_CREATE_TOPICS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe(
      'Create missing topics at start-up (compacted article/entity topics, a delete-policy DLQ); false where topics are managed elsewhere.',
    ),
  KAFKA_TOPIC_PARTITIONS: z.coerce
    .number()
    .int()
    .positive()
    .default(6)
    .describe('Partitions of created article and entity topics (the processors’ parallelism).'),
  KAFKA_REPLICATION_FACTOR: z.coerce
    .number()
    .int()
    .positive()
    .default(1)
    .describe('Replication factor of created topics (1 for a single broker; 3 in production).'),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/)
    .default('')
    .describe('Prefix for every topic name (e.g. `staging.` → `staging.pubmed.articles`).'),
  MEDSTREAM_MODEL_DIR: z
    .string()
    .default('models/bc5cdr-mtl')
    .describe(
      'Served model directory (manifest.json, model.onnx, vocabularies) the processor loads.',
    ),
  MEDSTREAM_PROCESSOR_GROUP: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('medstream-processor')
    .describe('Kafka consumer group of the processor stage; also part of its transactional ids.'),
  MEDSTREAM_PROCESSOR_THREADS: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      'onnxruntime intra-op threads of a processor (unset: onnxruntime sizes the pool from the host’s cores, not a container’s CPU limit).',
    ),
  MEDSTREAM_PROCESSOR_MAX_BATCH: z.coerce
    .number()
    .int()
    .positive()
    .default(64)
    .describe('Processor micro-batch: most articles per annotation call and Kafka transaction.'),
  MEDSTREAM_PROCESSOR_MAX_BATCH_CHARS: z.coerce
    .number()
    .int()
    .positive()
    .default(200_000)
    .describe('Processor micro-batch: most text characters (UTF-16 units) per batch.'),
  MEDSTREAM_PROCESSOR_MAX_DELAY_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(500)
    .describe('Longest time the broker holds a fetch to fill a batch when input trickles in.'),
  MEDSTREAM_PROCESSOR_SESSION_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(6000)
    .default(30_000)
    .describe(
      'Consumer group session timeout: how long a crashed processor holds its partitions (≥ the broker minimum, 6 s by default).',
    ),
  MEDSTREAM_SHUTDOWN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(30_000)
    .describe('Hard limit for a graceful shutdown (finish batch, commit, close) after SIGTERM.'),
  SCHEMA_REGISTRY_URL: z
    .url()
    .optional()
    .describe('Confluent Schema Registry URL; unset = Avro single-object encoding.'),
  OPENSEARCH_URL: z.url().optional().describe('OpenSearch / Elasticsearch base URL.'),
  NEO4J_URI: z.string().optional().describe('Neo4j Bolt URI, e.g. bolt://127.0.0.1:7687.'),
  NEO4J_USER: z.string().default('neo4j').describe('Neo4j user.'),
  NEO4J_PASSWORD: z.string().optional().describe('Neo4j password (unset = no auth).'),
  NEO4J_DATABASE: z.string().default('neo4j').describe('Neo4j database the graph loader writes.'),
  OPENSEARCH_USERNAME: z.string().optional().describe('OpenSearch basic-auth user (unset = none).'),
  OPENSEARCH_PASSWORD: z.string().optional().describe('OpenSearch basic-auth password.'),
  OPENSEARCH_INDEX_ALIAS: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]*$/)
    .default('pubmed-entities')
    .describe(
      'Alias readers query; the sink writes to `<alias>-<model>-<version>` behind it (see docs/operations.md).',
    ),
  MEDSTREAM_SINK_GROUP_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('medstream-sink')
    .describe('Kafka consumer group of a sink: `<prefix>-<sink>` (e.g. `medstream-sink-neo4j`).'),
  MEDSTREAM_SINK_BATCH_RECORDS: z.coerce
    .number()
    .int()
    .positive()
    .default(500)
    .describe('Sink batch: most records per bulk request / graph transaction.'),
  MEDSTREAM_SINK_BATCH_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(5_000_000)
    .describe('Sink batch: most bytes of request body per bulk request.'),
  NCBI_API_KEY: z.string().optional().describe('NCBI E-utilities API key (10 req/s instead of 3).'),
  NCBI_TOOL: z.string().default('medstream').describe('E-utilities `tool` parameter.'),
  NCBI_EMAIL: z.string().optional().describe('E-utilities `email` parameter.'),
  MEDSTREAM_OPS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65_535)
    .default(9464)
    .describe(
      'Port of the ops HTTP server of long-running commands (`process`, `ingest` into Kafka, `sink`): `/metrics` (Prometheus), `/healthz`, `/readyz`; 0 = no ops server. Give each process on one host its own port.',
    ),
  MEDSTREAM_OPS_HOST: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe(
      'Address the ops server binds to; unset = all interfaces (e.g. `127.0.0.1` to keep it local).',
    ),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({
      protocol: /^https?$/,
      error: 'expected an http(s) URL such as http://127.0.0.1:4318',
    })
    .optional()
    .describe(
      'OTLP/HTTP collector base URL (e.g. `http://127.0.0.1:4318`); traces go to `/v1/traces`, metrics to `/v1/metrics`. Unset = no OTLP export (metrics stay on `/metrics`). The exporters themselves still read `OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT`, `_COMPRESSION`, the certificate variables and `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, and the SDK reads span limits (`OTEL_SPAN_*`, `OTEL_ATTRIBUTE_*`) and batch settings (`OTEL_BSP_*`); the per-signal `*_ENDPOINT` variables, `OTEL_*_EXPORTER`, `OTEL_TRACES_SAMPLER`, `OTEL_PROPAGATORS` and `OTEL_RESOURCE_ATTRIBUTES` are not read.',
    ),
  OTEL_SERVICE_NAME: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe(
      'OpenTelemetry `service.name` of traces and metrics; unset = `medstream-<command>` (e.g. `medstream-process`).',
    ),
  MEDSTREAM_METRICS_EXPORT_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(60_000)
    .describe(
      'How often metrics are pushed to the OTLP endpoint (Prometheus scrapes `/metrics` on its own schedule).',
    ),
  MEDSTREAM_LOG_LEVEL: z
    .enum(['debug', 'info', 'warn', 'error'])
    .default('info')
    .describe('Log level.'),
});

export type Config = Readonly<z.output<typeof EnvSchema> & { dataRoot: string; cacheDir: string }>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.')}: ${issue.message} (see docs/configuration.md)`,
    );
    throw new MedStreamError('CONFIG_INVALID', `Invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze({
    ...parsed.data,
    dataRoot: resolve(parsed.data.MEDSTREAM_DATA),
    cacheDir: resolve(parsed.data.MEDSTREAM_CACHE),
  });
}
