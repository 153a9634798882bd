import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  kafkaHealthCheck,
  neo4jHealthCheck,
  openSearchHealthCheck,
  type HealthCheck,
} from './health-checks.js';
import { servicePaths, type ServiceName, type ServicePaths } from './service-paths.js';
import { runToCompletion, serviceMarker } from './service-process.js';

export interface ServicePort {
  readonly label: string;
  readonly port: number;
  /** Environment variable that overrides the default port. */
  readonly envVar: string;
}

export interface ServiceDefinition {
  readonly name: ServiceName;
  readonly paths: ServicePaths;
  /** Every port the service binds on 127.0.0.1; `up` refuses to start when one is taken. */
  readonly ports: readonly ServicePort[];
  readonly address: string;
  /** What clients (and the integration tests) read. */
  readonly env: Readonly<Record<string, string>>;
  /** Fresh state for a new start: wipes data, renders config, formats storage. */
  prepare(java: string): Promise<void>;
  /** JVM arguments; the marker and the cache path in them identify the process as ours. */
  readonly javaArgs: readonly string[];
  readonly healthCheck: HealthCheck;
  /** How long `down` waits after SIGTERM before SIGKILL. */
  readonly stopGraceMs: number;
}

function portFromEnv(envVar: string, fallback: number): number {
  const raw = process.env[envVar];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`${envVar}=${raw} is not a TCP port (1-65535)`);
  }
  return port;
}

/** `MEDSTREAM_<SVC>_JAVA_OPTS` appends JVM options (e.g. a bigger heap) without code changes. */
function extraJavaOpts(name: ServiceName): string[] {
  const raw = process.env[`MEDSTREAM_${name.toUpperCase()}_JAVA_OPTS`] ?? '';
  return raw.split(/\s+/).filter((part) => part !== '');
}

/** The `java` of `JAVA_HOME` when set, otherwise the one on PATH. */
export function javaBinary(): string {
  const home = process.env.JAVA_HOME;
  return home !== undefined && home !== '' ? join(home, 'bin', 'java') : 'java';
}

const COMMON_JVM_OPTS = [
  '-XX:+UseG1GC',
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.awt.headless=true',
  '-Dfile.encoding=UTF-8',
];

async function freshDirs(paths: ServicePaths): Promise<void> {
  await rm(paths.data, { recursive: true, force: true });
  await rm(paths.config, { recursive: true, force: true });
  await mkdir(paths.data, { recursive: true });
  await mkdir(paths.config, { recursive: true });
  await mkdir(paths.logs, { recursive: true });
}

/** Replaces every `${NAME}` in a template; a placeholder left over is a bug in the template. */
function render(template: string, values: Readonly<Record<string, string>>): string {
  const rendered = template.replace(/\$\{([A-Z_]+)\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`no value for ${whole} in a service template`);
    return value;
  });
  return rendered;
}

/**
 * A random Kafka cluster id: 16 bytes, URL-safe base64 without padding (Kafka's Uuid form).
 * Like Kafka's own Uuid.randomUuid, never one starting with '-': StorageTool's argument parser
 * would read `-t -abc…` as a missing value (a start failure once in 64 runs).
 */
export function kafkaClusterId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function kafka(): ServiceDefinition {
  const paths = servicePaths('kafka');
  const brokerPort = portFromEnv('MEDSTREAM_KAFKA_PORT', 39092);
  const controllerPort = portFromEnv('MEDSTREAM_KAFKA_CONTROLLER_PORT', 39093);
  const address = `127.0.0.1:${brokerPort}`;
  const serverProperties = join(paths.config, 'server.properties');
  return {
    name: 'kafka',
    paths,
    ports: [
      { label: 'broker', port: brokerPort, envVar: 'MEDSTREAM_KAFKA_PORT' },
      { label: 'controller', port: controllerPort, envVar: 'MEDSTREAM_KAFKA_CONTROLLER_PORT' },
    ],
    address,
    env: { KAFKA_BROKERS: address },
    async prepare(java) {
      await freshDirs(paths);
      const template = await readFile(join(paths.deployDir, 'server.properties'), 'utf8');
      await writeFile(
        serverProperties,
        render(template, {
          BROKER_PORT: String(brokerPort),
          CONTROLLER_PORT: String(controllerPort),
          DATA_DIR: join(paths.data, 'kafka-logs'),
        }),
      );
      for (const file of ['log4j.properties', 'tools-log4j.properties']) {
        await copyFile(join(paths.deployDir, file), join(paths.config, file));
      }
      // KRaft needs formatted storage (cluster id + bootstrap metadata) before the first start.
      await runToCompletion(
        java,
        [
          '-Xmx256m',
          `-Dlog4j.configuration=file:${join(paths.config, 'tools-log4j.properties')}`,
          '-cp',
          join(paths.lib, '*'),
          'kafka.tools.StorageTool',
          'format',
          '-t',
          kafkaClusterId(),
          '-c',
          serverProperties,
        ],
        { cwd: paths.root, logFile: paths.log },
      );
    },
    javaArgs: [
      '-Xms128m',
      '-Xmx512m',
      ...COMMON_JVM_OPTS,
      '-XX:MaxGCPauseMillis=20',
      `-Dlog4j.configuration=file:${join(paths.config, 'log4j.properties')}`,
      `-Dkafka.logs.dir=${paths.logs}`,
      ...extraJavaOpts('kafka'),
      serviceMarker('kafka'),
      '-cp',
      join(paths.lib, '*'),
      'kafka.Kafka',
      serverProperties,
    ],
    healthCheck: kafkaHealthCheck(address),
    stopGraceMs: 30_000,
  };
}

function openSearch(): ServiceDefinition {
  const paths = servicePaths('opensearch');
  const httpPort = portFromEnv('MEDSTREAM_OPENSEARCH_PORT', 39200);
  const transportPort = portFromEnv('MEDSTREAM_OPENSEARCH_TRANSPORT_PORT', 39300);
  const url = `http://127.0.0.1:${httpPort}`;
  return {
    name: 'opensearch',
    paths,
    ports: [
      { label: 'http', port: httpPort, envVar: 'MEDSTREAM_OPENSEARCH_PORT' },
      { label: 'transport', port: transportPort, envVar: 'MEDSTREAM_OPENSEARCH_TRANSPORT_PORT' },
    ],
    address: url,
    env: { OPENSEARCH_URL: url },
    prepare: () => freshDirs(paths),
    javaArgs: [
      '-Xms512m',
      '-Xmx1g',
      ...COMMON_JVM_OPTS,
      '-Dlog4j2.disable.jmx=true',
      // Keep logging alive while the node closes, so the shutdown is visible in the log.
      '-Dlog4j.shutdownHookEnabled=false',
      ...extraJavaOpts('opensearch'),
      serviceMarker('opensearch'),
      '-cp',
      join(paths.lib, '*'),
      // Java's single-file source launcher: compiled in memory at start, no build step.
      join(paths.deployDir, 'OpenSearchServer.java'),
      paths.data,
      String(httpPort),
      String(transportPort),
    ],
    healthCheck: openSearchHealthCheck(url),
    stopGraceMs: 30_000,
  };
}

function neo4jService(): ServiceDefinition {
  const paths = servicePaths('neo4j');
  const boltPort = portFromEnv('MEDSTREAM_NEO4J_BOLT_PORT', 39687);
  const httpPort = portFromEnv('MEDSTREAM_NEO4J_HTTP_PORT', 39474);
  const uri = `bolt://127.0.0.1:${boltPort}`;
  return {
    name: 'neo4j',
    paths,
    ports: [
      { label: 'bolt', port: boltPort, envVar: 'MEDSTREAM_NEO4J_BOLT_PORT' },
      { label: 'http', port: httpPort, envVar: 'MEDSTREAM_NEO4J_HTTP_PORT' },
    ],
    address: uri,
    // Authentication is disabled in Neo4jServer.java, so there is no NEO4J_PASSWORD to hand out.
    env: { NEO4J_URI: uri },
    prepare: () => freshDirs(paths),
    javaArgs: [
      '-Xms256m',
      '-Xmx512m',
      ...COMMON_JVM_OPTS,
      ...extraJavaOpts('neo4j'),
      serviceMarker('neo4j'),
      '-cp',
      join(paths.lib, '*'),
      join(paths.deployDir, 'Neo4jServer.java'),
      paths.data,
      String(boltPort),
      String(httpPort),
    ],
    healthCheck: neo4jHealthCheck(uri, undefined),
    stopGraceMs: 30_000,
  };
}

export function serviceDefinition(name: ServiceName): ServiceDefinition {
  switch (name) {
    case 'kafka':
      return kafka();
    case 'opensearch':
      return openSearch();
    case 'neo4j':
      return neo4jService();
  }
}
