import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { checkMedstreamContainer, stageOf } from './container-checks.js';
import type { ComposeService } from './deploy-manifests.js';
import {
  DEPLOY_DIR,
  REPO_ROOT,
  composeCommand,
  composeEnvironment,
  dockerEnv,
  effectiveOpsPort,
  effectiveShutdownTimeoutMs,
  interpolate,
  isMedstreamComposeService,
  loadCompose,
  runtimeStage,
} from './deploy-manifests.js';

/** deploy/compose.yaml against the Dockerfile, the CLI, the configuration schema and itself. */

const compose = loadCompose();
const services = Object.entries(compose.services);
const medstream = services.filter(([, s]) => isMedstreamComposeService(s));

function envOf(service: ComposeService) {
  return { ...dockerEnv(runtimeStage()), ...composeEnvironment(service) };
}

function seconds(duration: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(duration);
  assert.ok(m !== null, `duration ${duration}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as 'ms' | 's' | 'm'];
}

/** Named volume → mount path in the container (`name:/path[:ro]`). */
function mounts(service: ComposeService): Map<string, string> {
  return new Map(
    (service.volumes ?? []).map((v) => {
      const [source, target] = interpolate(v).split(':');
      return [source, target];
    }),
  );
}

test('compose.yaml parses, and medstream services build the image from the repository', () => {
  assert.ok(medstream.length >= 4, 'producer, processor and sinks at least');
  for (const [name, service] of medstream) {
    const build = service.build;
    assert.ok(build !== undefined && typeof build === 'object', `${name}: build`);
    assert.equal(resolve(DEPLOY_DIR, build.context ?? '.'), resolve(REPO_ROOT), `${name}: context`);
    assert.ok(existsSync(join(REPO_ROOT, build.dockerfile ?? 'Dockerfile')), `${name}: Dockerfile`);
    assert.equal(service.entrypoint, undefined, `${name}: keeps the image's ENTRYPOINT`);
  }
});

test('every medstream service runs a real CLI command with a valid configuration', async () => {
  const commands = new Map<string, string>();
  for (const [name, service] of medstream) {
    const env = composeEnvironment(service);
    const stage = await checkMedstreamContainer({
      label: `compose service ${name}`,
      image: service.image ?? '',
      args: composeCommand(service),
      envNames: Object.keys(env),
      env,
    });
    commands.set(name, stage.command);
  }
  // The pipeline is complete: a producer, processors and the two database sinks.
  const all = [...commands.values()];
  assert.ok(all.includes('ingest eutils'));
  assert.ok(all.includes('process'));
  assert.ok(all.includes('sink opensearch'));
  assert.ok(all.includes('sink neo4j'));
});

test('healthchecks probe /readyz on the ops port; one-shot services have none', async () => {
  for (const [name, service] of medstream) {
    const env = envOf(service);
    const stage = await stageOf(composeCommand(service));
    if (!stage.longRunning) {
      assert.equal(service.healthcheck?.disable, true, `${name}: one-shot, no ops server`);
      assert.equal(service.restart, 'no', `${name}: one-shot, not restarted`);
      continue;
    }
    const test = service.healthcheck?.test;
    assert.ok(Array.isArray(test), `${name}: healthcheck`);
    const url = test.join(' ').match(/http:\/\/127\.0\.0\.1:(\d+)(\/\w+)/);
    assert.ok(url !== null, `${name}: healthcheck calls the ops server`);
    assert.equal(Number(url[1]), effectiveOpsPort(env), `${name}: healthcheck port`);
    assert.equal(url[2], '/readyz');
    assert.ok(
      (service.expose ?? []).map(String).includes(String(effectiveOpsPort(env))),
      `${name}: exposes the ops port`,
    );
    assert.ok(
      seconds(service.stop_grace_period ?? '10s') * 1000 > effectiveShutdownTimeoutMs(env),
      `${name}: stop_grace_period outlasts MEDSTREAM_SHUTDOWN_TIMEOUT_MS`,
    );
  }
});

test('processor replicas do not exceed the topic partitions (idle group members)', () => {
  const processor = medstream.find(([, s]) => composeCommand(s)[0] === 'process');
  assert.ok(processor !== undefined);
  const env = envOf(processor[1]);
  const partitions = Number(env.KAFKA_TOPIC_PARTITIONS ?? 6);
  const replicas = processor[1].deploy?.replicas ?? 1;
  assert.ok(replicas >= 2, 'scaled out, to show one consumer group across replicas');
  assert.ok(replicas <= partitions, `${replicas} replicas > ${partitions} partitions`);
});

test('the dictionary is built into the volume the processors read from <cache>/dictionary', () => {
  const builder = medstream.find(([, s]) => composeCommand(s)[0] === 'build-dictionary');
  assert.ok(builder !== undefined, 'a one-shot build-dictionary service');
  const args = composeCommand(builder[1]);
  const out = args[args.indexOf('--out') + 1];
  const builderMounts = mounts(builder[1]);
  const volume = [...builderMounts].find(([, path]) => path === out)?.[0];
  assert.ok(volume !== undefined && compose.volumes?.[volume] !== undefined, '--out is a volume');
  // The data root is mounted read-only where MEDSTREAM_DATA points.
  const data = envOf(builder[1]).MEDSTREAM_DATA;
  const dataMount = (builder[1].volumes ?? [])
    .map((v) => interpolate(v))
    .find((v) => v.split(':')[1] === data);
  assert.ok(dataMount?.endsWith(':ro'), 'data root mounted read-only at MEDSTREAM_DATA');

  for (const [name, service] of medstream.filter(([, s]) => composeCommand(s)[0] === 'process')) {
    const cache = envOf(service).MEDSTREAM_CACHE;
    assert.equal(mounts(service).get(volume), posix.join(cache, 'dictionary'), `${name}: mount`);
    const depends = service.depends_on as Record<string, { condition: string }>;
    assert.equal(depends[builder[0]]?.condition, 'service_completed_successfully');
  }
});

test('depends_on names services with healthchecks when it waits for service_healthy', () => {
  for (const [name, service] of services) {
    const depends = service.depends_on ?? {};
    assert.ok(!Array.isArray(depends), `${name}: depends_on with conditions`);
    for (const [dependency, { condition }] of Object.entries(depends)) {
      const target = compose.services[dependency];
      assert.ok(target !== undefined, `${name} depends on unknown ${dependency}`);
      if (condition === 'service_healthy') {
        assert.ok(target.healthcheck?.test !== undefined, `${dependency} has no healthcheck`);
      }
      if (target.profiles !== undefined) {
        assert.deepEqual(service.profiles, target.profiles, `${name} → ${dependency}: profiles`);
      }
    }
  }
});

test('Prometheus scrapes every long-running medstream service on its ops port', async () => {
  const prometheus = parse(readFileSync(join(DEPLOY_DIR, 'prometheus/prometheus.yml'), 'utf8')) as {
    scrape_configs: {
      job_name: string;
      metrics_path?: string;
      dns_sd_configs?: { names: string[]; port: number }[];
      static_configs?: { targets: string[] }[];
    }[];
  };
  const job = prometheus.scrape_configs.find((j) => j.job_name === 'medstream');
  assert.ok(job?.dns_sd_configs !== undefined);
  assert.equal(job.metrics_path ?? '/metrics', '/metrics');
  const scraped = new Map<string, number>();
  for (const sd of job.dns_sd_configs) for (const n of sd.names) scraped.set(n, sd.port);
  for (const [name, service] of medstream) {
    if (!(await stageOf(composeCommand(service))).longRunning) continue;
    assert.equal(scraped.get(name), effectiveOpsPort(envOf(service)), `${name} scraped`);
  }
  for (const name of scraped.keys()) assert.ok(compose.services[name], `${name} is a service`);
  const collector = prometheus.scrape_configs.find((j) => j.job_name === 'otel-collector');
  const targets = collector?.static_configs?.flatMap((s) => s.targets) ?? [];
  assert.ok(
    targets.some((t) => t.startsWith('otel-collector:')),
    'the collector is scraped',
  );
});

test('OTLP goes to the collector service on the port its OTLP/HTTP receiver listens on', () => {
  const collectorConfig = parse(
    readFileSync(join(DEPLOY_DIR, 'otel-collector/config.yaml'), 'utf8'),
  ) as { receivers: { otlp: { protocols: { http: { endpoint: string } } } } };
  const httpPort = collectorConfig.receivers.otlp.protocols.http.endpoint.split(':').at(-1);
  for (const [name, service] of medstream) {
    const endpoint = composeEnvironment(service).OTEL_EXPORTER_OTLP_ENDPOINT;
    if (endpoint === undefined) continue;
    const url = new URL(endpoint);
    assert.equal(url.hostname, 'otel-collector', `${name}: OTLP host`);
    assert.equal(url.port, httpPort, `${name}: OTLP/HTTP port`);
    assert.ok(compose.services[url.hostname] !== undefined);
  }
});

test('Grafana mounts the provisioning and dashboard folders the provider reads', () => {
  const grafana = compose.services.grafana;
  const volumes = (grafana.volumes ?? []).map((v) => v.split(':'));
  const provider = parse(
    readFileSync(join(DEPLOY_DIR, 'grafana/provisioning/dashboards/medstream.yaml'), 'utf8'),
  ) as { providers: { options: { path: string } }[] };
  const dashboards = volumes.find(([source]) => source === './grafana/dashboards');
  assert.equal(dashboards?.[1], provider.providers[0].options.path);
  assert.ok(existsSync(join(DEPLOY_DIR, 'grafana/dashboards/medstream.json')));
  assert.ok(
    volumes.some(([s, t]) => s === './grafana/provisioning' && t === '/etc/grafana/provisioning'),
  );
  for (const [source] of volumes.filter(([s]) => s.startsWith('./'))) {
    assert.ok(existsSync(join(DEPLOY_DIR, source)), `${source} exists`);
  }
});
