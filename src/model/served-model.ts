import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { z } from 'zod';
import { MedStreamError } from '../errors.js';
import { TOKENIZER_VERSION } from '../text/tokenizer.js';
import type { CrfParameters } from './crf-decode.js';
import { crfFromManifest } from './crf-decode.js';
import type { SessionOptions } from './onnx-session.js';
import { createSession } from './onnx-session.js';

/**
 * A served model directory (format `medstream-model/1`, written by models/medstream_models/
 * mtl_export.py): model.onnx, manifest.json, words.txt, chars.txt. The manifest is the
 * contract; only the parts inference needs are validated here, and a mismatch (format,
 * tokenizer version, vocabulary sizes) fails at load time, never as wrong output later.
 */
const CrfSchema = z.object({
  transitions: z.array(z.array(z.number())),
  start: z.array(z.number()),
  end: z.array(z.number()),
});

const ManifestSchema = z.object({
  format: z.literal('medstream-model/1'),
  name: z.string(),
  version: z.string(),
  tokenizer_version: z.string(),
  onnx: z.object({ file: z.string() }),
  preprocessing: z.object({
    word: z.object({
      vocab_file: z.string(),
      size: z.number().int(),
      padding_id: z.number().int(),
      unknown_id: z.number().int(),
    }),
    char: z.object({
      vocab_file: z.string(),
      size: z.number().int(),
      max_chars: z.number().int().positive(),
      padding_id: z.number().int(),
      unknown_id: z.number().int(),
    }),
  }),
  entity_types: z.array(z.string()),
  tasks: z.object({
    mer: z.object({
      output: z.string(),
      scheme: z.literal('bio'),
      labels: z.array(z.string()),
      crf: CrfSchema,
    }),
    men: z.object({
      output: z.string(),
      scheme: z.literal('bio'),
      labels: z.array(z.string()),
    }),
  }),
});

export type ModelManifest = z.output<typeof ManifestSchema>;

export interface ModelOutputs {
  /** [rows × maxLength × merLabels], row-major. */
  mer: Float32Array;
  /** [rows × maxLength × menLabels] log-probabilities, row-major. */
  men: Float32Array;
  rows: number;
  maxLength: number;
  /** Characters per token in the padded char_ids input. */
  maxChars: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reusable output storage for {@link ServedModel.run}: one growing Float32Array per output.
 * Whoever owns it must finish with one run's outputs before the next run that uses it.
 */
export class OutputBuffers {
  private readonly arrays = new Map<string, Float32Array>();

  /** A view of `length` floats of the buffer for `name` (grown, never shrunk). */
  take(name: string, length: number): Float32Array {
    let array = this.arrays.get(name);
    if (array === undefined || array.length < length) {
      array = new Float32Array(Math.max(length, Math.ceil((array?.length ?? 0) * 1.5)));
      this.arrays.set(name, array);
    }
    return array.subarray(0, length);
  }
}

export class ServedModel {
  readonly merCrf: CrfParameters;
  readonly merLabels: readonly string[];
  readonly menLabels: readonly string[];

  private constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    private readonly session: InferenceSession,
    private readonly words: ReadonlyMap<string, number>,
    private readonly chars: ReadonlyMap<string, number>,
  ) {
    this.merCrf = crfFromManifest(manifest.tasks.mer.crf);
    this.merLabels = manifest.tasks.mer.labels;
    this.menLabels = manifest.tasks.men.labels;
  }

  static async load(dir: string, options: SessionOptions = {}): Promise<ServedModel> {
    let manifest: ModelManifest;
    try {
      manifest = ManifestSchema.parse(
        JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')),
      );
    } catch (error) {
      throw new MedStreamError('MODEL_INVALID', `${dir}: unreadable or invalid manifest.json`, {
        cause: error,
      });
    }
    if (manifest.tokenizer_version !== TOKENIZER_VERSION) {
      throw new MedStreamError(
        'MODEL_INVALID',
        `${dir} was trained with tokenizer ${manifest.tokenizer_version}, this build has ` +
          `${TOKENIZER_VERSION}: retrain or use a matching model`,
      );
    }
    const pre = manifest.preprocessing;
    const words = await readVocabulary(join(dir, pre.word.vocab_file), pre.word.size);
    const chars = await readVocabulary(join(dir, pre.char.vocab_file), pre.char.size);
    if (manifest.tasks.mer.crf.start.length !== manifest.tasks.mer.labels.length) {
      throw new MedStreamError('MODEL_INVALID', `${dir}: CRF size differs from the MER labels`);
    }
    const session = await createSession(join(dir, manifest.onnx.file), options);
    return new ServedModel(dir, manifest, session, words, chars);
  }

  get name(): string {
    return this.manifest.name;
  }

  get version(): string {
    return this.manifest.version;
  }

  /** The manifest's rule: lower-case, then every ASCII digit becomes '0'. */
  wordId(token: string): number {
    const key = token.toLowerCase().replace(/[0-9]/g, '0');
    return this.words.get(key) ?? this.manifest.preprocessing.word.unknown_id;
  }

  /** Code points, not UTF-16 units (the manifest's rule, Python's iteration over str). */
  charIds(token: string): number[] {
    const { max_chars: max, unknown_id: unknown } = this.manifest.preprocessing.char;
    const ids: number[] = [];
    for (const ch of token) {
      if (ids.length >= max) break;
      ids.push(this.chars.get(ch) ?? unknown);
    }
    return ids;
  }

  /**
   * Runs one padded batch. `rows` are token strings; padding uses the manifest's ids and
   * `lengths` tells the model where each row ends (its outputs past a row's end are unused).
   *
   * With `buffers`, the outputs are written into (and returned as views of) those buffers
   * instead of fresh arrays: no allocation per batch (the MEN scores are rows × length × ~2,700
   * floats), but the result is only valid until the next run with the same buffers.
   */
  async run(rows: readonly (readonly string[])[], buffers?: OutputBuffers): Promise<ModelOutputs> {
    const pre = this.manifest.preprocessing;
    const batch = rows.length;
    let maxLength = 1;
    let maxChars = 1;
    for (const row of rows) {
      if (row.length > maxLength) maxLength = row.length;
      for (const token of row) {
        maxChars = Math.max(maxChars, Math.min(token.length, pre.char.max_chars));
      }
    }
    const wordIds = new BigInt64Array(batch * maxLength);
    const charIds = new BigInt64Array(batch * maxLength * maxChars);
    const lengths = new BigInt64Array(batch);
    this.fillInputs(rows, maxLength, maxChars, wordIds, charIds, lengths);
    const feeds = {
      word_ids: new Tensor('int64', wordIds, [batch, maxLength]),
      char_ids: new Tensor('int64', charIds, [batch, maxLength, maxChars]),
      lengths: new Tensor('int64', lengths, [batch]),
    };
    const { mer, men } = this.manifest.tasks;
    let fetches: Record<string, Tensor | null> = { [mer.output]: null, [men.output]: null };
    if (buffers !== undefined) {
      const cells = batch * maxLength;
      fetches = {
        [mer.output]: new Tensor('float32', buffers.take('mer', cells * this.merLabels.length), [
          batch,
          maxLength,
          this.merLabels.length,
        ]),
        [men.output]: new Tensor('float32', buffers.take('men', cells * this.menLabels.length), [
          batch,
          maxLength,
          this.menLabels.length,
        ]),
      };
    }
    const out = await this.session.run(feeds, fetches);
    return {
      mer: out[mer.output].data as Float32Array,
      men: out[men.output].data as Float32Array,
      rows: batch,
      maxLength,
      maxChars,
    };
  }

  /**
   * Token ids into the int64 inputs. Ids are small non-negative integers, so on little-endian
   * machines they are written as the low 32-bit word of each int64 (the high word stays 0)
   * instead of converting every id to a BigInt.
   */
  private fillInputs(
    rows: readonly (readonly string[])[],
    maxLength: number,
    maxChars: number,
    wordIds: BigInt64Array,
    charIds: BigInt64Array,
    lengths: BigInt64Array,
  ): void {
    const { word, char } = this.manifest.preprocessing;
    const ids = [word.padding_id, word.unknown_id, char.padding_id, char.unknown_id];
    if (!LITTLE_ENDIAN || ids.some((id) => id < 0 || id > 0x7fffffff)) {
      this.fillInputsBigInt(rows, maxLength, maxChars, wordIds, charIds, lengths);
      return;
    }
    const words32 = new Int32Array(wordIds.buffer, wordIds.byteOffset, wordIds.length * 2);
    const chars32 = new Int32Array(charIds.buffer, charIds.byteOffset, charIds.length * 2);
    if (word.padding_id !== 0)
      for (let i = 0; i < wordIds.length; i += 1) words32[2 * i] = word.padding_id;
    if (char.padding_id !== 0)
      for (let i = 0; i < charIds.length; i += 1) chars32[2 * i] = char.padding_id;
    const maxCodePoints = char.max_chars;
    for (let b = 0; b < rows.length; b += 1) {
      const row = rows[b];
      lengths[b] = BigInt(row.length);
      for (let t = 0; t < row.length; t += 1) {
        const token = row[t];
        const cell = b * maxLength + t;
        words32[2 * cell] = this.wordId(token);
        let c = 0;
        for (const ch of token) {
          if (c >= maxCodePoints) break;
          chars32[2 * (cell * maxChars + c)] = this.chars.get(ch) ?? char.unknown_id;
          c += 1;
        }
      }
    }
  }

  private fillInputsBigInt(
    rows: readonly (readonly string[])[],
    maxLength: number,
    maxChars: number,
    wordIds: BigInt64Array,
    charIds: BigInt64Array,
    lengths: BigInt64Array,
  ): void {
    const pre = this.manifest.preprocessing;
    wordIds.fill(BigInt(pre.word.padding_id));
    charIds.fill(BigInt(pre.char.padding_id));
    rows.forEach((row, b) => {
      lengths[b] = BigInt(row.length);
      row.forEach((token, t) => {
        const cell = b * maxLength + t;
        wordIds[cell] = BigInt(this.wordId(token));
        this.charIds(token).forEach((id, c) => {
          charIds[cell * maxChars + c] = BigInt(id);
        });
      });
    });
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

async function readVocabulary(path: string, size: number): Promise<Map<string, number>> {
  const text = await readFile(path, 'utf8');
  const entries = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  if (entries.length !== size) {
    throw new MedStreamError(
      'MODEL_INVALID',
      `${path} has ${entries.length} entries, the manifest says ${size}`,
    );
  }
  const map = new Map<string, number>();
  entries.forEach((entry, id) => {
    if (!map.has(entry)) map.set(entry, id);
  });
  return map;
}
