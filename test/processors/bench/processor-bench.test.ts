import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { loadConfig } from '../../../src/config/config.js';
import { countWithPython, modelFlops } from '../../../src/processors/bench/model-flops.js';
import { runProcessorBench } from '../../../src/processors/bench/processor-bench.js';
import { matMulModel } from '../../../src/processors/bench/roofline.js';

/**
 * The bench's FLOP counter (models/medstream_models/flops.py through the project's Python
 * environment) on a graph whose count is known, the roofline's hand-written ONNX file, and the
 * keys of the bench's JSON on a few real abstracts. Needs the data root, the Python environment
 * (`bash scripts/python-env.sh setup`) and a served model; fails (never skips) without them.
 */
const dir = await mkdtemp(join(tmpdir(), 'medstream-bench-test-'));
after(() => rm(dir, { recursive: true, force: true }));

const modelsRoot = new URL('../../../models/', import.meta.url).pathname;
const modelDir = ['bc5cdr-mtl', 'tiny-check']
  .map((name) => join(modelsRoot, name))
  .find((d) => existsSync(join(d, 'manifest.json')));

test('the roofline model is a valid ONNX MatMul that onnxruntime computes correctly', async () => {
  const [m, k, n] = [3, 4, 5];
  const b = Float32Array.from({ length: k * n }, (_, i) => (i % 7) - 3);
  const a = Float32Array.from({ length: m * k }, (_, i) => (i % 5) - 2);
  const path = join(dir, 'matmul-small.onnx');
  await writeFile(path, matMulModel(m, k, n, b));
  const session = await InferenceSession.create(path);
  try {
    const out = await session.run({ a: new Tensor('float32', a, [m, k]) });
    assert.deepEqual(out.y.dims, [m, n]);
    const y = out.y.data as Float32Array;
    for (let i = 0; i < m; i += 1) {
      for (let j = 0; j < n; j += 1) {
        let sum = 0;
        for (let p = 0; p < k; p += 1) sum += a[i * k + p] * b[p * n + j];
        assert.equal(y[i * n + j], sum);
      }
    }
  } finally {
    await session.release();
  }
});

test('the FLOP counter gives 2·m·k·n for a single MatMul and names it the largest product', async () => {
  const [m, k, n] = [7, 300, 11];
  const path = join(dir, 'matmul.onnx');
  await writeFile(path, matMulModel(m, k, n, new Float32Array(k * n)));
  const counted = await countWithPython(path, { batch: 1, seq: 1, chars: 1 });
  assert.equal(counted.flops, 2 * m * k * n);
  assert.deepEqual(counted.by_op, { MatMul: 2 * m * k * n });
  assert.deepEqual(counted.unresolved, []);
  assert.equal(counted.largest_matmul?.m, m);
  assert.equal(counted.largest_matmul?.k, k);
  assert.equal(counted.largest_matmul?.n, n);

  // Cached by content: the second call reads the cache, with the same answer.
  const cacheDir = join(dir, 'cache');
  const first = await modelFlops(path, { batch: 1, seq: 1, chars: 1 }, { cacheDir });
  const second = await modelFlops(path, { batch: 1, seq: 1, chars: 1 }, { cacheDir });
  assert.equal(first.source, 'computed');
  assert.equal(second.source, 'cache');
  assert.equal(second.flops, first.flops);
  assert.equal(second.flopsPerToken, 2 * m * k * n);
});

test('the bench JSON on a few abstracts has every required key, consistently', async () => {
  assert.ok(modelDir !== undefined, 'no served model (models/bc5cdr-mtl) nor models/tiny-check');
  const config = loadConfig({ ...process.env, MEDSTREAM_CACHE: join(dir, 'bench-cache') });
  const result = await runProcessorBench({
    config,
    modelDir,
    abstracts: 12,
    intraOpThreads: 1,
    maxBatchTokens: 1024,
    dictionary: false,
    rooflineSeconds: 0.2,
  });
  for (const key of [
    'abstracts_per_s',
    'tokens_per_s',
    'model_gflops_per_token',
    'roofline_gflops',
    'efficiency',
    'rss_mb',
  ] as const) {
    const value = result[key];
    assert.ok(typeof value === 'number' && Number.isFinite(value) && value > 0, `${key}: ${value}`);
  }
  assert.equal(result.abstracts, 12);
  assert.ok(result.tokens > 12 * 50, `tokens ${result.tokens}`);
  assert.equal(result.config.intra_op_threads, 1);
  assert.equal(result.config.max_batch_tokens, 1024);
  assert.ok(result.model.name.length > 0 && result.model.version.length > 0);
  assert.match(result.model.sha256 ?? '', /^[0-9a-f]{64}$/);
  // efficiency = tokens/s × GFLOP/token ÷ roofline GFLOP/s (up to the rounding of each part).
  const expected = (result.tokens_per_s * result.model_gflops_per_token!) / result.roofline_gflops!;
  assert.ok(Math.abs(result.efficiency! - expected) <= 0.01 * expected + 1e-3);
  // The model's big products are the MEN head: k = 2 × BiLSTM output, n = |MEN labels|.
  assert.ok(result.roofline!.n > 1000 && result.roofline!.k >= 64);
  assert.equal(result.e2e_abstracts_per_s, undefined);
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(result)));
});
