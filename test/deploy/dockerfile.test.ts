import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { test } from 'node:test';
import {
  CONFIG_NAMES,
  REPO_ROOT,
  defaultOpsPort,
  dockerEnv,
  dockerignorePatterns,
  dockerignored,
  packageJson,
  parseDockerfile,
  readRepoFile,
  runtimeStage,
} from './deploy-manifests.js';
import { EnvSchema } from '../../src/config/config.js';

/**
 * The image is never built on the development machines (no Docker engine), so its recipe is
 * checked statically: what it copies exists and is not ignored, the ENTRYPOINT is the file the
 * build produces, the runtime user is not root, and the environment it sets is configuration.
 */

const dockerfile = parseDockerfile(readRepoFile('Dockerfile'));
const runtime = runtimeStage();

function instructions(keyword: string, stage = runtime) {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

function jsonArray(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  assert.ok(Array.isArray(parsed), `expected the exec (JSON array) form, got ${args}`);
  return parsed as string[];
}

test('multi-stage build from node:20-bookworm-slim: a build stage and a runtime stage', () => {
  assert.ok(dockerfile.stages.length >= 2, 'a build stage and a runtime stage');
  for (const stage of dockerfile.stages) {
    const image = stage.from.replace(/^\$\{(\w+)\}$/, (_, arg: string) => dockerfile.args[arg]);
    assert.equal(image, 'node:20-bookworm-slim', `stage ${stage.name ?? '?'} base image`);
  }
});

test('ENTRYPOINT runs the file `npm run build` emits for src/cli/main.ts, the package bin', () => {
  const [entrypoint] = instructions('ENTRYPOINT');
  assert.ok(entrypoint !== undefined, 'the runtime stage has an ENTRYPOINT');
  const [node, script, ...rest] = jsonArray(entrypoint.args);
  assert.equal(node, 'node');
  assert.deepEqual(rest, []);
  assert.equal(script, packageJson().bin.medstream, 'ENTRYPOINT script = package.json bin');

  // Where tsc puts src/cli/main.ts: outDir + (path relative to rootDir), .ts → .js.
  const build = JSON.parse(readRepoFile('tsconfig.build.json')) as {
    compilerOptions: { rootDir: string; outDir: string };
  };
  assert.match(packageJson().scripts.build, /tsconfig\.build\.json/);
  const main = join(REPO_ROOT, 'src/cli/main.ts');
  assert.ok(existsSync(main));
  const emitted = posix.join(
    build.compilerOptions.outDir,
    relative(join(REPO_ROOT, build.compilerOptions.rootDir), main).replace(/\.ts$/, '.js'),
  );
  assert.equal(script, emitted, 'ENTRYPOINT script = tsc output of src/cli/main.ts');

  // The runtime stage copies that output from the build stage, which ran the build.
  const buildStage = dockerfile.stages.find((s) => s.name !== undefined && s !== runtime);
  assert.ok(buildStage !== undefined);
  const runs = instructions('RUN', buildStage).map((i) => i.args);
  const ci = runs.findIndex((r) => /\bnpm ci\b/.test(r));
  const compile = runs.findIndex((r) => /\bnpm run build\b/.test(r));
  assert.ok(ci >= 0 && compile > ci, 'npm ci, then npm run build');
  assert.ok(
    runs.slice(compile).some((r) => /npm prune --omit=dev/.test(r)),
    'dev dependencies pruned after the build',
  );
  const outDir = build.compilerOptions.outDir;
  assert.ok(
    instructions('COPY').some((i) =>
      new RegExp(`--from=${buildStage.name}\\s+\\S*/${outDir}\\s`).test(i.args),
    ),
    `runtime stage copies ${outDir} from ${buildStage.name}`,
  );
});

test('.npmrc (skips the onnxruntime GPU download) is in place before npm ci', () => {
  assert.match(readRepoFile('.npmrc'), /^onnxruntime-node-install=skip$/m);
  const buildStage = dockerfile.stages[0];
  const order = buildStage.instructions.map((i) => `${i.keyword} ${i.args}`);
  const copyNpmrc = order.findIndex((i) => /^COPY\s.*\.npmrc/.test(i));
  const ci = order.findIndex((i) => /^RUN\s.*\bnpm ci\b/.test(i));
  assert.ok(copyNpmrc >= 0 && copyNpmrc < ci, '.npmrc copied before npm ci');
});

test('the runtime user is not root', () => {
  const users = instructions('USER');
  assert.ok(users.length > 0, 'USER set in the runtime stage');
  const user = users[users.length - 1].args.split(':')[0];
  assert.notEqual(user, 'root');
  assert.notEqual(user, '0');
  const entry = instructions('ENTRYPOINT')[0];
  assert.ok(users[users.length - 1].line < entry.line, 'USER before ENTRYPOINT');
});

test('EXPOSE is the ops port default, and ENV sets only configuration variables', () => {
  const exposed = instructions('EXPOSE').flatMap((i) => i.args.split(/\s+/));
  assert.deepEqual(exposed, [String(defaultOpsPort())]);
  const env = dockerEnv(runtime);
  for (const name of Object.keys(env)) {
    assert.ok(CONFIG_NAMES.has(name), `ENV ${name} is not in EnvSchema`);
  }
  assert.equal(env.MEDSTREAM_OPS_PORT, undefined, 'the ops port keeps its schema default');
  assert.ok(EnvSchema.safeParse(env).success, 'the image environment is a valid configuration');
});

test('every COPY source from the build context exists and is not excluded by .dockerignore', () => {
  const patterns = dockerignorePatterns();
  const copies = dockerfile.stages.flatMap((s) =>
    s.instructions.filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args)),
  );
  assert.ok(copies.length > 0);
  for (const copy of copies) {
    const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'));
    for (const source of parts.slice(0, -1)) {
      const path = source.replace(/\/$/, '');
      assert.ok(existsSync(join(REPO_ROOT, path)), `COPY ${source} (line ${copy.line}) exists`);
      assert.ok(!dockerignored(patterns, path), `COPY ${source} is excluded by .dockerignore`);
    }
  }
});

test('.dockerignore keeps caches, dependencies and build output out of the context', () => {
  const patterns = dockerignorePatterns();
  for (const path of ['.cache', 'node_modules', '.venv', 'dist', 'out', '.git', 'models/tests']) {
    assert.ok(dockerignored(patterns, path), `${path} is excluded`);
  }
  assert.ok(dockerignored(patterns, 'models/medstream_models/__pycache__/x.pyc'));
  assert.ok(!dockerignored(patterns, 'src/cli/main.ts'));
});

test('the served models reach the image, and the default model directory resolves in it', () => {
  const patterns = dockerignorePatterns();
  const workdir = instructions('WORKDIR').at(-1)?.args;
  assert.equal(workdir, '/app');
  const copiesModels = instructions('COPY').some((i) => /^models\/?\s+\.\/models\/?$/.test(i.args));
  assert.ok(copiesModels, 'COPY models ./models in the runtime stage');
  // MEDSTREAM_MODEL_DIR is relative to the working directory.
  const defaultModel = EnvSchema.shape.MEDSTREAM_MODEL_DIR.parse(undefined);
  const manifestPath = join(defaultModel, 'manifest.json');
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, manifestPath), 'utf8')) as {
    onnx: { file: string };
  };
  for (const file of ['manifest.json', manifest.onnx.file, 'words.txt', 'chars.txt']) {
    const path = join(defaultModel, file);
    assert.ok(existsSync(join(REPO_ROOT, path)), `${path} exists`);
    assert.ok(!dockerignored(patterns, path), `${path} reaches the image`);
  }
});

test('no data root is baked into the image', () => {
  const text = readRepoFile('Dockerfile');
  assert.doesNotMatch(text, /^\s*(COPY|ADD)\s.*shared/m);
  assert.equal(instructions('ADD').length, 0, 'COPY only (no remote ADD)');
});
