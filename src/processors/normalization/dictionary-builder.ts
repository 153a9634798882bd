import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { MedStreamError } from '../../errors.js';
import { readPubTatorFile } from '../../text/pubtator-reader.js';
import { corpusFile, entityTypeOf } from '../../text/training-export.js';
import type { CorpusName, SplitName } from '../../text/training-export.js';
import {
  DICTIONARY_FORMAT,
  DICTIONARY_FORMAT_VERSION,
  ENTITY_TYPE_BITS,
  NAME_SOURCES,
} from './dictionary-data.js';
import type { DictionaryData, NameSource } from './dictionary-data.js';
import { meshHeadingToName, nameKey } from './name-keys.js';

/**
 * Compiles the normalization dictionary from the vocabularies under the data root plus the
 * mentions of chosen corpus splits. Sources, in the order they are read (the first surface form
 * of a (key, concept) pair is the one kept, so MEDIC's proper-case names win):
 *
 * 1. CTD MEDIC (`vocab/ctd-medic/CTD_diseases.tsv.gz`): the concepts of type Disease, their
 *    names, synonyms and alternative IDs. An alternative ID listed under exactly one concept
 *    maps to it; one listed under several would be left alone, since picking one would be a
 *    guess (none of the OMIM/MeSH alternative IDs of June 2017 is; `DO:` IDs are ignored).
 * 2. MeSH descriptors (`vocab/mesh/MeSH_dic.tsv`): headings back in words; a MEDIC descriptor
 *    keeps its Disease type, the others stay untyped (0) unless a training mention types them.
 *    Chemical lookups search Chemical-typed and untyped concepts (see normalizer.ts).
 * 3. DisMaNET (`vocab/dismanet/`): supplementary disease concepts (`mesh_scr.tsv`, type
 *    Disease), and as extra synonyms of concepts already known: OMIM names (`omim.tsv`), UMLS
 *    names of MeSH disease descriptors (`mesh_to_cui.tsv`), Orphanet names
 *    (`orphanet_to_mesh.tsv`).
 * 4. Training mentions of the chosen corpus splits: mention text → gold IDs (alternative IDs
 *    mapped to the primary), with counts; a concept only seen there (a chemical supplementary
 *    concept, an OMIM ID outside MEDIC) is added with its most frequent mention as name. NIL
 *    mentions are counted, not stored. Evaluation on a split must not build from that split.
 */
export interface BuildDictionaryOptions {
  readonly dataRoot: string;
  readonly corpora: readonly CorpusName[];
  readonly splits: readonly SplitName[];
}

export interface DictionarySourceFile {
  /** Path relative to the data root. */
  readonly path: string;
  readonly role: string;
  readonly version: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface DictionaryCounts {
  concepts: number;
  conceptsByType: Record<string, number>;
  altIds: number;
  ambiguousAltIds: number;
  targets: number;
  entries: number;
  entriesBySource: Record<string, number>;
  trainingMentions: number;
  trainingNilMentions: number;
  trainingOnlyConcepts: number;
}

export interface BuiltDictionary {
  readonly data: DictionaryData;
  readonly sources: readonly DictionarySourceFile[];
  readonly counts: DictionaryCounts;
  readonly corpora: readonly CorpusName[];
  readonly splits: readonly SplitName[];
}

/** Paths of the vocabulary files, relative to the data root. */
export const VOCABULARY_FILES = {
  medic: 'vocab/ctd-medic/CTD_diseases.tsv.gz',
  meshDescriptors: 'vocab/mesh/MeSH_dic.tsv',
  meshScr: 'vocab/dismanet/mesh_scr.tsv',
  omim: 'vocab/dismanet/omim.tsv',
  meshToCui: 'vocab/dismanet/mesh_to_cui.tsv',
  orphanet: 'vocab/dismanet/orphanet_to_mesh.tsv',
} as const;

const DISEASE = ENTITY_TYPE_BITS.Disease;

async function* fileLines(path: string): AsyncGenerator<string> {
  const opened = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
    const stream = createReadStream(path);
    stream.once('open', () => resolve(stream));
    stream.once('error', (error) =>
      reject(
        new MedStreamError('INPUT_NOT_FOUND', `cannot read ${path}: ${error.message}`, {
          cause: error,
        }),
      ),
    );
  });
  const input = path.endsWith('.gz') ? opened.pipe(createGunzip()) : opened;
  const lines = createInterface({ input, crlfDelay: Infinity });
  const corrupt = (cause: unknown) =>
    new MedStreamError('GZIP_CORRUPT', `cannot decompress ${path}`, { cause });
  // A gunzip failure may reach readline's iterator or only the stream: surface both.
  let failure: unknown;
  input.once('error', (error) => {
    failure = error;
    lines.close();
  });
  try {
    for await (const line of lines) yield line;
  } catch (error) {
    throw corrupt(error);
  } finally {
    lines.close();
  }
  if (failure !== undefined) throw corrupt(failure);
}

async function describeFile(dataRoot: string, path: string, role: string, version: string) {
  const bytes = await readFile(join(dataRoot, path)).catch((error: unknown) => {
    throw new MedStreamError('INPUT_NOT_FOUND', `cannot read ${join(dataRoot, path)}`, {
      cause: error,
    });
  });
  return {
    path,
    role,
    version,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

function malformed(path: string, line: number, message: string): MedStreamError {
  return new MedStreamError('VOCABULARY_MALFORMED', `${path}:${line}: ${message}`, {
    details: { path, line },
  });
}

/** Mutable state while compiling; `finish` freezes it into DictionaryData. */
class Compiler {
  readonly conceptIds: string[] = [];
  readonly conceptNames: string[] = [];
  readonly conceptTypes: number[] = [];
  private readonly conceptIndex = new Map<string, number>();
  private readonly alt = new Map<string, number>();
  private readonly targets: number[][] = [];
  private readonly targetIndex = new Map<string, number>();
  readonly entryNames: string[] = [];
  readonly entryTargets: number[] = [];
  readonly entrySources: number[] = [];
  readonly entryCounts: number[] = [];
  private readonly entryIndex = new Map<string, number>();

  concept(id: string): number | undefined {
    return this.conceptIndex.get(id) ?? this.alt.get(id);
  }

  addConcept(id: string, name: string, types: number): number {
    const known = this.concept(id);
    if (known !== undefined) {
      this.conceptTypes[known] |= types;
      return known;
    }
    const index = this.conceptIds.length;
    this.conceptIds.push(id);
    this.conceptNames.push(name);
    this.conceptTypes.push(types);
    this.conceptIndex.set(id, index);
    return index;
  }

  addAlt(altId: string, concept: number): void {
    if (!this.conceptIndex.has(altId)) this.alt.set(altId, concept);
  }

  altEntries(): [string, number][] {
    return [...this.alt].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  target(concepts: readonly number[]): number {
    const unique = [...new Set(concepts)];
    const key = unique.join(',');
    let index = this.targetIndex.get(key);
    if (index === undefined) {
      index = this.targets.length;
      this.targets.push(unique);
      this.targetIndex.set(key, index);
    }
    return index;
  }

  addName(name: string, concepts: readonly number[], source: NameSource, count = 0): void {
    const trimmed = name.replace(/\s+/g, ' ').trim();
    const key = nameKey(trimmed);
    if (key === '' || concepts.length === 0) return;
    const target = this.target(concepts);
    const dedupe = `${key}\u0000${target}`;
    const existing = this.entryIndex.get(dedupe);
    if (existing !== undefined) {
      this.entrySources[existing] |= NAME_SOURCES[source];
      this.entryCounts[existing] += count;
      return;
    }
    this.entryIndex.set(dedupe, this.entryNames.length);
    this.entryNames.push(trimmed);
    this.entryTargets.push(target);
    this.entrySources.push(NAME_SOURCES[source]);
    this.entryCounts.push(count);
  }

  targetList(): number[][] {
    return this.targets;
  }
}

/** Reads the MEDIC header's "Report created:" date for the version string. */
function medicVersion(line: string, current: string): string {
  const m = /^#\s*Report created:\s*(.+)$/.exec(line);
  if (m === null) return current;
  const date = new Date(m[1].replace(/\s[A-Z]{3}\s/, ' '));
  return Number.isNaN(date.getTime())
    ? `CTD MEDIC (${m[1].trim()})`
    : `CTD MEDIC ${date.toISOString().slice(0, 10)}`;
}

async function readMedic(c: Compiler, dataRoot: string, counts: DictionaryCounts): Promise<string> {
  const path = VOCABULARY_FILES.medic;
  let version = 'CTD MEDIC (date unknown)';
  const rows: { id: string; name: string; alts: string[]; synonyms: string[] }[] = [];
  let lineNo = 0;
  for await (const line of fileLines(join(dataRoot, path))) {
    lineNo += 1;
    if (line.startsWith('#')) {
      version = medicVersion(line, version);
      continue;
    }
    if (line.trim() === '') continue;
    const cols = line.split('\t');
    if (cols.length < 8 || !cols[1].includes(':')) {
      throw malformed(path, lineNo, 'expected 9 tab-separated columns with a CURIE DiseaseID');
    }
    const split = (s: string | undefined) => (s ?? '').split('|').filter((x) => x !== '');
    rows.push({ id: cols[1], name: cols[0], alts: split(cols[2]), synonyms: split(cols[7]) });
  }
  for (const row of rows) c.addConcept(row.id, row.name, DISEASE);
  // Alternative IDs: only those listed under exactly one concept (see module comment).
  const owners = new Map<string, Set<number>>();
  for (const row of rows) {
    const concept = c.concept(row.id) as number;
    for (const altId of row.alts) {
      if (!/^(MESH|OMIM):/.test(altId)) continue; // DO:DOID:… never appears in the corpora
      const set = owners.get(altId) ?? new Set<number>();
      set.add(concept);
      owners.set(altId, set);
    }
  }
  for (const [altId, set] of owners) {
    if (set.size === 1) c.addAlt(altId, [...set][0]);
    else counts.ambiguousAltIds += 1;
  }
  for (const row of rows) {
    const concept = c.concept(row.id) as number;
    c.addName(row.name, [concept], 'medicName');
    for (const synonym of row.synonyms) c.addName(synonym, [concept], 'medicSynonym');
  }
  return version;
}

async function readMesh(c: Compiler, dataRoot: string): Promise<void> {
  const path = VOCABULARY_FILES.meshDescriptors;
  let lineNo = 0;
  for await (const line of fileLines(join(dataRoot, path))) {
    lineNo += 1;
    if (lineNo === 1 && line.startsWith('MeshID')) continue;
    if (line.trim() === '') continue;
    const [id, heading] = line.split('\t');
    if (heading === undefined || !/^D\d+$/.test(id)) {
      throw malformed(path, lineNo, 'expected "D…<TAB>heading"');
    }
    if (heading.startsWith('[obsolete]')) continue;
    const name = meshHeadingToName(heading);
    // No type: MeSH_dic has no tree numbers (and MeSH_graph.edgelist mixes hierarchy with
    // see-also links, so its closure under the D-tree roots is most of MeSH). MEDIC already
    // typed the disease descriptors; training mentions type the chemicals they use.
    const concept = c.addConcept(`MESH:${id}`, name, 0);
    c.addName(name, [concept], 'meshHeading');
  }
}

/** Rows of a headed TSV file (dismanet), quotes stripped, header skipped. */
async function* tsvRows(dataRoot: string, path: string, columns: number) {
  let lineNo = 0;
  for await (const line of fileLines(join(dataRoot, path))) {
    lineNo += 1;
    if (lineNo === 1 || line.trim() === '') continue;
    const cols = line.split('\t').map((col) => col.replace(/^"(.*)"$/, '$1').trim());
    if (cols.length < columns) throw malformed(path, lineNo, `expected ${columns} columns`);
    yield cols;
  }
}

async function readDismanet(c: Compiler, dataRoot: string): Promise<void> {
  for await (const [scrId, name] of tsvRows(dataRoot, VOCABULARY_FILES.meshScr, 3)) {
    const concept = c.addConcept(`MESH:${scrId}`, name, DISEASE);
    c.addName(name, [concept], 'meshScr');
  }
  // OMIM, UMLS and Orphanet names only add synonyms to concepts MEDIC/MeSH already have: OMIM
  // entries outside MEDIC (mostly susceptibility loci in capitals) took exact matches away
  // from MeSH concepts on the dev splits without reaching any gold concept.
  for await (const [omimId, name] of tsvRows(dataRoot, VOCABULARY_FILES.omim, 2)) {
    const concept = c.concept(`OMIM:${omimId}`);
    if (concept !== undefined) c.addName(name, [concept], 'omim');
  }
  for await (const [meshId, , name] of tsvRows(dataRoot, VOCABULARY_FILES.meshToCui, 3)) {
    const concept = c.concept(`MESH:${meshId}`);
    if (concept !== undefined) c.addName(name, [concept], 'umls');
  }
  for await (const [, name, meshId] of tsvRows(dataRoot, VOCABULARY_FILES.orphanet, 3)) {
    const concept = c.concept(`MESH:${meshId}`);
    if (concept !== undefined) c.addName(name, [concept], 'orphanet');
  }
}

async function readTraining(
  c: Compiler,
  options: BuildDictionaryOptions,
  counts: DictionaryCounts,
): Promise<void> {
  // (text, type, ids) → count; documents repeated verbatim (NCBI train 8528200) count once.
  const pairs = new Map<string, { text: string; type: string; ids: string[]; count: number }>();
  for (const corpus of options.corpora) {
    for (const split of options.splits) {
      const seen = new Set<string>();
      for await (const doc of readPubTatorFile(corpusFile(options.dataRoot, corpus, split))) {
        const docKey = `${doc.pmid}\u0000${doc.text}`;
        if (seen.has(docKey)) continue;
        seen.add(docKey);
        for (const m of doc.mentions) {
          counts.trainingMentions += 1;
          if (m.ids.length === 0) {
            counts.trainingNilMentions += 1;
            continue;
          }
          const text = m.text.replace(/\s+/g, ' ').trim();
          const type = entityTypeOf(corpus, m.type);
          const key = `${text}\u0000${type}\u0000${m.ids.join('|')}`;
          const pair = pairs.get(key);
          if (pair === undefined) pairs.set(key, { text, type, ids: [...m.ids], count: 1 });
          else pair.count += 1;
        }
      }
    }
  }
  // Most frequent first, so a training-only concept is named by its commonest mention.
  const ordered = [...pairs.values()].sort(
    (a, b) => b.count - a.count || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0),
  );
  const before = c.conceptIds.length;
  for (const pair of ordered) {
    const bit = ENTITY_TYPE_BITS[pair.type] ?? 0;
    const concepts = pair.ids.map((id) => c.addConcept(id, pair.text, bit));
    c.addName(pair.text, concepts, 'training', pair.count);
  }
  counts.trainingOnlyConcepts = c.conceptIds.length - before;
}

function shortHash(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\n');
  return h.digest('hex').slice(0, 12);
}

/** Compiles the dictionary (see module comment); INPUT_NOT_FOUND when a file is missing. */
export async function buildDictionary(options: BuildDictionaryOptions): Promise<BuiltDictionary> {
  const counts: DictionaryCounts = {
    concepts: 0,
    conceptsByType: {},
    altIds: 0,
    ambiguousAltIds: 0,
    targets: 0,
    entries: 0,
    entriesBySource: {},
    trainingMentions: 0,
    trainingNilMentions: 0,
    trainingOnlyConcepts: 0,
  };
  const c = new Compiler();
  const medic = await readMedic(c, options.dataRoot, counts);
  await readMesh(c, options.dataRoot);
  await readDismanet(c, options.dataRoot);
  await readTraining(c, options, counts);

  const root = options.dataRoot;
  const sources: DictionarySourceFile[] = [
    await describeFile(root, VOCABULARY_FILES.medic, 'CTD MEDIC diseases', medic),
    await describeFile(
      root,
      VOCABULARY_FILES.meshDescriptors,
      'MeSH descriptors',
      'MeSH_dic.tsv (ncbi-nlp/BioWordVec)',
    ),
    await describeFile(
      root,
      VOCABULARY_FILES.meshScr,
      'MeSH supplementary disease concepts',
      'DisMaNET',
    ),
    await describeFile(root, VOCABULARY_FILES.omim, 'OMIM names', 'DisMaNET'),
    await describeFile(root, VOCABULARY_FILES.meshToCui, 'UMLS names of MeSH diseases', 'DisMaNET'),
    await describeFile(root, VOCABULARY_FILES.orphanet, 'Orphanet names', 'DisMaNET'),
  ];
  for (const corpus of options.corpora) {
    for (const split of options.splits) {
      const path = corpusFile('', corpus, split).replace(/^[/\\]/, '');
      sources.push(await describeFile(root, path, `training mentions ${corpus} ${split}`, corpus));
    }
  }
  const vocabularyVersion =
    `${medic.replace(/\s+/g, '-').toLowerCase()}+mesh+dismanet` +
    `+${options.corpora.join(',')}:${options.splits.join(',')}` +
    `@${shortHash(sources.map((s) => s.sha256))}`;

  const alts = c.altEntries();
  const data: DictionaryData = {
    format: DICTIONARY_FORMAT,
    formatVersion: DICTIONARY_FORMAT_VERSION,
    vocabularyVersion,
    conceptIds: c.conceptIds,
    conceptNames: c.conceptNames,
    conceptTypes: c.conceptTypes,
    altIds: alts.map(([id]) => id),
    altTargets: alts.map(([, t]) => t),
    targets: c.targetList(),
    entryNames: c.entryNames,
    entryTargets: c.entryTargets,
    entrySources: c.entrySources,
    entryCounts: c.entryCounts,
  };
  counts.concepts = data.conceptIds.length;
  for (const [type, bit] of Object.entries(ENTITY_TYPE_BITS)) {
    counts.conceptsByType[type] = data.conceptTypes.filter((t) => (t & bit) !== 0).length;
  }
  counts.conceptsByType.other = data.conceptTypes.filter((t) => t === 0).length;
  counts.altIds = data.altIds.length;
  counts.targets = data.targets.length;
  counts.entries = data.entryNames.length;
  for (const [source, bit] of Object.entries(NAME_SOURCES)) {
    counts.entriesBySource[source] = data.entrySources.filter((s) => (s & bit) !== 0).length;
  }
  return { data, sources, counts, corpora: options.corpora, splits: options.splits };
}
