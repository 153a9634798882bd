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
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/)
    .default('')
    .describe('Prefix for every topic name (e.g. `staging.` → `staging.pubmed.articles`).'),
  SCHEMA_REGISTRY_URL: z
    .url()
    .optional()
    .describe('Confluent Schema Registry URL; unset = Avro single-object encoding.'),
  OPENSEARCH_URL: z.url().optional().describe('OpenSearch / Elasticsearch base URL.'),
  NEO4J_URI: z.string().optional().describe('Neo4j Bolt URI, e.g. bolt://127.0.0.1:7687.'),
  NEO4J_USER: z.string().default('neo4j').describe('Neo4j user.'),
  NEO4J_PASSWORD: z.string().optional().describe('Neo4j password (unset = no auth).'),
  NCBI_API_KEY: z.string().optional().describe('NCBI E-utilities API key (10 req/s instead of 3).'),
  NCBI_TOOL: z.string().default('medstream').describe('E-utilities `tool` parameter.'),
  NCBI_EMAIL: z.string().optional().describe('E-utilities `email` parameter.'),
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
