import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MedStreamError } from '../../errors.js';
import type { GemmShape } from './roofline.js';

const run = promisify(execFile);

/** The project's Python environment (scripts/python-env.sh setup). */
export const DEFAULT_PYTHON = fileURLToPath(new URL('../../../.venv/bin/python', import.meta.url));

/** Symbolic input dimensions of a served model (mtl_export.py's dynamic axes). */
export interface ModelDims {
  batch: number;
  seq: number;
  chars: number;
}

/**
 * FLOPs of one run of an ONNX graph, counted from the graph by
 * models/medstream_models/flops.py (operator shapes from onnx shape inference; conventions in
 * that module's docstring).
 */
export interface ModelFlops {
  sha256: string;
  dims: ModelDims;
  flops: number;
  /** flops ÷ (batch × seq): the model's cost per real token (no padding). */
  flopsPerToken: number;
  byOp: Record<string, number>;
  largestMatmul: GemmShape | null;
  unresolved: string[];
  /** `computed` by running the counter now, or read from the `cache`. */
  source: 'computed' | 'cache';
}

interface FlopsJson {
  sha256: string;
  flops: number;
  flops_per_unit: number;
  by_op: Record<string, number>;
  largest_matmul?: GemmShape;
  unresolved: string[];
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Counts the model's FLOPs with the Python counter, or reads the answer it gave before for the
 * same file content (sha256) and dims from `cacheDir`, so the bench runs without Python once a
 * model has been counted.
 */
export async function modelFlops(
  modelPath: string,
  dims: ModelDims,
  options: { cacheDir: string; python?: string },
): Promise<ModelFlops> {
  const sha256 = await sha256File(modelPath);
  const cacheFile = join(
    options.cacheDir,
    'bench',
    'flops',
    `${sha256}-b${dims.batch}-t${dims.seq}-c${dims.chars}.json`,
  );
  let parsed: FlopsJson;
  let source: ModelFlops['source'];
  if (existsSync(cacheFile)) {
    parsed = JSON.parse(await readFile(cacheFile, 'utf8')) as FlopsJson;
    source = 'cache';
  } else {
    parsed = await countWithPython(modelPath, dims, options.python ?? DEFAULT_PYTHON);
    if (parsed.sha256 !== sha256) {
      throw new MedStreamError(
        'MODEL_INVALID',
        `${modelPath} changed while its FLOPs were counted`,
      );
    }
    await mkdir(dirname(cacheFile), { recursive: true });
    await writeFile(`${cacheFile}.tmp`, `${JSON.stringify(parsed)}\n`);
    await rename(`${cacheFile}.tmp`, cacheFile);
    source = 'computed';
  }
  return {
    sha256,
    dims,
    flops: parsed.flops,
    flopsPerToken: parsed.flops_per_unit,
    byOp: parsed.by_op,
    largestMatmul: parsed.largest_matmul
      ? { m: parsed.largest_matmul.m, k: parsed.largest_matmul.k, n: parsed.largest_matmul.n }
      : null,
    unresolved: parsed.unresolved,
    source,
  };
}

export async function countWithPython(
  modelPath: string,
  dims: ModelDims,
  python: string = DEFAULT_PYTHON,
): Promise<FlopsJson> {
  if (!existsSync(python)) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `no Python at ${python} to count the model's FLOPs: run \`bash scripts/python-env.sh setup\` ` +
        'or pass --python PATH (an interpreter with the onnx package and models/ installed)',
    );
  }
  const args = ['-m', 'medstream_models.flops', modelPath, '--per', 'batch', '--per', 'seq'];
  for (const [name, value] of Object.entries(dims)) args.push('--dim', `${name}=${value}`);
  try {
    const { stdout } = await run(python, args, { maxBuffer: 16 * 1024 * 1024 });
    return JSON.parse(stdout) as FlopsJson;
  } catch (error) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `counting FLOPs with ${python} -m medstream_models.flops failed (see cause)`,
      { cause: error },
    );
  }
}
