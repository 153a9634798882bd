import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The three services the local harness knows how to run. */
export type ServiceName = 'kafka' | 'opensearch' | 'neo4j';

export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'opensearch', 'neo4j'];

export function isServiceName(value: string): value is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(value);
}

/** Repository root: this file lives in `<root>/scripts/services/`. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Git-ignored cache for jars, data and logs; `MEDSTREAM_CACHE` moves it. */
export function cacheRoot(): string {
  const override = process.env.MEDSTREAM_CACHE;
  return override !== undefined && override !== '' ? resolve(override) : join(REPO_ROOT, '.cache');
}

export interface ServicePaths {
  /** `deploy/local/<svc>` in the repository: pinned pom, Java main, config templates. */
  readonly deployDir: string;
  readonly pom: string;
  /** `<cache>/services/<svc>`: everything the service owns at run time. */
  readonly root: string;
  readonly lib: string;
  readonly libStamp: string;
  readonly data: string;
  readonly config: string;
  readonly logs: string;
  /** Combined stdout and stderr of the JVM. */
  readonly log: string;
  readonly pidFile: string;
  /** JSON `ServiceState` written next to the pid file. */
  readonly stateFile: string;
}

export function servicePaths(name: ServiceName): ServicePaths {
  const deployDir = join(REPO_ROOT, 'deploy', 'local', name);
  const root = join(cacheRoot(), 'services', name);
  return {
    deployDir,
    pom: join(deployDir, 'pom.xml'),
    root,
    lib: join(root, 'lib'),
    libStamp: join(root, 'lib.stamp'),
    data: join(root, 'data'),
    config: join(root, 'config'),
    logs: join(root, 'logs'),
    log: join(root, 'logs', `${name}.log`),
    pidFile: join(root, 'pid'),
    stateFile: join(root, 'state.json'),
  };
}

export function mavenRepo(): string {
  return join(cacheRoot(), 'm2');
}

/** Shell file with the `export` lines of every running service. */
export function envFile(): string {
  return join(cacheRoot(), 'services', 'env.sh');
}
