import assert from 'node:assert/strict';
import { EnvSchema } from '../../src/config/config.js';
import { resolveCliArgs } from './cli-commands.js';
import type { Env } from './deploy-manifests.js';
import {
  CONFIG_NAMES,
  dockerEnv,
  effectiveOpsPort,
  expectedImage,
  requiredConfigNames,
  runtimeStage,
} from './deploy-manifests.js';

/**
 * What every medstream container in compose or Kubernetes must satisfy, whatever it runs: the
 * project's image, arguments the CLI accepts, an environment made of configuration variables
 * that validates, and what its command needs to do its job in a deployment.
 */

export interface MedstreamContainer {
  /** `compose service producer`, `deploy/k8s/processor.yaml Deployment/processor`, … */
  readonly label: string;
  readonly image: string;
  /** Arguments after the image's ENTRYPOINT. */
  readonly args: readonly string[];
  /** Every variable name the container sets (values may be secret). */
  readonly envNames: readonly string[];
  /** Values as far as known (secrets as placeholders). */
  readonly env: Env;
}

export interface Stage {
  /** The CLI command the container runs, e.g. `sink opensearch`. */
  readonly command: string;
  /** Serves the ops port (/metrics, /healthz, /readyz) while it runs. */
  readonly longRunning: boolean;
}

/**
 * What a deployed command needs besides a valid configuration. Without KAFKA_BROKERS `ingest`
 * writes NDJSON to stdout and `process`/`sink` refuse to start, so every stage needs it; each
 * sink needs its target's address.
 */
const NEEDS: {
  readonly prefix: string;
  readonly env: readonly string[];
  readonly longRunning: boolean;
}[] = [
  { prefix: 'process', env: ['KAFKA_BROKERS'], longRunning: true },
  { prefix: 'ingest ', env: ['KAFKA_BROKERS'], longRunning: true },
  { prefix: 'sink opensearch', env: ['KAFKA_BROKERS', 'OPENSEARCH_URL'], longRunning: true },
  { prefix: 'sink neo4j', env: ['KAFKA_BROKERS', 'NEO4J_URI'], longRunning: true },
  { prefix: 'sink ', env: ['KAFKA_BROKERS'], longRunning: true },
  { prefix: 'build-dictionary', env: [], longRunning: false },
];

function needsOf(command: string) {
  return NEEDS.find((n) => command === n.prefix || command.startsWith(n.prefix));
}

/** The stage `args` run, by the CLI's own parsing; throws for arguments the CLI refuses. */
export async function stageOf(args: readonly string[]): Promise<Stage> {
  const command = await resolveCliArgs(args);
  const needs = needsOf(command);
  assert.ok(needs !== undefined, `\`${command}\` is not a deployable stage`);
  return { command, longRunning: needs.longRunning };
}

export async function checkMedstreamContainer(container: MedstreamContainer): Promise<Stage> {
  const { label } = container;
  assert.equal(container.image, expectedImage(), `${label}: image`);

  const command = await resolveCliArgs(container.args);
  const needs = needsOf(command);
  assert.ok(needs !== undefined, `${label}: \`${command}\` is not a deployable stage`);

  for (const name of container.envNames) {
    assert.ok(
      CONFIG_NAMES.has(name),
      `${label}: ${name} is not a configuration variable (EnvSchema)`,
    );
  }
  const env = { ...dockerEnv(runtimeStage()), ...container.env };
  const parsed = EnvSchema.safeParse(env);
  assert.ok(
    parsed.success,
    `${label}: configuration invalid: ${parsed.success ? '' : parsed.error.message}`,
  );
  for (const name of [...requiredConfigNames(), ...needs.env]) {
    assert.ok(env[name] !== undefined && env[name] !== '', `${label}: ${command} needs ${name}`);
  }
  if (command.startsWith('ingest ')) {
    assert.ok(!container.args.includes('--out'), `${label}: --out would bypass Kafka`);
  }
  if (command === 'sink opensearch') {
    // The search-index sink refuses one without the other.
    assert.equal(
      container.envNames.includes('OPENSEARCH_USERNAME'),
      container.envNames.includes('OPENSEARCH_PASSWORD'),
      `${label}: OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD are set together or not at all`,
    );
  }
  if (needs.longRunning) {
    assert.notEqual(
      effectiveOpsPort(env),
      0,
      `${label}: MEDSTREAM_OPS_PORT=0 turns the probes off`,
    );
  }
  return { command, longRunning: needs.longRunning };
}
