import type { MentionSource } from '../../codec/records.js';
import type {
  ConceptCandidate,
  MentionResolver,
  MentionToResolve,
} from '../annotation/onnx-annotator.js';
import { abbreviationMap, findAbbreviations } from './abbreviations.js';
import type { CombineThresholds } from './combine.js';
import { combineCandidates, modelCandidates, thresholdsFor } from './combine.js';
import type { ConceptDictionary } from './concept-dictionary.js';
import type { ThresholdsByType } from './normalization-config.js';
import type { Candidate } from './normalizer.js';
import { Normalizer } from './normalizer.js';

/** Both sides of the combination rule for one mention, before thresholds are applied. */
export interface ResolutionCandidates {
  readonly type: string;
  /** The model's concepts, IDs mapped to the dictionary's primary IDs, best first. */
  readonly model: readonly Candidate[];
  /** The dictionary's candidates (abbreviations of the abstract expanded), best first. */
  readonly dictionary: readonly Candidate[];
}

/**
 * The served normalization: the model's concept candidates and the dictionary's, combined by
 * the documented rule of combine.ts, with abbreviations defined in the same abstract
 * ("long form (SF)") expanded before the dictionary lookup.
 *
 * Thresholds, per mention type: the ones the caller passes (the served model's
 * normalization.json), else the ones given to the constructor, else `thresholdsFor(type)`.
 * `candidates` and `decide` are the two halves of `resolve`, so that a threshold search can
 * compute the candidates once and decide many times.
 */
export class DictionaryMentionResolver implements MentionResolver {
  constructor(
    private readonly normalizer: Normalizer,
    private readonly thresholds?: Partial<CombineThresholds>,
  ) {}

  static async load(
    dir: string,
    thresholds?: Partial<CombineThresholds>,
  ): Promise<DictionaryMentionResolver> {
    return new DictionaryMentionResolver(await Normalizer.load(dir), thresholds);
  }

  get dictionary(): ConceptDictionary {
    return this.normalizer.dictionary;
  }

  get vocabularyVersion(): string {
    return this.normalizer.dictionary.vocabularyVersion;
  }

  /** Whether `text` is exactly (tier-1 key) a name of a concept typed `type`. */
  isTypedName(text: string, type: string): boolean {
    return this.normalizer.isTypedName(text, type);
  }

  candidates(
    text: string,
    mentions: readonly { mention: MentionToResolve; candidates: readonly ConceptCandidate[] }[],
  ): ResolutionCandidates[] {
    const abbreviations =
      mentions.length === 0 ? new Map<string, string>() : abbreviationMap(findAbbreviations(text));
    return mentions.map(({ mention, candidates }) => ({
      type: mention.type,
      model: modelCandidates(
        candidates.map((c) => ({ label: c.label, probability: c.score })),
        this.normalizer.dictionary,
      ),
      dictionary: this.normalizer.normalize(mention.text, mention.type, { abbreviations }),
    }));
  }

  /** The thresholds `resolve` applies to a mention of `type` (see class comment). */
  thresholdsOf(type: string, byType?: ThresholdsByType): CombineThresholds {
    return byType?.[type] ?? { ...thresholdsFor(type), ...this.thresholds };
  }

  decide(
    candidates: ResolutionCandidates,
    thresholds: CombineThresholds,
  ): { ids: string[]; source: MentionSource } {
    const decision = combineCandidates(candidates.model, candidates.dictionary, thresholds);
    const source: MentionSource =
      decision.source !== 'dictionary'
        ? 'model'
        : decision.candidate?.viaAbbreviation === true
          ? 'abbreviation'
          : 'dictionary';
    return { ids: [...decision.ids], source };
  }

  resolve(
    text: string,
    mentions: readonly { mention: MentionToResolve; candidates: readonly ConceptCandidate[] }[],
    thresholds?: ThresholdsByType,
  ): { ids: string[]; source: MentionSource }[] {
    return this.candidates(text, mentions).map((c) =>
      this.decide(c, this.thresholdsOf(c.type, thresholds)),
    );
  }
}
