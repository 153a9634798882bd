import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { MedStreamError } from '../errors.js';

/**
 * Variants of a served model directory. An int8 variant (written by
 * models/medstream_models/quantize.py) carries a `quantization` block in its manifest naming
 * the float model it was made from: a sibling directory and that model's ONNX sha256.
 */
const QuantizationSchema = z.object({
  tool: z.string(),
  weights: z.string(),
  nodes: z.array(z.string()),
  source: z.object({
    name: z.string(),
    version: z.string(),
    dir: z.string(),
    onnx_sha256: z.string(),
  }),
});

const VariantManifestSchema = z.object({
  name: z.string(),
  onnx: z.object({ file: z.string() }),
  quantization: QuantizationSchema.optional(),
});

export type Quantization = z.output<typeof QuantizationSchema>;

export interface ModelVariant {
  dir: string;
  name: string;
  onnxPath: string;
  quantization: Quantization | null;
}

export async function readModelVariant(modelDir: string): Promise<ModelVariant> {
  const dir = resolve(modelDir);
  let parsed: z.output<typeof VariantManifestSchema>;
  try {
    parsed = VariantManifestSchema.parse(
      JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')),
    );
  } catch (error) {
    throw new MedStreamError('MODEL_INVALID', `${dir}: unreadable or invalid manifest.json`, {
      cause: error,
    });
  }
  return {
    dir,
    name: parsed.name,
    onnxPath: join(dir, parsed.onnx.file),
    quantization: parsed.quantization ?? null,
  };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The ONNX graph whose arithmetic is the model's cost per token. A float model: its own graph.
 * An int8 variant does the same multiply-accumulates as its float source, in integers (the
 * FLOP counter does not count integer operators), so its cost is counted on the source graph,
 * which must be the very file it was quantized from (sha256 in the manifest).
 */
export async function costGraph(
  variant: ModelVariant,
): Promise<{ path: string; countedOn: 'own graph' | 'float source graph' }> {
  if (variant.quantization === null) return { path: variant.onnxPath, countedOn: 'own graph' };
  const source = variant.quantization.source;
  const sourceDir = resolve(dirname(variant.dir), source.dir);
  const sourceManifest = join(sourceDir, 'manifest.json');
  if (!existsSync(sourceManifest)) {
    throw new MedStreamError(
      'MODEL_INVALID',
      `${variant.dir} is an int8 variant of ${source.name}@${source.version}, whose directory ` +
        `${sourceDir} is missing: its FLOPs are counted on that float graph`,
    );
  }
  const path = (await readModelVariant(sourceDir)).onnxPath;
  const sha256 = existsSync(path) ? await sha256File(path) : 'missing';
  if (sha256 !== source.onnx_sha256) {
    throw new MedStreamError(
      'MODEL_INVALID',
      `${variant.dir} was quantized from a ${source.name} graph with sha256 ` +
        `${source.onnx_sha256}, but ${path} has ${sha256}: re-run ` +
        `python -m medstream_models.quantize after exporting the float model`,
    );
  }
  return { path, countedOn: 'float source graph' };
}
