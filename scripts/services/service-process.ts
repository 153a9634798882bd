import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { servicePaths, type ServiceName } from './service-paths.js';

/** What `up` records about a started service; `status` and `env` read it back. */
export interface ServiceState {
  readonly service: ServiceName;
  readonly pid: number;
  readonly startedAt: string;
  /** Human-readable address, e.g. `127.0.0.1:39092`. */
  readonly address: string;
  /** Variables clients need, e.g. `{ KAFKA_BROKERS: '127.0.0.1:39092' }`. */
  readonly env: Readonly<Record<string, string>>;
}

/** Marker on every JVM the harness starts; `down` only signals processes that carry it. */
export function serviceMarker(name: ServiceName): string {
  return `-Dmedstream.service=${name}`;
}

async function cmdline(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((part) => part !== '');
  } catch {
    return undefined;
  }
}

/**
 * True when `pid` is a live JVM started by this harness for `name` from this cache. A zombie
 * has an empty command line, and a recycled pid belongs to some other command, so both read
 * as "not ours".
 */
export async function isOurProcess(name: ServiceName, pid: number): Promise<boolean> {
  const args = await cmdline(pid);
  if (args === undefined || args.length === 0) return false;
  const root = servicePaths(name).root;
  return args.includes(serviceMarker(name)) && args.some((arg) => arg.includes(root));
}

export async function readState(name: ServiceName): Promise<ServiceState | undefined> {
  try {
    return JSON.parse(await readFile(servicePaths(name).stateFile, 'utf8')) as ServiceState;
  } catch {
    return undefined;
  }
}

export async function writeState(state: ServiceState): Promise<void> {
  const paths = servicePaths(state.service);
  await writeFile(paths.pidFile, `${state.pid}\n`);
  await writeFile(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

export async function clearState(name: ServiceName): Promise<void> {
  const paths = servicePaths(name);
  await rm(paths.pidFile, { force: true });
  await rm(paths.stateFile, { force: true });
}

/** The pid from the pid file when that process is still ours; otherwise undefined. */
export async function runningPid(name: ServiceName): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(servicePaths(name).pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isSafeInteger(pid) || pid <= 1) return undefined;
  return (await isOurProcess(name, pid)) ? pid : undefined;
}

/** Resident set size in MiB from `/proc/<pid>/status` (VmRSS), if readable. */
export async function rssMb(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match?.[1] === undefined ? undefined : Math.round(Number(match[1]) / 1024);
  } catch {
    return undefined;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    // Each JVM leads its own process group (spawned detached); signal the group first.
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  }
}

/**
 * SIGTERM (the JVMs run their shutdown hooks: Kafka closes its logs, OpenSearch and Neo4j
 * close their stores), then SIGKILL when still alive after `graceMs`. Resolves with how it
 * ended. The caller must have checked that `pid` is ours.
 */
export async function stopProcess(
  name: ServiceName,
  pid: number,
  graceMs: number,
): Promise<'terminated' | 'killed'> {
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await isOurProcess(name, pid))) return 'terminated';
    await sleep(200);
  }
  signal(pid, 'SIGKILL');
  for (let i = 0; i < 50 && (await isOurProcess(name, pid)); i++) await sleep(100);
  return 'killed';
}

/**
 * Starts `command` in its own process group with stdout and stderr appended to `logFile`,
 * not tied to this process: it keeps running after the CLI exits.
 */
export async function spawnDetached(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly logFile: string },
): Promise<ChildProcess> {
  await mkdir(options.cwd, { recursive: true });
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    await new Promise<void>((resolvePromise, reject) => {
      child.once('spawn', () => resolvePromise());
      child.once('error', reject);
    });
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

/** Runs a short-lived command to completion, output appended to `logFile`. */
export async function runToCompletion(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly logFile: string },
): Promise<void> {
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', fd, fd] });
    const code = await new Promise<number | null>((resolvePromise, reject) => {
      child.once('error', reject);
      child.once('close', resolvePromise);
    });
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
  } finally {
    closeSync(fd);
  }
}

/** True when something already listens on 127.0.0.1:`port`. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(true));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.close(() => resolvePromise(false));
    });
  });
}

export async function tailFile(path: string, lines: number): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return `(no log at ${path})`;
  }
}
