import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { checkMedstreamContainer, stageOf } from './container-checks.js';
import type { Env, K8sContainer, K8sObject, K8sProbe, K8sWorkload } from './deploy-manifests.js';
import {
  CONFIG_NAMES,
  K8S_DIR,
  dockerEnv,
  effectiveOpsPort,
  effectiveShutdownTimeoutMs,
  expectedImage,
  filesUnder,
  isMedstreamImage,
  k8sConfigMaps,
  k8sContainerEnv,
  k8sEnvNames,
  k8sWorkloads,
  loadK8sDocuments,
  packageJson,
  repoRelative,
  runtimeStage,
} from './deploy-manifests.js';

/** deploy/k8s against the Dockerfile, the CLI, the configuration schema and itself. */

const documents = loadK8sDocuments();
const objects = documents.map((d) => d.object);
const configMaps = k8sConfigMaps(documents);
const workloads = k8sWorkloads(documents);

const secretExample = objects.find(
  (o) => o.kind === 'Secret' && o.metadata.name === 'medstream-secrets',
);
const secretKeys = new Set(Object.keys(secretExample?.stringData ?? {}));

function medstreamContainers(workload: K8sWorkload): K8sContainer[] {
  return workload.template.spec.containers.filter((c) => isMedstreamImage(c.image));
}

function label(workload: K8sWorkload, container: K8sContainer): string {
  return `${workload.file} ${workload.object.kind}/${workload.object.metadata.name} ${container.name}`;
}

function envOf(container: K8sContainer): Env {
  return k8sContainerEnv(container, configMaps, () => 'secret-value');
}

function find(kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

function cpu(value: string | number | undefined): number {
  if (value === undefined) return NaN;
  const text = String(value);
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

/** The port a probe targets, resolved through the container's named ports. */
function probePort(container: K8sContainer, probe: K8sProbe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function matches(selector: Env, labels: Env | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

test('every manifest parses and names its kind, and namespaced objects live in medstream', () => {
  assert.ok(objects.length > 0);
  for (const { file, object } of documents) {
    if (object.kind === 'Kustomization') continue;
    assert.ok(object.apiVersion && object.kind && object.metadata.name, `${file}: identity`);
    if (!['Namespace'].includes(object.kind)) {
      assert.equal(object.metadata.namespace, 'medstream', `${file} ${object.kind}`);
    }
  }
});

test('kustomization lists every base manifest; secrets and optional extras stay out', () => {
  const kustomization = parse(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
    images: { name: string; newTag: string }[];
  };
  for (const resource of kustomization.resources) {
    assert.ok(existsSync(join(K8S_DIR, resource)), `${resource} exists`);
  }
  const base = filesUnder(K8S_DIR, ['.yaml'])
    .map((f) => repoRelative(f).replace('deploy/k8s/', ''))
    .filter((f) => !f.includes('/') && f !== 'kustomization.yaml');
  const expected = base.filter((f) => !f.startsWith('secret')).sort();
  assert.deepEqual([...kustomization.resources].sort(), expected);
  assert.ok(!kustomization.resources.some((r) => r.startsWith('secret')), 'no secret values');
  assert.deepEqual(kustomization.images, [{ name: 'medstream', newTag: packageJson().version }]);
});

test('every medstream container runs a real CLI command with a valid configuration', async () => {
  const commands: string[] = [];
  for (const workload of workloads) {
    for (const container of medstreamContainers(workload)) {
      assert.equal(container.command, undefined, `${label(workload, container)}: keeps ENTRYPOINT`);
      const stage = await checkMedstreamContainer({
        label: label(workload, container),
        image: container.image,
        args: container.args ?? [],
        envNames: k8sEnvNames(container, configMaps),
        env: envOf(container),
      });
      commands.push(stage.command);
    }
  }
  for (const command of ['ingest eutils', 'process', 'sink opensearch', 'sink neo4j']) {
    assert.ok(commands.includes(command), `a workload runs ${command}`);
  }
  assert.ok(
    workloads.every((w) => w.template.spec.containers.every((c) => c.image === expectedImage())),
  );
});

test('secrets come from medstream-secrets by key, keys the example Secret documents', () => {
  assert.ok(secretExample !== undefined, 'secret.example.yaml documents the Secret');
  for (const key of secretKeys) assert.ok(CONFIG_NAMES.has(key), `${key} is configuration`);
  for (const workload of workloads) {
    for (const container of workload.template.spec.containers) {
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref === undefined) continue;
        assert.equal(ref.name, 'medstream-secrets', label(workload, container));
        assert.equal(ref.key, variable.name, `${label(workload, container)}: key = variable`);
        assert.ok(secretKeys.has(ref.key), `${ref.key} is in secret.example.yaml`);
      }
    }
  }
  for (const [name, data] of configMaps) {
    for (const key of Object.keys(data)) {
      assert.ok(!/PASSWORD|API_KEY/.test(key), `ConfigMap ${name}: ${key} belongs in the Secret`);
    }
  }
});

test('long-running containers probe /healthz (liveness) and /readyz on the ops port', async () => {
  let deployments = 0;
  for (const workload of workloads) {
    for (const container of medstreamContainers(workload)) {
      const where = label(workload, container);
      const stage = await stageOf(container.args ?? []);
      const env = { ...dockerEnv(runtimeStage()), ...envOf(container) };
      const port = effectiveOpsPort(env);
      if (!stage.longRunning) {
        assert.equal(container.livenessProbe, undefined, `${where}: one-shot, no ops server`);
        continue;
      }
      const ops = container.ports?.find((p) => p.name === 'ops');
      assert.equal(ops?.containerPort, port, `${where}: containerPort ops = MEDSTREAM_OPS_PORT`);
      assert.equal(container.livenessProbe?.httpGet?.path, '/healthz', `${where}: liveness`);
      assert.equal(probePort(container, container.livenessProbe), port, `${where}: liveness port`);
      if (container.startupProbe !== undefined) {
        assert.equal(probePort(container, container.startupProbe), port);
      }
      // Jobs and CronJobs finish; readiness only matters to long-lived Deployments.
      if (workload.object.kind === 'Deployment') {
        deployments += 1;
        assert.equal(container.readinessProbe?.httpGet?.path, '/readyz', `${where}: readiness`);
        assert.equal(probePort(container, container.readinessProbe), port, `${where}: readiness`);
      }
      const annotations = workload.template.metadata?.annotations ?? {};
      assert.equal(annotations['prometheus.io/scrape'], 'true', `${where}: scraped`);
      assert.equal(Number(annotations['prometheus.io/port']), port, `${where}: scrape port`);
      assert.equal(annotations['prometheus.io/path'], '/metrics');
      const grace = workload.template.spec.terminationGracePeriodSeconds ?? 30;
      assert.ok(
        grace * 1000 > effectiveShutdownTimeoutMs(env),
        `${where}: terminationGracePeriodSeconds outlasts MEDSTREAM_SHUTDOWN_TIMEOUT_MS`,
      );
    }
  }
  assert.ok(deployments >= 3, 'processor and sink Deployments');
});

test('every container has CPU and memory requests and limits; processors get whole CPUs', () => {
  for (const workload of workloads) {
    for (const container of workload.template.spec.containers) {
      const { requests, limits } = container.resources ?? {};
      for (const [what, value] of Object.entries({
        'requests.cpu': requests?.cpu,
        'requests.memory': requests?.memory,
        'limits.cpu': limits?.cpu,
        'limits.memory': limits?.memory,
      })) {
        assert.ok(value !== undefined, `${label(workload, container)}: ${what}`);
      }
      assert.ok(cpu(requests?.cpu) <= cpu(limits?.cpu), `${label(workload, container)}: cpu`);
    }
  }
  const processor = find('Deployment', 'processor');
  assert.ok(processor !== undefined);
  const container = (processor.spec as { template: { spec: { containers: K8sContainer[] } } })
    .template.spec.containers[0];
  const { requests, limits } = container.resources ?? {};
  assert.equal(cpu(requests?.cpu), cpu(limits?.cpu), 'processor: Guaranteed QoS (cpu)');
  assert.equal(requests?.memory, limits?.memory, 'processor: Guaranteed QoS (memory)');
  assert.ok(Number.isInteger(cpu(limits?.cpu)), 'processor: whole CPUs');
});

test('processor replicas, the autoscaler and the disruption budget fit the partitions', () => {
  const processor = find('Deployment', 'processor');
  assert.ok(processor !== undefined);
  const spec = processor.spec as {
    replicas: number;
    selector: { matchLabels: Env };
    template: { metadata: { labels: Env } };
  };
  const partitions = Number(configMaps.get('medstream-config')?.KAFKA_TOPIC_PARTITIONS);
  assert.ok(
    Number.isInteger(partitions) && partitions > 0,
    'KAFKA_TOPIC_PARTITIONS in the ConfigMap',
  );
  assert.ok(spec.replicas >= 2 && spec.replicas <= partitions, 'replicas within the partitions');
  assert.ok(matches(spec.selector.matchLabels, spec.template.metadata.labels));

  const pdb = find('PodDisruptionBudget', 'processor');
  assert.ok(pdb !== undefined, 'a PodDisruptionBudget for the processors');
  const pdbSpec = pdb.spec as { selector: { matchLabels: Env }; maxUnavailable?: number };
  assert.ok(
    matches(pdbSpec.selector.matchLabels, spec.template.metadata.labels),
    'PDB selects processors',
  );
  assert.ok((pdbSpec.maxUnavailable ?? 0) >= 1, 'drains can proceed one pod at a time');

  const hpa = find('HorizontalPodAutoscaler', 'processor');
  assert.ok(hpa !== undefined);
  const hpaSpec = hpa.spec as {
    scaleTargetRef: { kind: string; name: string };
    maxReplicas: number;
    minReplicas: number;
    metrics: { external?: { metric: { name: string } } }[];
  };
  assert.deepEqual(
    [hpaSpec.scaleTargetRef.kind, hpaSpec.scaleTargetRef.name],
    ['Deployment', 'processor'],
  );
  assert.ok(hpaSpec.maxReplicas <= partitions, 'autoscaler maxReplicas ≤ partitions');
  assert.ok(hpaSpec.minReplicas <= spec.replicas);
  assert.equal(hpaSpec.metrics[0].external?.metric.name, 'medstream_processor_consumer_lag');
});

test('volumes: every claim exists, the dictionary is built where processors read it', () => {
  const claims = new Set(
    objects.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.metadata.name),
  );
  for (const workload of workloads) {
    for (const volume of workload.template.spec.volumes ?? []) {
      const claim = volume.persistentVolumeClaim?.claimName;
      if (claim !== undefined) assert.ok(claims.has(claim), `${workload.file}: PVC ${claim}`);
    }
    for (const container of workload.template.spec.containers) {
      for (const mount of container.volumeMounts ?? []) {
        assert.ok(
          (workload.template.spec.volumes ?? []).some((v) => v.name === mount.name),
          `${label(workload, container)}: volume ${mount.name}`,
        );
      }
    }
  }

  const claimPath = (workload: K8sWorkload, container: K8sContainer, claim: string) => {
    const volume = workload.template.spec.volumes?.find(
      (v) => v.persistentVolumeClaim?.claimName === claim,
    );
    return container.volumeMounts?.find((m) => m.name === volume?.name);
  };
  const builder = workloads.find(
    (w) => w.template.spec.containers[0].args?.[0] === 'build-dictionary',
  );
  assert.ok(builder !== undefined, 'a build-dictionary Job');
  const builderContainer = builder.template.spec.containers[0];
  const args = builderContainer.args ?? [];
  const out = args[args.indexOf('--out') + 1];
  assert.equal(claimPath(builder, builderContainer, 'medstream-dictionary')?.mountPath, out);
  const data = envOf(builderContainer).MEDSTREAM_DATA;
  const dataMount = claimPath(builder, builderContainer, 'medstream-data');
  assert.equal(dataMount?.mountPath, data, 'data root mounted at MEDSTREAM_DATA');
  assert.equal(dataMount?.readOnly, true);

  const processor = workloads.find((w) => w.object.metadata.name === 'processor');
  assert.ok(processor !== undefined);
  const container = processor.template.spec.containers[0];
  const cache = { ...dockerEnv(runtimeStage()), ...envOf(container) }.MEDSTREAM_CACHE;
  const mount = claimPath(processor, container, 'medstream-dictionary');
  // loadAnnotator looks for the dictionary in <MEDSTREAM_CACHE>/dictionary.
  assert.equal(mount?.mountPath, posix.join(cache, 'dictionary'));
  assert.equal(mount?.readOnly, true);
});

test('the external-metric name and the scrape annotations match the Prometheus job', () => {
  const scrape = parse(
    readFileSync(join(K8S_DIR, '../prometheus/kubernetes-pods.yaml'), 'utf8'),
  ) as { kubernetes_sd_configs: { namespaces: { names: string[] } }[] }[];
  assert.deepEqual(scrape[0].kubernetes_sd_configs[0].namespaces.names, ['medstream']);
  const podMonitor = find('PodMonitor', 'medstream');
  assert.ok(podMonitor !== undefined);
  const spec = podMonitor.spec as {
    selector: { matchLabels: Env };
    podMetricsEndpoints: { port: string; path: string }[];
  };
  for (const workload of workloads.filter(
    (w) => w.template.metadata?.annotations?.['prometheus.io/scrape'] === 'true',
  )) {
    assert.ok(
      matches(spec.selector.matchLabels, workload.template.metadata?.labels),
      workload.file,
    );
    assert.ok(
      workload.template.spec.containers.some((c) =>
        c.ports?.some((p) => p.name === spec.podMetricsEndpoints[0].port),
      ),
      `${workload.file}: PodMonitor port`,
    );
  }
});
