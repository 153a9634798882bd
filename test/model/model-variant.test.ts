import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { costGraph, readModelVariant } from '../../src/model/model-variant.js';

async function modelDir(root: string, name: string, onnx: string, extra: object = {}) {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), onnx);
  await writeFile(
    join(dir, 'manifest.json'),
    JSON.stringify({ name, version: '1.0.0', onnx: { file: 'model.onnx' }, ...extra }),
  );
  return dir;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function int8Of(sourceDir: string, sourceSha: string) {
  return {
    quantization: {
      tool: 'quantize_dynamic',
      weights: 'int8 (QInt8), per output channel',
      nodes: ['/MatMul'],
      source: { name: 'm', version: '1.0.0', dir: sourceDir, onnx_sha256: sourceSha },
    },
  };
}

test('a float model is costed on its own graph; an int8 variant on its float source', async () => {
  const root = await mkdtemp(join(tmpdir(), 'medstream-variant-'));
  try {
    const float = await modelDir(root, 'm', 'float graph');
    const int8 = await modelDir(root, 'm-int8', 'int8 graph', int8Of('m', sha('float graph')));
    const f = await readModelVariant(float);
    assert.equal(f.quantization, null);
    assert.deepEqual(await costGraph(f), {
      path: join(float, 'model.onnx'),
      countedOn: 'own graph',
    });
    const q = await readModelVariant(int8);
    assert.equal(q.quantization?.source.dir, 'm');
    assert.deepEqual(await costGraph(q), {
      path: join(float, 'model.onnx'),
      countedOn: 'float source graph',
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('an int8 variant of a float graph that has changed since, or is missing, is rejected', async () => {
  const root = await mkdtemp(join(tmpdir(), 'medstream-variant-'));
  try {
    await modelDir(root, 'm', 're-exported graph');
    const stale = await modelDir(root, 'stale-int8', 'x', int8Of('m', sha('float graph')));
    await assert.rejects(costGraph(await readModelVariant(stale)), (error: Error) => {
      assert.equal((error as Error & { code?: string }).code, 'MODEL_INVALID');
      assert.match(error.message, /re-run python -m medstream_models\.quantize/);
      return true;
    });
    const orphan = await modelDir(root, 'orphan-int8', 'x', int8Of('gone', sha('float graph')));
    await assert.rejects(costGraph(await readModelVariant(orphan)), /is missing/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a directory without a readable manifest is MODEL_INVALID', async () => {
  const root = await mkdtemp(join(tmpdir(), 'medstream-variant-'));
  try {
    await assert.rejects(readModelVariant(root), /unreadable or invalid manifest\.json/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
