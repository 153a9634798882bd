import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { mavenRepo, servicePaths, type ServiceName } from './service-paths.js';

export interface FetchResult {
  readonly fetched: boolean;
  readonly seconds: number;
}

async function pomHash(pom: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(pom))
    .digest('hex');
}

function runMaven(args: readonly string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) =>
      reject(new Error(`cannot run mvn (is Maven installed?): ${error.message}`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`mvn ${args.join(' ')} exited with ${code}\n${output}`));
    });
  });
}

/**
 * Copies the runtime jars of `deploy/local/<svc>/pom.xml` into `<cache>/services/<svc>/lib`
 * once. The stamp holds the pom's SHA-256, so editing the pom triggers a fresh copy; the jars
 * land in a temporary folder first so an interrupted fetch never leaves a half-filled lib.
 */
export async function ensureJars(name: ServiceName): Promise<FetchResult> {
  const paths = servicePaths(name);
  const hash = await pomHash(paths.pom);
  if (existsSync(paths.lib) && existsSync(paths.libStamp)) {
    const stamp = (await readFile(paths.libStamp, 'utf8')).trim();
    if (stamp === hash) return { fetched: false, seconds: 0 };
  }
  const started = performance.now();
  const staging = `${paths.lib}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(paths.root, { recursive: true });
  await runMaven([
    '-q',
    '-B',
    '-f',
    paths.pom,
    `-Dmaven.repo.local=${mavenRepo()}`,
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${staging}`,
  ]);
  await rm(paths.lib, { recursive: true, force: true });
  await rename(staging, paths.lib);
  await writeFile(paths.libStamp, `${hash}\n`);
  return { fetched: true, seconds: (performance.now() - started) / 1000 };
}
