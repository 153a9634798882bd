import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { MedStreamError } from '../../errors.js';
import type {
  BuiltDictionary,
  DictionaryCounts,
  DictionarySourceFile,
} from './dictionary-builder.js';
import {
  DICTIONARY_FILE,
  DICTIONARY_FORMAT,
  DICTIONARY_FORMAT_VERSION,
  DICTIONARY_MANIFEST_FILE,
  validateDictionaryData,
} from './dictionary-data.js';
import type { DictionaryData } from './dictionary-data.js';

/**
 * The dictionary artifact on disk: `DIR/dictionary.json.gz` (DictionaryData) next to
 * `DIR/dictionary-manifest.json` (what it was built from: source files with sha256, counts,
 * vocabulary version, and the artifact's own size and sha256). Files are written to a
 * temporary name and renamed, so a reader never sees half an artifact.
 */
export interface DictionaryManifest {
  readonly format: typeof DICTIONARY_FORMAT;
  readonly formatVersion: number;
  readonly vocabularyVersion: string;
  readonly builtAt: string;
  readonly corpora: readonly string[];
  readonly splits: readonly string[];
  readonly sources: readonly DictionarySourceFile[];
  readonly counts: DictionaryCounts;
  readonly artifact: { readonly file: string; readonly bytes: number; readonly sha256: string };
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

async function writeAtomic(path: string, content: Buffer | string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

/** Writes both files into `dir` (created) and returns the manifest. */
export async function writeDictionary(
  dir: string,
  built: BuiltDictionary,
  now: Date = new Date(),
): Promise<DictionaryManifest> {
  await mkdir(dir, { recursive: true });
  const bytes = await gzipAsync(Buffer.from(JSON.stringify(built.data)), { level: 9 });
  await writeAtomic(join(dir, DICTIONARY_FILE), bytes);
  const manifest: DictionaryManifest = {
    format: DICTIONARY_FORMAT,
    formatVersion: DICTIONARY_FORMAT_VERSION,
    vocabularyVersion: built.data.vocabularyVersion,
    builtAt: now.toISOString(),
    corpora: built.corpora,
    splits: built.splits,
    sources: built.sources,
    counts: built.counts,
    artifact: {
      file: DICTIONARY_FILE,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    },
  };
  await writeAtomic(join(dir, DICTIONARY_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reads and validates `DIR/dictionary.json.gz`; INPUT_NOT_FOUND or DICTIONARY_INVALID. */
export async function readDictionaryData(dir: string): Promise<DictionaryData> {
  const path = join(dir, DICTIONARY_FILE);
  const bytes = await readFile(path).catch((error: unknown) => {
    throw new MedStreamError(
      'INPUT_NOT_FOUND',
      `cannot read ${path}: build it with medstream build-dictionary --out ${dir}`,
      { cause: error },
    );
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse((await gunzipAsync(bytes)).toString('utf8'));
  } catch (error) {
    throw new MedStreamError('DICTIONARY_INVALID', `${path} is not gzipped JSON`, {
      cause: error,
    });
  }
  return validateDictionaryData(parsed);
}

/** Reads `DIR/dictionary-manifest.json`. */
export async function readDictionaryManifest(dir: string): Promise<DictionaryManifest> {
  const path = join(dir, DICTIONARY_MANIFEST_FILE);
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new MedStreamError('INPUT_NOT_FOUND', `cannot read ${path}`, { cause: error });
  });
  try {
    return JSON.parse(text) as DictionaryManifest;
  } catch (error) {
    throw new MedStreamError('DICTIONARY_INVALID', `${path} is not JSON`, { cause: error });
  }
}
