import { MedStreamError } from '../../errors.js';

/**
 * The compiled normalization dictionary as stored in `dictionary.json.gz` (written by
 * `medstream build-dictionary`, read by `loadDictionary`). Parallel arrays instead of objects
 * keep the file small and the parse fast.
 *
 * Invariants (checked by `validateDictionaryData`):
 * - concept IDs are CURIEs (`MESH:D003920`, `OMIM:222100`), unique, and primary: an alternative
 *   ID that MEDIC lists under exactly one concept is stored in `altIds` and never as a concept;
 * - every index points into its array; every target is a non-empty list of concept indices (a
 *   composite training mention such as `breast and ovarian cancer` has several);
 * - one entry per (name key, target): the first surface form seen is kept, sources merged.
 */
export const DICTIONARY_FORMAT = 'medstream-dictionary';
export const DICTIONARY_FORMAT_VERSION = 1;
export const DICTIONARY_FILE = 'dictionary.json.gz';
export const DICTIONARY_MANIFEST_FILE = 'dictionary-manifest.json';

/** Entity types a concept can have, as bits of `conceptTypes`. */
export const ENTITY_TYPE_BITS: Readonly<Record<string, number>> = { Disease: 1, Chemical: 2 };

/** Where a name came from, as bits of `entrySources`. */
export const NAME_SOURCES = {
  /** A mention in a training corpus split (with its count). */
  training: 1,
  /** CTD MEDIC preferred name. */
  medicName: 2,
  /** CTD MEDIC synonym. */
  medicSynonym: 4,
  /** MeSH descriptor heading (MeSH_dic.tsv). */
  meshHeading: 8,
  /** MeSH supplementary concept name (dismanet mesh_scr.tsv). */
  meshScr: 16,
  /** OMIM name (dismanet omim.tsv). */
  omim: 32,
  /** UMLS name of a MeSH disease descriptor (dismanet mesh_to_cui.tsv). */
  umls: 64,
  /** Orphanet name mapped to a MeSH descriptor (dismanet orphanet_to_mesh.tsv). */
  orphanet: 128,
} as const;

export type NameSource = keyof typeof NAME_SOURCES;

export interface DictionaryData {
  readonly format: typeof DICTIONARY_FORMAT;
  readonly formatVersion: number;
  readonly vocabularyVersion: string;
  readonly conceptIds: readonly string[];
  /** Preferred name per concept (MEDIC name, else MeSH heading in words, else a source name). */
  readonly conceptNames: readonly string[];
  /** Bitmask of ENTITY_TYPE_BITS per concept (0: other, e.g. an anatomy descriptor). */
  readonly conceptTypes: readonly number[];
  /** Alternative IDs and the index of their primary concept. */
  readonly altIds: readonly string[];
  readonly altTargets: readonly number[];
  /** Lists of concept indices an entry can map to. */
  readonly targets: readonly (readonly number[])[];
  readonly entryNames: readonly string[];
  readonly entryTargets: readonly number[];
  /** Bitmask of NAME_SOURCES. */
  readonly entrySources: readonly number[];
  /** Training mention count (0 for vocabulary-only names). */
  readonly entryCounts: readonly number[];
}

function invalid(message: string): MedStreamError {
  return new MedStreamError('DICTIONARY_INVALID', `normalization dictionary: ${message}`);
}

function isArrayOf<T>(value: unknown, check: (v: unknown) => v is T): value is T[] {
  return Array.isArray(value) && value.every(check);
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => Number.isInteger(v);

/** Checks shape and index ranges of parsed JSON; throws DICTIONARY_INVALID. */
export function validateDictionaryData(value: unknown): DictionaryData {
  if (typeof value !== 'object' || value === null) throw invalid('not a JSON object');
  const d = value as Record<string, unknown>;
  if (d.format !== DICTIONARY_FORMAT) throw invalid(`format is not ${DICTIONARY_FORMAT}`);
  if (d.formatVersion !== DICTIONARY_FORMAT_VERSION) {
    throw invalid(
      `format version ${String(d.formatVersion)}, expected ${DICTIONARY_FORMAT_VERSION}: rebuild it with medstream build-dictionary`,
    );
  }
  if (!isString(d.vocabularyVersion)) throw invalid('vocabularyVersion missing');
  for (const field of ['conceptIds', 'conceptNames', 'altIds', 'entryNames']) {
    if (!isArrayOf(d[field], isString)) throw invalid(`${field} must be an array of strings`);
  }
  for (const field of [
    'conceptTypes',
    'altTargets',
    'entryTargets',
    'entrySources',
    'entryCounts',
  ]) {
    if (!isArrayOf(d[field], isInt)) throw invalid(`${field} must be an array of integers`);
  }
  const data = d as unknown as DictionaryData;
  const concepts = data.conceptIds.length;
  if (data.conceptNames.length !== concepts || data.conceptTypes.length !== concepts) {
    throw invalid('concept arrays differ in length');
  }
  if (new Set(data.conceptIds).size !== concepts) throw invalid('duplicate concept IDs');
  if (data.altTargets.length !== data.altIds.length) throw invalid('alt arrays differ in length');
  if (!data.altTargets.every((t) => t >= 0 && t < concepts))
    throw invalid('alt target out of range');
  if (!isArrayOf(d.targets, (t): t is number[] => isArrayOf(t, isInt) && t.length > 0)) {
    throw invalid('targets must be non-empty arrays of integers');
  }
  if (!data.targets.every((t) => t.every((c) => c >= 0 && c < concepts))) {
    throw invalid('target concept out of range');
  }
  const entries = data.entryNames.length;
  if (
    data.entryTargets.length !== entries ||
    data.entrySources.length !== entries ||
    data.entryCounts.length !== entries
  ) {
    throw invalid('entry arrays differ in length');
  }
  if (!data.entryTargets.every((t) => t >= 0 && t < data.targets.length)) {
    throw invalid('entry target out of range');
  }
  return data;
}
