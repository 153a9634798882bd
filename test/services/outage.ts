import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Real outages for sink tests: the harness stops a service (SIGTERM, then SIGKILL after its
 * grace period) and starts it again on the same ports. With `keepData` the restarted server
 * finds its previous index/store, like a production server coming back after a crash.
 */
const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type OutageService = 'kafka' | 'opensearch' | 'neo4j';

async function services(args: readonly string[]): Promise<void> {
  try {
    await run(process.execPath, ['--import', 'tsx', 'scripts/services.ts', ...args], {
      cwd: ROOT,
      timeout: 300_000,
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `services ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
  }
}

/** Resolves once the service's process has exited. */
export async function stopService(name: OutageService): Promise<void> {
  await services(['down', name]);
}

/** Resolves once the service answers its health check again. */
export async function startService(
  name: OutageService,
  options: { keepData: boolean },
): Promise<void> {
  await services(['up', name, ...(options.keepData ? ['--keep-data'] : [])]);
}
