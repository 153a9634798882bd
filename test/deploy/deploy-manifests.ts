import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { EnvSchema } from '../../src/config/config.js';

/**
 * Readers for the deployment files (Dockerfile, deploy/compose.yaml, deploy/k8s) shared by the
 * tests in this folder: what each medstream container runs (CLI arguments), with which
 * environment, image and ops port. Everything is derived from the files; nothing here knows
 * which services exist.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');
export const K8S_DIR = join(DEPLOY_DIR, 'k8s');

/** The image name every medstream container uses (tag = package.json version). */
export const IMAGE_NAME = 'medstream';

export type Env = Record<string, string>;

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

export interface PackageJson {
  version: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
}

export function packageJson(): PackageJson {
  return JSON.parse(readRepoFile('package.json')) as PackageJson;
}
export function expectedImage(): string {
  return `${IMAGE_NAME}:${packageJson().version}`;
}

/** Files under `dir` (recursive) whose name ends with one of `extensions`, sorted. */
export function filesUnder(dir: string, extensions: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (extensions.some((ext) => name.endsWith(ext))) out.push(path);
    }
  };
  walk(dir);
  return out;
}

export function repoRelative(path: string): string {
  return relative(REPO_ROOT, path);
}

// ---------------------------------------------------------------------------------------------
// Configuration schema

export const CONFIG_NAMES: ReadonlySet<string> = new Set(Object.keys(EnvSchema.shape));

function schemaDefault(name: keyof typeof EnvSchema.shape): unknown {
  const parsed = EnvSchema.shape[name].safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
}

/** Variables with neither a default nor `.optional()`: a container must set them. */
export function requiredConfigNames(): string[] {
  return Object.entries(EnvSchema.shape)
    .filter(([, schema]) => !schema.safeParse(undefined).success)
    .map(([name]) => name);
}

export function effectiveOpsPort(env: Env): number {
  const value = env.MEDSTREAM_OPS_PORT ?? schemaDefault('MEDSTREAM_OPS_PORT');
  return Number(value);
}

export function effectiveShutdownTimeoutMs(env: Env): number {
  return Number(
    env.MEDSTREAM_SHUTDOWN_TIMEOUT_MS ?? schemaDefault('MEDSTREAM_SHUTDOWN_TIMEOUT_MS'),
  );
}

export function defaultOpsPort(): number {
  return Number(schemaDefault('MEDSTREAM_OPS_PORT'));
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

export interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export interface DockerStage {
  readonly name: string | undefined;
  readonly from: string;
  readonly instructions: DockerInstruction[];
}

/** Instructions by stage; continuation lines joined, comments dropped. */
export function parseDockerfile(text: string): { args: Env; stages: DockerStage[] } {
  const args: Env = {};
  const stages: DockerStage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const start = i;
    let line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i += 1;
      const next = lines[i].trim();
      line = `${line.slice(0, -1).trimEnd()} ${next.startsWith('#') ? '' : next}`.trimEnd();
    }
    const match = /^(\w+)\s+(.*)$/s.exec(line);
    if (match === null) throw new Error(`Dockerfile line ${start + 1}: cannot parse "${line}"`);
    const keyword = match[1].toUpperCase();
    const rest = match[2].trim();
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (from === null) throw new Error(`Dockerfile line ${start + 1}: bad FROM`);
      stages.push({ from: from[1], name: from[2], instructions: [] });
    } else if (stages.length === 0) {
      if (keyword !== 'ARG')
        throw new Error(`Dockerfile line ${start + 1}: ${keyword} before FROM`);
      const [name, value = ''] = rest.split('=', 2);
      args[name] = value;
    } else {
      stages[stages.length - 1].instructions.push({ keyword, args: rest, line: start + 1 });
    }
  }
  return { args, stages };
}

/** `ENV A=1 B=2` (the form the Dockerfile uses) as a map. */
export function dockerEnv(stage: DockerStage): Env {
  const env: Env = {};
  for (const instruction of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const pair of instruction.args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`Dockerfile line ${instruction.line}: use ENV NAME=value`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

export function runtimeStage(): DockerStage {
  const { stages } = parseDockerfile(readRepoFile('Dockerfile'));
  return stages[stages.length - 1];
}

/** Whether `.dockerignore` patterns (no negations) exclude `path` or one of its parents. */
export function dockerignored(patterns: readonly string[], path: string): boolean {
  const regexes = patterns.map((pattern) => {
    const source = pattern
      .replace(/^\/+|\/+$/g, '')
      .split(/(\*\*\/?|\*|\?)/)
      .map((part) => {
        if (part === '**/' || part === '**') return '(?:.*/)?';
        if (part === '*') return '[^/]*';
        if (part === '?') return '[^/]';
        return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    return new RegExp(`^${source}$`);
  });
  const parts = path.split('/');
  for (let n = 1; n <= parts.length; n += 1) {
    const prefix = parts.slice(0, n).join('/');
    if (regexes.some((r) => r.test(prefix))) return true;
  }
  return false;
}

export function dockerignorePatterns(): string[] {
  return readRepoFile('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

// ---------------------------------------------------------------------------------------------
// Compose

export interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string } | string;
  command?: string[] | string;
  entrypoint?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  expose?: (string | number)[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  deploy?: { replicas?: number };
  profiles?: string[];
  stop_grace_period?: string;
  restart?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export function loadCompose(): ComposeFile {
  // Compose resolves YAML merge keys (`<<: *anchor`); so does this parse.
  return parse(readFileSync(join(DEPLOY_DIR, 'compose.yaml'), 'utf8'), {
    merge: true,
  }) as ComposeFile;
}

/**
 * Compose interpolation as `docker compose` does it with an empty host environment (no `.env`):
 * `${VAR:-default}` / `${VAR-default}` give the default, `${VAR}` the empty string, `$$` a `$`.
 * `${VAR:?message}` is refused here: every variable needs a working default.
 */
export function interpolate(value: string, host: Env = {}): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, op: string | undefined, arg: string | undefined, bare) => {
      if (whole === '$$') return '$';
      const name = braced ?? (bare as string);
      const set = host[name];
      if (op === ':?' || op === '?') {
        throw new Error(`${whole}: compose variables must have defaults in deploy/compose.yaml`);
      }
      if (op === ':-') return set === undefined || set === '' ? (arg ?? '') : set;
      if (op === '-') return set === undefined ? (arg ?? '') : set;
      return set ?? '';
    },
  );
}

export function composeEnvironment(service: ComposeService, host: Env = {}): Env {
  const env: Env = {};
  const raw = service.environment ?? {};
  const entries: [string, string | null][] = Array.isArray(raw)
    ? raw.map((item) => {
        const eq = item.indexOf('=');
        return eq < 0 ? [item, null] : [item.slice(0, eq), item.slice(eq + 1)];
      })
    : Object.entries(raw).map(([k, v]) => [k, v === null ? null : String(v)]);
  for (const [name, value] of entries) {
    // No value: passed through from the host environment, unset when the host has none.
    if (value === null) {
      if (host[name] !== undefined) env[name] = host[name];
    } else {
      env[name] = interpolate(value, host);
    }
  }
  return env;
}

export function composeCommand(service: ComposeService): string[] {
  const command = service.command ?? [];
  if (typeof command === 'string') {
    throw new Error('medstream compose services give `command` as a list (no shell splitting)');
  }
  return command.map((arg) => interpolate(String(arg)));
}

export function isMedstreamComposeService(service: ComposeService): boolean {
  const image = service.image ?? '';
  return image.split(':')[0] === IMAGE_NAME || service.build !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Env; annotations?: Env };
  spec?: Record<string, unknown>;
  data?: Env;
  stringData?: Env;
  [key: string]: unknown;
}

export interface K8sDocument {
  readonly file: string;
  readonly object: K8sObject;
}

export function loadK8sDocuments(): K8sDocument[] {
  const out: K8sDocument[] = [];
  for (const file of filesUnder(K8S_DIR, ['.yaml', '.yml'])) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (doc.errors.length > 0) {
        throw new Error(`${repoRelative(file)}: ${doc.errors.map((e) => e.message).join('; ')}`);
      }
      const object = doc.toJS() as K8sObject | null;
      if (object !== null) out.push({ file: repoRelative(file), object });
    }
  }
  return out;
}

export interface K8sEnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    resourceFieldRef?: { resource: string; containerName?: string; divisor?: string };
    fieldRef?: { fieldPath: string };
  };
}

export interface K8sProbe {
  httpGet?: { path: string; port: number | string };
}

export interface K8sContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: K8sEnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  resources?: {
    requests?: { cpu?: string | number; memory?: string };
    limits?: { cpu?: string | number; memory?: string };
  };
  livenessProbe?: K8sProbe;
  readinessProbe?: K8sProbe;
  startupProbe?: K8sProbe;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface K8sPodSpec {
  containers: K8sContainer[];
  initContainers?: K8sContainer[];
  volumes?: { name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: object }[];
  terminationGracePeriodSeconds?: number;
}

export interface K8sPodTemplate {
  metadata?: { labels?: Env; annotations?: Env };
  spec: K8sPodSpec;
}

/** The pod template of a workload (Deployment, StatefulSet, Job, CronJob), if it has one. */
export function podTemplate(object: K8sObject): K8sPodTemplate | undefined {
  const spec = object.spec as
    { template?: K8sPodTemplate; jobTemplate?: { spec: { template: K8sPodTemplate } } } | undefined;
  if (object.kind === 'CronJob') return spec?.jobTemplate?.spec.template;
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(object.kind)) {
    return spec?.template;
  }
  return undefined;
}

export interface K8sWorkload {
  readonly file: string;
  readonly object: K8sObject;
  readonly template: K8sPodTemplate;
}

export function k8sWorkloads(documents: readonly K8sDocument[]): K8sWorkload[] {
  return documents.flatMap(({ file, object }) => {
    const template = podTemplate(object);
    return template === undefined ? [] : [{ file, object, template }];
  });
}

/**
 * The environment a container sees: ConfigMaps of `envFrom` (from `configMaps`), then `env`.
 * Secret values are unknown here; `secretValue` stands in for them.
 */
export function k8sContainerEnv(
  container: K8sContainer,
  configMaps: ReadonlyMap<string, Env>,
  secretValue: (ref: { name: string; key: string }) => string | undefined,
): Env {
  const env: Env = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef !== undefined) {
      const data = configMaps.get(source.configMapRef.name);
      if (data === undefined) throw new Error(`ConfigMap ${source.configMapRef.name} not found`);
      Object.assign(env, data);
    }
    if (source.secretRef !== undefined) {
      throw new Error('use env[].valueFrom.secretKeyRef (named keys), not envFrom secretRef');
    }
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.valueFrom?.secretKeyRef !== undefined) {
      const value = secretValue(variable.valueFrom.secretKeyRef);
      if (value !== undefined) env[variable.name] = value;
    } else if (variable.valueFrom?.configMapKeyRef !== undefined) {
      const ref = variable.valueFrom.configMapKeyRef;
      const value = configMaps.get(ref.name)?.[ref.key];
      if (value !== undefined) env[variable.name] = value;
    } else if (variable.valueFrom?.resourceFieldRef !== undefined) {
      env[variable.name] = resourceFieldValue(container, variable.valueFrom.resourceFieldRef);
    } else {
      throw new Error(`env ${variable.name}: unsupported source`);
    }
  }
  return env;
}

/**
 * What the downward API puts into a variable for a CPU resource: the container's own limit or
 * request, rounded up to whole cores (the default divisor of 1).
 */
function resourceFieldValue(
  container: K8sContainer,
  ref: { resource: string; containerName?: string; divisor?: string },
): string {
  if (ref.containerName !== undefined && ref.containerName !== container.name) {
    throw new Error(`resourceFieldRef names container ${ref.containerName}, not ${container.name}`);
  }
  const [kind, resource] = ref.resource.split('.');
  if (
    resource !== 'cpu' ||
    (kind !== 'limits' && kind !== 'requests') ||
    ref.divisor !== undefined
  ) {
    throw new Error(
      `resourceFieldRef ${ref.resource}: only limits.cpu / requests.cpu are modelled`,
    );
  }
  const value = container.resources?.[kind]?.cpu;
  if (value === undefined) {
    throw new Error(`resourceFieldRef ${ref.resource}: the container sets none`);
  }
  const raw = String(value);
  const cores = raw.endsWith('m') ? Number(raw.slice(0, -1)) / 1000 : Number(raw);
  return String(Math.ceil(cores));
}

/** Names a container's environment sets, from any source. */
export function k8sEnvNames(
  container: K8sContainer,
  configMaps: ReadonlyMap<string, Env>,
): string[] {
  const names = new Set<string>();
  for (const source of container.envFrom ?? []) {
    const data =
      source.configMapRef === undefined ? undefined : configMaps.get(source.configMapRef.name);
    for (const name of Object.keys(data ?? {})) names.add(name);
  }
  for (const variable of container.env ?? []) names.add(variable.name);
  return [...names];
}

export function k8sConfigMaps(documents: readonly K8sDocument[]): Map<string, Env> {
  return new Map(
    documents
      .filter((d) => d.object.kind === 'ConfigMap')
      .map((d) => [
        d.object.metadata.name,
        Object.fromEntries(Object.entries(d.object.data ?? {}).map(([k, v]) => [k, String(v)])),
      ]),
  );
}

export function isMedstreamImage(image: string): boolean {
  return image.split(':')[0] === IMAGE_NAME;
}
