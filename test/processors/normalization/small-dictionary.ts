import {
  DICTIONARY_FORMAT,
  DICTIONARY_FORMAT_VERSION,
  ENTITY_TYPE_BITS,
  NAME_SOURCES,
} from '../../../src/processors/normalization/dictionary-data.js';
import type {
  DictionaryData,
  NameSource,
} from '../../../src/processors/normalization/dictionary-data.js';

/**
 * A hand-written dictionary for unit tests (no data files): concepts with their names, typed
 * like the compiled one. Names are attached in the order given; `ids` of more than one concept
 * make a composite entry.
 */
export interface SmallConcept {
  readonly id: string;
  readonly name: string;
  readonly type?: 'Disease' | 'Chemical';
  readonly synonyms?: readonly string[];
  readonly alts?: readonly string[];
}

export interface SmallEntry {
  readonly name: string;
  readonly ids: readonly string[];
  readonly source: NameSource;
  readonly count?: number;
}

export function smallDictionary(
  concepts: readonly SmallConcept[],
  extra: readonly SmallEntry[] = [],
): DictionaryData {
  const conceptIds = concepts.map((c) => c.id);
  const targets: number[][] = [];
  const entryNames: string[] = [];
  const entryTargets: number[] = [];
  const entrySources: number[] = [];
  const entryCounts: number[] = [];
  const add = (name: string, ids: readonly string[], source: NameSource, count = 0) => {
    targets.push(ids.map((id) => conceptIds.indexOf(id)));
    entryNames.push(name);
    entryTargets.push(targets.length - 1);
    entrySources.push(NAME_SOURCES[source]);
    entryCounts.push(count);
  };
  for (const c of concepts) {
    add(c.name, [c.id], 'medicName');
    for (const s of c.synonyms ?? []) add(s, [c.id], 'medicSynonym');
  }
  for (const e of extra) add(e.name, e.ids, e.source, e.count ?? 0);
  const altIds: string[] = [];
  const altTargets: number[] = [];
  concepts.forEach((c, i) => {
    for (const alt of c.alts ?? []) {
      altIds.push(alt);
      altTargets.push(i);
    }
  });
  return {
    format: DICTIONARY_FORMAT,
    formatVersion: DICTIONARY_FORMAT_VERSION,
    vocabularyVersion: 'test-vocabulary',
    conceptIds,
    conceptNames: concepts.map((c) => c.name),
    conceptTypes: concepts.map((c) => (c.type === undefined ? 0 : ENTITY_TYPE_BITS[c.type])),
    altIds,
    altTargets,
    targets,
    entryNames,
    entryTargets,
    entrySources,
    entryCounts,
  };
}

/** A few diseases and chemicals with the distractors the tests need. */
export const DIABETES_CONCEPTS: readonly SmallConcept[] = [
  { id: 'MESH:D003924', name: 'Diabetes Mellitus, Type 2', type: 'Disease', alts: ['OMIM:125853'] },
  { id: 'MESH:D003922', name: 'Diabetes Mellitus, Type 1', type: 'Disease' },
  { id: 'MESH:D003919', name: 'Diabetes Insipidus', type: 'Disease' },
  { id: 'MESH:D003920', name: 'Diabetes Mellitus', type: 'Disease' },
  { id: 'MESH:D001943', name: 'Breast Neoplasms', type: 'Disease', synonyms: ['Breast Cancer'] },
  { id: 'MESH:D010051', name: 'Ovarian Neoplasms', type: 'Disease', synonyms: ['Ovarian Cancer'] },
  { id: 'MESH:D009202', name: 'Cardiomyopathies', type: 'Disease' },
  { id: 'MESH:D020388', name: 'Muscular Dystrophy, Duchenne', type: 'Disease' },
  { id: 'MESH:D007008', name: 'Hypokalemia', type: 'Disease' },
  { id: 'MESH:D000230', name: 'Adenocarcinoma', type: 'Disease' },
  { id: 'MESH:D008094', name: 'lithium' },
  { id: 'MESH:D005472', name: 'fluorouracil' },
  { id: 'MESH:D008099', name: 'liver' },
  { id: 'MESH:D008107', name: 'Liver Diseases', type: 'Disease' },
];
