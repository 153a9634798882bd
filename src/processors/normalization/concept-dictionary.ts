import { ENTITY_TYPE_BITS, NAME_SOURCES } from './dictionary-data.js';
import type { DictionaryData } from './dictionary-data.js';
import { readDictionaryData } from './dictionary-store.js';

/**
 * Read-only view of a compiled dictionary: concept lookups by ID (preferred name, entity
 * types, alternative ID → primary) for the normalizer, the Neo4j sink and the HTML report,
 * plus the name entries the Normalizer indexes.
 */
export interface ConceptInfo {
  /** Primary CURIE (an alternative ID given to `concept` is resolved). */
  readonly id: string;
  readonly name: string;
  /** Entity types (`Disease`, `Chemical`); empty for an untyped MeSH descriptor. */
  readonly types: readonly string[];
}

/** Ranking prior of each name source; training counts add on top (see `entryWeight`). */
const SOURCE_PRIOR: ReadonlyArray<readonly [number, number]> = [
  [NAME_SOURCES.medicName, 3],
  [NAME_SOURCES.meshHeading, 2.5],
  [NAME_SOURCES.medicSynonym, 2],
  [NAME_SOURCES.umls, 1.5],
  [NAME_SOURCES.meshScr, 1],
  [NAME_SOURCES.omim, 1],
  [NAME_SOURCES.orphanet, 1],
  [NAME_SOURCES.training, 1],
];

export class ConceptDictionary {
  readonly data: DictionaryData;
  private readonly index = new Map<string, number>();

  constructor(data: DictionaryData) {
    this.data = data;
    data.conceptIds.forEach((id, i) => this.index.set(id, i));
    data.altIds.forEach((id, i) => this.index.set(id, data.altTargets[i]));
  }

  /** Loads `DIR/dictionary.json.gz` (see dictionary-store.ts). */
  static async load(dir: string): Promise<ConceptDictionary> {
    return new ConceptDictionary(await readDictionaryData(dir));
  }

  get vocabularyVersion(): string {
    return this.data.vocabularyVersion;
  }

  get size(): number {
    return this.data.conceptIds.length;
  }

  /** Concept index of a CURIE or alternative ID. */
  conceptIndex(id: string): number | undefined {
    return this.index.get(id);
  }

  /** The primary ID of `id` (an alternative ID MEDIC lists under one concept), else `id`. */
  canonicalId(id: string): string {
    const i = this.index.get(id);
    return i === undefined ? id : this.data.conceptIds[i];
  }

  /** Preferred name of a concept; undefined when the dictionary does not know the ID. */
  conceptName(id: string): string | undefined {
    const i = this.index.get(id);
    return i === undefined ? undefined : this.data.conceptNames[i];
  }

  concept(id: string): ConceptInfo | undefined {
    const i = this.index.get(id);
    if (i === undefined) return undefined;
    const mask = this.data.conceptTypes[i];
    return {
      id: this.data.conceptIds[i],
      name: this.data.conceptNames[i],
      types: Object.entries(ENTITY_TYPE_BITS)
        .filter(([, bit]) => (mask & bit) !== 0)
        .map(([type]) => type),
    };
  }

  /** Concept IDs an entry maps to. */
  targetIds(target: number): string[] {
    return this.data.targets[target].map((c) => this.data.conceptIds[c]);
  }

  /** Union of the entity-type bits of an entry's concepts. */
  entryTypeMask(entry: number): number {
    let mask = 0;
    for (const c of this.data.targets[this.data.entryTargets[entry]]) {
      mask |= this.data.conceptTypes[c];
    }
    return mask;
  }

  /**
   * Ranking weight of an entry among entries with the same key: 10 per training mention (the
   * corpora's annotation conventions beat vocabulary order) plus the best source prior.
   */
  entryWeight(entry: number): number {
    const sources = this.data.entrySources[entry];
    let prior = 0;
    for (const [bit, value] of SOURCE_PRIOR) {
      if ((sources & bit) !== 0 && value > prior) prior = value;
    }
    return 10 * this.data.entryCounts[entry] + prior;
  }
}
