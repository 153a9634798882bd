// Parity between the PyTorch smoke tagger and the same model served by onnxruntime-node.
// Python trains and exports it (models/medstream_models/smoke.py) and writes parity.json: fixed
// inputs with the PyTorch emissions and Viterbi tags. Here onnxruntime-node must reproduce the
// emissions, and a TypeScript Viterbi over the manifest's CRF parameters must reproduce the tags.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';

const execFileAsync = promisify(execFile);

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const venvPython = path.join(repoRoot, '.venv', 'bin', 'python');
const smokeConfig = path.join(repoRoot, 'models', 'configs', 'smoke.toml');
const ATOL = 1e-4;

interface Manifest {
  name: string;
  version: string;
  onnx: { file: string; opset: number };
  inputs: { name: string; dtype: string; shape: (string | number)[] }[];
  outputs: { name: string; dtype: string; shape: (string | number)[] }[];
  labels: string[];
  crf: { transitions: number[][]; start: number[]; end: number[] };
  config: { export: { dummy_batch: number; dummy_len: number; dummy_chars: number } };
}

interface ParityCase {
  name: string;
  wordIds: number[][];
  charIds: number[][][];
  lengths: number[];
  emissions: number[][][];
  tags: number[][];
}

interface Inputs {
  wordIds: number[][];
  charIds: number[][][];
  lengths: number[];
}

let outDir = '';
let manifest: Manifest;
let cases: ParityCase[];
let session: ort.InferenceSession;

before(async () => {
  if (!existsSync(venvPython)) {
    throw new Error(
      `${venvPython} is missing: run bash scripts/python-env.sh setup (creates the Python environment for models/)`,
    );
  }
  outDir = await mkdtemp(path.join(tmpdir(), 'medstream-onnx-smoke-'));
  try {
    await execFileAsync(
      venvPython,
      ['-m', 'medstream_models.smoke', '--config', smokeConfig, '--out', outDir],
      { cwd: repoRoot, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`python -m medstream_models.smoke failed:\n${stderr}`, { cause: error });
  }
  manifest = JSON.parse(await readFile(path.join(outDir, 'manifest.json'), 'utf8')) as Manifest;
  const parity = JSON.parse(await readFile(path.join(outDir, 'parity.json'), 'utf8')) as {
    cases: ParityCase[];
  };
  cases = parity.cases;
  session = await ort.InferenceSession.create(path.join(outDir, manifest.onnx.file), {
    executionProviders: ['cpu'],
  });
});

after(async () => {
  await session?.release();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

function int64Tensor(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    dims,
  );
}

/** Runs the session; returns emissions as [batch][seq][tags]. */
async function runEmissions(inputs: Inputs): Promise<number[][][]> {
  const batch = inputs.wordIds.length;
  const seq = inputs.wordIds[0]?.length ?? 0;
  const chars = inputs.charIds[0]?.[0]?.length ?? 0;
  const result = await session.run({
    word_ids: int64Tensor(inputs.wordIds.flat(), [batch, seq]),
    char_ids: int64Tensor(inputs.charIds.flat(2), [batch, seq, chars]),
    lengths: int64Tensor(inputs.lengths, [batch]),
  });
  const output = result['emissions'];
  assert.ok(output, 'session returned no "emissions" output');
  const numTags = manifest.labels.length;
  assert.deepEqual(output.dims, [batch, seq, numTags]);
  const data = output.data as Float32Array;
  return Array.from({ length: batch }, (_, b) =>
    Array.from({ length: seq }, (_, t) =>
      Array.from(data.subarray((b * seq + t) * numTags, (b * seq + t + 1) * numTags)),
    ),
  );
}

/** Best tag path for one sentence's real tokens; transitions[from][to], as in models/crf.py. */
function viterbi(
  emissions: number[][],
  transitions: number[][],
  start: number[],
  end: number[],
): number[] {
  const numTags = start.length;
  let score = start.map((s, k) => s + emissions[0][k]);
  const backpointers: number[][] = [];
  for (let t = 1; t < emissions.length; t++) {
    const next: number[] = [];
    const back: number[] = [];
    for (let to = 0; to < numTags; to++) {
      let best = -Infinity;
      let arg = 0;
      for (let from = 0; from < numTags; from++) {
        const candidate = score[from] + transitions[from][to];
        if (candidate > best) {
          best = candidate;
          arg = from;
        }
      }
      next.push(best + emissions[t][to]);
      back.push(arg);
    }
    score = next;
    backpointers.push(back);
  }
  let last = 0;
  for (let k = 1; k < numTags; k++) {
    if (score[k] + end[k] > score[last] + end[last]) last = k;
  }
  const path = [last];
  for (let t = backpointers.length - 1; t >= 0; t--) {
    last = backpointers[t][last];
    path.push(last);
  }
  return path.reverse();
}

function maxAbsDiff(a: number[][][], b: number[][][]): number {
  let max = 0;
  a.forEach((rows, i) =>
    rows.forEach((row, j) =>
      row.forEach((v, k) => {
        max = Math.max(max, Math.abs(v - b[i][j][k]));
      }),
    ),
  );
  return max;
}

test('manifest describes the served graph', () => {
  assert.deepEqual(
    manifest.inputs.map((i) => i.name),
    session.inputNames,
  );
  assert.deepEqual(
    manifest.outputs.map((o) => o.name),
    session.outputNames,
  );
  const numTags = manifest.labels.length;
  assert.equal(manifest.crf.transitions.length, numTags);
  assert.ok(manifest.crf.transitions.every((row) => row.length === numTags));
  assert.equal(manifest.crf.start.length, numTags);
  assert.equal(manifest.crf.end.length, numTags);
  assert.ok(manifest.onnx.opset >= 13);
});

test('parity cases use other shapes than the export dummy input', () => {
  const dummy = manifest.config.export;
  assert.ok(cases.length >= 2);
  for (const c of cases) {
    const shape = [c.wordIds.length, c.wordIds[0].length, c.charIds[0][0].length];
    assert.notEqual(shape[1], dummy.dummy_len, c.name);
    assert.notEqual(shape[2], dummy.dummy_chars, c.name);
  }
  assert.ok(new Set(cases.map((c) => c.wordIds.length)).size >= 2, 'several batch sizes');
});

test('onnxruntime-node emissions match PyTorch and TS Viterbi matches PyTorch tags', async (t) => {
  let worst = 0;
  for (const c of cases) {
    const emissions = await runEmissions(c);
    const diff = maxAbsDiff(emissions, c.emissions);
    worst = Math.max(worst, diff);
    assert.ok(diff <= ATOL, `${c.name}: max |onnx - torch| = ${diff} > ${ATOL}`);
    c.lengths.forEach((length, b) => {
      const { transitions, start, end } = manifest.crf;
      const tags = viterbi(emissions[b].slice(0, length), transitions, start, end);
      assert.deepEqual(tags, c.tags[b], `${c.name}[${b}]: Viterbi tags differ`);
    });
  }
  t.diagnostic(
    `max |emissions(onnxruntime-node) - emissions(PyTorch)| = ${worst.toExponential(3)}`,
  );
});

test('a sentence alone gives the same emissions as inside a padded batch', async () => {
  const c = cases.reduce((a, b) => (b.wordIds.length > a.wordIds.length ? b : a));
  const batched = await runEmissions(c);
  for (const [b, length] of c.lengths.entries()) {
    const words = c.charIds[b].slice(0, length);
    const chars = Math.max(...words.map((w) => w.filter((id) => id !== 0).length));
    const alone = await runEmissions({
      wordIds: [c.wordIds[b].slice(0, length)],
      charIds: [words.map((w) => w.slice(0, chars))],
      lengths: [length],
    });
    const diff = maxAbsDiff(alone, [batched[b].slice(0, length)]);
    assert.ok(diff <= ATOL, `${c.name}[${b}] alone vs batched: ${diff}`);
  }
});
