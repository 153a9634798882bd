import { parseConceptIds } from '../text/pubtator-reader.js';
import type { PubTatorMention } from '../text/pubtator-reader.js';
import { compareSets, prf } from './prf.js';
import type { Prf, ScoreSet } from './prf.js';

/**
 * The one evaluation code path (tests, `medstream eval`, METRICS files) for recognition (NER)
 * and normalization (NEN), computed as the BioCreative V CDR evaluation kit
 * (BC5CDR_Evaluation-0.0.3, `ncbi.bc5cdr_eval.Evaluate`) computes it:
 *
 * - NER, strict mention level: the set of (PMID, start, end, type) keys, predicted vs gold;
 *   micro P/R/F1 over the evaluated types, and each type alone.
 * - NEN, document-level concepts: the set of (PMID, type, concept ID) keys, predicted vs gold.
 *   IDs are normalized the same way on both sides with the reader's `parseConceptIds`: stray
 *   spaces removed, `MESH:` added to bare IDs (bare digits are OMIM), composite IDs split on
 *   `|` (as the kit does) and on NCBI's `+` (the kit does not know `+`), `-1`/empty dropped.
 *   `canonicalId` may map IDs further on both sides (e.g. a MEDIC alternative ID to its
 *   primary ID); the default leaves them as written, as the kit does.
 * - Kit quirk kept on purpose (`restrictToGoldDocuments`, default true): predictions in a
 *   document that has no gold key of the evaluated type(s) are ignored. Per-type scores are
 *   computed as the kit run with that one type would compute them, so the per-type counts do
 *   not always add up to the micro counts.
 * - Types: the mention's type column through `typeOf` (e.g. NCBI's SpecificDisease,
 *   DiseaseClass, Modifier and CompositeMention → Disease); only `types` are evaluated (default:
 *   every type found in gold or predictions).
 *
 * Inputs are PubTator-like: the reader's PubTatorDocument fits, as does anything with a PMID
 * and mentions carrying start, end, type and ids.
 */
export type EvalMention = Pick<PubTatorMention, 'start' | 'end' | 'type' | 'ids'>;

export interface EvalDocument {
  readonly pmid: string;
  readonly mentions: readonly EvalMention[];
}

export interface EvalOptions {
  /** Types to evaluate, after `typeOf`. */
  readonly types?: readonly string[];
  /** Maps a corpus type column to the evaluated type (default: as written). */
  readonly typeOf?: (type: string) => string;
  /** See module comment (default true, as the kit). */
  readonly restrictToGoldDocuments?: boolean;
}

export interface ConceptEvalOptions extends EvalOptions {
  /** Applied to every normalized ID on both sides (default: identity). */
  readonly canonicalId?: (id: string) => string;
}

// Separator inside set keys; never part of a PMID, type or CURIE.
const SEP = '\u0000';

/** Normalized CURIEs of a mention (see module comment). */
export function mentionConceptIds(
  ids: readonly string[],
  canonicalId: (id: string) => string = (id) => id,
): string[] {
  const out = new Set<string>();
  for (const raw of ids) for (const id of parseConceptIds(raw).ids) out.add(canonicalId(id));
  return [...out];
}

type KeyFn = (doc: EvalDocument, mention: EvalMention, type: string) => readonly string[];

function scoreKeys(
  gold: readonly EvalDocument[],
  pred: readonly EvalDocument[],
  options: EvalOptions,
  keysOf: KeyFn,
): ScoreSet {
  const typeOf = options.typeOf ?? ((t: string) => t);
  const restrict = options.restrictToGoldDocuments ?? true;
  // Keys by type: key = PMID + SEP + rest; type kept separately for per-type scoring.
  const collect = (docs: readonly EvalDocument[]) => {
    const byType = new Map<string, Set<string>>();
    for (const doc of docs) {
      for (const m of doc.mentions) {
        const type = typeOf(m.type);
        let set = byType.get(type);
        if (set === undefined) {
          set = new Set();
          byType.set(type, set);
        }
        for (const key of keysOf(doc, m, type)) set.add(key);
      }
    }
    return byType;
  };
  const goldKeys = collect(gold);
  const predKeys = collect(pred);
  const types = options.types ?? [...new Set([...goldKeys.keys(), ...predKeys.keys()])].sort();

  const run = (evaluated: readonly string[]): Prf => {
    const g = new Set<string>();
    const p = new Set<string>();
    for (const type of evaluated) {
      for (const k of goldKeys.get(type) ?? []) g.add(k);
      for (const k of predKeys.get(type) ?? []) p.add(k);
    }
    if (restrict) {
      const docs = new Set<string>();
      for (const k of g) docs.add(k.slice(0, k.indexOf(SEP)));
      for (const k of p) if (!docs.has(k.slice(0, k.indexOf(SEP)))) p.delete(k);
    }
    return compareSets(g, p);
  };
  const byType: Record<string, Prf> = {};
  for (const type of types) byType[type] = run([type]);
  return { overall: types.length === 0 ? prf(0, 0, 0) : run(types), byType };
}

/** NER: strict mention-level micro P/R/F1 (exact start, end and type). */
export function evaluateMentions(
  gold: readonly EvalDocument[],
  pred: readonly EvalDocument[],
  options: EvalOptions = {},
): ScoreSet {
  return scoreKeys(gold, pred, options, (doc, m, type) => [
    `${doc.pmid}${SEP}${m.start}${SEP}${m.end}${SEP}${type}`,
  ]);
}

/** NEN: document-level concept P/R/F1, as the BioCreative V CDR kit computes it. */
export function evaluateConcepts(
  gold: readonly EvalDocument[],
  pred: readonly EvalDocument[],
  options: ConceptEvalOptions = {},
): ScoreSet {
  return scoreKeys(gold, pred, options, (doc, m, type) =>
    mentionConceptIds(m.ids, options.canonicalId).map(
      (id) => `${doc.pmid}${SEP}${type}${SEP}${id}`,
    ),
  );
}

export interface ConceptAccuracy {
  /** Gold mentions with at least one ID (NIL gold mentions are not scored). */
  readonly mentions: number;
  /** ... whose predicted mention at the same span and type has exactly the same ID set. */
  readonly correct: number;
  readonly accuracy: number;
  readonly byType: Readonly<
    Record<string, { mentions: number; correct: number; accuracy: number }>
  >;
}

/**
 * Mention-level normalization accuracy given spans (e.g. oracle NER: predictions on the gold
 * spans): a gold mention counts as correct when a predicted mention with the same span and type
 * carries exactly its normalized ID set (composites must be complete).
 */
export function conceptAccuracy(
  gold: readonly EvalDocument[],
  pred: readonly EvalDocument[],
  options: ConceptEvalOptions = {},
): ConceptAccuracy {
  const typeOf = options.typeOf ?? ((t: string) => t);
  const predicted = new Map<string, string[][]>();
  for (const doc of pred) {
    for (const m of doc.mentions) {
      const key = `${doc.pmid}${SEP}${m.start}${SEP}${m.end}${SEP}${typeOf(m.type)}`;
      const list = predicted.get(key) ?? [];
      list.push(mentionConceptIds(m.ids, options.canonicalId).sort());
      predicted.set(key, list);
    }
  }
  const counts: Record<string, { mentions: number; correct: number }> = {};
  for (const doc of gold) {
    for (const m of doc.mentions) {
      const type = typeOf(m.type);
      if (options.types !== undefined && !options.types.includes(type)) continue;
      const ids = mentionConceptIds(m.ids, options.canonicalId).sort();
      if (ids.length === 0) continue;
      const c = (counts[type] ??= { mentions: 0, correct: 0 });
      c.mentions += 1;
      const key = `${doc.pmid}${SEP}${m.start}${SEP}${m.end}${SEP}${type}`;
      const joined = ids.join('|');
      if ((predicted.get(key) ?? []).some((p) => p.join('|') === joined)) c.correct += 1;
    }
  }
  const byType: Record<string, { mentions: number; correct: number; accuracy: number }> = {};
  let mentions = 0;
  let correct = 0;
  for (const [type, c] of Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1))) {
    byType[type] = { ...c, accuracy: c.mentions === 0 ? 0 : c.correct / c.mentions };
    mentions += c.mentions;
    correct += c.correct;
  }
  return { mentions, correct, accuracy: mentions === 0 ? 0 : correct / mentions, byType };
}
