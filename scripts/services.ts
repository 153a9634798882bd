/**
 * Real Kafka, OpenSearch and Neo4j as local JVM processes (no Docker), for local runs and the
 * integration tests:
 *
 *   npm run services -- up|down|status|env [kafka|opensearch|neo4j ...]
 *
 * Jars come once from Maven Central (pinned poms in deploy/local/<svc>) into the git-ignored
 * cache (`.cache`, or `MEDSTREAM_CACHE`). Every `up` of a stopped service starts from empty
 * data; `down` stops only the processes this harness started. See deploy/local/README.md.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureJars } from './services/fetch-jars.js';
import {
  javaBinary,
  serviceDefinition,
  type ServiceDefinition,
} from './services/service-definitions.js';
import {
  envFile,
  isServiceName,
  SERVICE_NAMES,
  type ServiceName,
} from './services/service-paths.js';
import {
  clearState,
  isOurProcess,
  portInUse,
  readState,
  rssMb,
  runningPid,
  spawnDetached,
  stopProcess,
  tailFile,
  writeState,
  type ServiceState,
} from './services/service-process.js';

const USAGE = `usage: npm run services -- <up|down|status|env> [${SERVICE_NAMES.join('|')} ...] [--keep-data]

  up      fetch jars if needed, start the services, wait until healthy; every start is from
          empty data unless --keep-data is given (restart after \`down\`, e.g. outage tests)
  down    stop the services this harness started
  status  running/stopped, pid, address, RSS per service
  env     print export lines (KAFKA_BROKERS, OPENSEARCH_URL, NEO4J_URI) of running services

environment: MEDSTREAM_CACHE (cache dir, default .cache), MEDSTREAM_SERVICES_TIMEOUT_S
(health wait, default 240), MEDSTREAM_KAFKA_PORT (39092), MEDSTREAM_KAFKA_CONTROLLER_PORT
(39093), MEDSTREAM_OPENSEARCH_PORT (39200), MEDSTREAM_OPENSEARCH_TRANSPORT_PORT (39300),
MEDSTREAM_NEO4J_BOLT_PORT (39687), MEDSTREAM_NEO4J_HTTP_PORT (39474),
MEDSTREAM_<KAFKA|OPENSEARCH|NEO4J>_JAVA_OPTS (extra JVM options)`;

const LOG_TAIL_LINES = 40;
const PROBE_TIMEOUT_MS = 20_000;

class UsageError extends Error {}

/** A start refused before any JVM ran (port taken): the service log has nothing to add. */
class NotStartedError extends Error {}

function healthTimeoutMs(): number {
  const raw = process.env.MEDSTREAM_SERVICES_TIMEOUT_S;
  const seconds = raw === undefined || raw === '' ? 240 : Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`MEDSTREAM_SERVICES_TIMEOUT_S=${raw} is not a positive number`);
  }
  return seconds * 1000;
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)}s`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function exportLines(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).map(([key, value]) => `export ${key}='${value}'`);
}

async function runningServices(): Promise<ServiceState[]> {
  const states: ServiceState[] = [];
  for (const name of SERVICE_NAMES) {
    const pid = await runningPid(name);
    const state = pid === undefined ? undefined : await readState(name);
    if (state !== undefined && state.pid === pid) states.push(state);
  }
  return states;
}

/** `<cache>/services/env.sh` always mirrors the services that are running now. */
async function writeEnvFile(): Promise<void> {
  const states = await runningServices();
  const lines = ['# Written by `npm run services`; source it: . .cache/services/env.sh'];
  if (states.length === 0) lines.push('# no medstream services are running');
  for (const state of states) lines.push(...exportLines(state.env));
  await mkdir(dirname(envFile()), { recursive: true });
  await writeFile(envFile(), `${lines.join('\n')}\n`);
}

/**
 * Polls the health check until it passes. Fails early when the process is gone, so a JVM that
 * dies on start-up is reported in seconds, not after the timeout.
 */
async function waitHealthy(
  definition: ServiceDefinition,
  pid: number,
  exited: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + healthTimeoutMs();
  let lastError = 'no probe finished yet';
  for (;;) {
    const exit = exited() ?? ((await isOurProcess(definition.name, pid)) ? undefined : 'exited');
    if (exit !== undefined) throw new Error(`${definition.name} ${exit} before becoming healthy`);
    try {
      await withTimeout(definition.healthCheck(), PROBE_TIMEOUT_MS, 'health probe');
      return;
    } catch (error) {
      lastError = errorMessage(error);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${definition.name} not healthy after ${healthTimeoutMs() / 1000}s (last probe: ${lastError})`,
      );
    }
    await sleep(1_000);
  }
}

/** A data directory left by an earlier start (a restart with `--keep-data` reuses it). */
async function hasData(definition: ServiceDefinition): Promise<boolean> {
  try {
    return (await readdir(definition.paths.data)).length > 0;
  } catch {
    return false;
  }
}

async function startOne(definition: ServiceDefinition, keepData: boolean): Promise<string> {
  const { name, paths } = definition;
  const started = performance.now();
  const existing = await runningPid(name);
  if (existing !== undefined) {
    await waitHealthy(definition, existing, () => undefined);
    const state = await readState(name);
    return `already up (pid ${existing}) ${state?.address ?? definition.address}`;
  }
  await clearState(name);

  for (const { label, port, envVar } of definition.ports) {
    if (await portInUse(port)) {
      throw new NotStartedError(
        `${name} ${label} port 127.0.0.1:${port} is already in use by another process; ` +
          `stop it or set ${envVar}`,
      );
    }
  }

  const java = javaBinary();
  await mkdir(paths.logs, { recursive: true });
  await writeFile(paths.log, '');
  const reuse = keepData && (await hasData(definition));
  if (!reuse) await definition.prepare(java);
  const child = await spawnDetached(java, definition.javaArgs, {
    cwd: paths.root,
    logFile: paths.log,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: java did not start`);
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = `exited (${signal ?? `code ${code}`})`;
  });
  await writeState({
    service: name,
    pid,
    startedAt: new Date().toISOString(),
    address: definition.address,
    env: definition.env,
  });
  await waitHealthy(definition, pid, () => exit);
  return `up in ${seconds(started)} (pid ${pid}) ${definition.address}${reuse ? ' (data kept)' : ''}`;
}

async function stopOne(name: ServiceName, graceMs: number): Promise<string> {
  const pid = await runningPid(name);
  if (pid === undefined) {
    await clearState(name);
    return 'not running';
  }
  const started = performance.now();
  const how = await stopProcess(name, pid, graceMs);
  await clearState(name);
  return `stopped (pid ${pid}, ${how === 'killed' ? 'SIGKILL after timeout' : 'SIGTERM'}) in ${seconds(started)}`;
}

async function up(names: readonly ServiceName[], keepData: boolean): Promise<number> {
  const started = performance.now();
  for (const name of names) {
    const fetch = await ensureJars(name);
    if (fetch.fetched) console.log(`${name}: fetched jars in ${fetch.seconds.toFixed(1)}s`);
  }
  const definitions = names.map(serviceDefinition);
  const results = await Promise.allSettled(
    definitions.map((definition) => startOne(definition, keepData)),
  );
  let failed = 0;
  for (const [index, result] of results.entries()) {
    const definition = definitions[index];
    if (definition === undefined) continue;
    if (result.status === 'fulfilled') {
      console.log(`${definition.name.padEnd(10)} ${result.value}`);
      continue;
    }
    failed++;
    console.error(`${definition.name.padEnd(10)} FAILED: ${errorMessage(result.reason)}`);
    if (result.reason instanceof NotStartedError) continue;
    console.error(`--- last ${LOG_TAIL_LINES} lines of ${definition.paths.log} ---`);
    console.error(await tailFile(definition.paths.log, LOG_TAIL_LINES));
    console.error('---');
    // A half-started JVM would make the next `up` wait on it again; start clean instead.
    console.error(`${definition.name.padEnd(10)} ${await stopOne(definition.name, 10_000)}`);
  }
  await writeEnvFile();
  console.log(`env: ${envFile()} (${seconds(started)} in all)`);
  return failed === 0 ? 0 : 1;
}

async function down(names: readonly ServiceName[]): Promise<number> {
  const results = await Promise.all(
    names.map((name) => stopOne(name, serviceDefinition(name).stopGraceMs)),
  );
  names.forEach((name, index) => console.log(`${name.padEnd(10)} ${results[index] ?? ''}`));
  await writeEnvFile();
  return 0;
}

async function status(names: readonly ServiceName[]): Promise<number> {
  for (const name of names) {
    const pid = await runningPid(name);
    if (pid === undefined) {
      console.log(`${name.padEnd(10)} stopped`);
      continue;
    }
    const state = await readState(name);
    const rss = await rssMb(pid);
    console.log(
      `${name.padEnd(10)} running  pid ${String(pid).padEnd(7)} ` +
        `${(state?.address ?? '?').padEnd(24)} RSS ${rss === undefined ? '?' : `${rss} MB`}`,
    );
  }
  return 0;
}

async function env(names: readonly ServiceName[]): Promise<number> {
  const running = await runningServices();
  for (const name of names) {
    const state = running.find((candidate) => candidate.service === name);
    if (state === undefined)
      console.log(`# ${name} is not running: npm run services -- up ${name}`);
    else console.log(exportLines(state.env).join('\n'));
  }
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  const keepData = args.includes('--keep-data');
  if (keepData && command !== 'up') throw new UsageError('--keep-data only applies to `up`');
  const rest = args.filter((arg) => arg !== '--keep-data');
  const unknown = rest.filter((name) => !isServiceName(name));
  if (unknown.length > 0) throw new UsageError(`unknown service(s): ${unknown.join(', ')}`);
  const names = rest.length === 0 ? SERVICE_NAMES : [...new Set(rest.filter(isServiceName))];
  switch (command) {
    case 'up':
      return up(names, keepData);
    case 'down':
      return down(names);
    case 'status':
      return status(names);
    case 'env':
      return env(names);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`services: ${errorMessage(error)}`);
    if (error instanceof UsageError) console.error(USAGE);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
