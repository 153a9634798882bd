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
import { Normalizer } from './normalizer.js';

/**
 * The served normalization: the model's concept candidates and the dictionary's, combined by
 * the documented rule of combine.ts, with abbreviations defined in the same abstract
 * ("long form (SF)") expanded before the dictionary lookup.
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

  resolve(
    text: string,
    mentions: readonly { mention: MentionToResolve; candidates: readonly ConceptCandidate[] }[],
  ): { ids: string[]; source: MentionSource }[] {
    const abbreviations =
      mentions.length === 0 ? new Map<string, string>() : abbreviationMap(findAbbreviations(text));
    return mentions.map(({ mention, candidates }) => {
      const model = modelCandidates(
        candidates.map((c) => ({ label: c.label, probability: c.score })),
        this.normalizer.dictionary,
      );
      const dictionary = this.normalizer.normalize(mention.text, mention.type, { abbreviations });
      const decision = combineCandidates(model, dictionary, {
        ...thresholdsFor(mention.type),
        ...this.thresholds,
      });
      const source: MentionSource =
        decision.source !== 'dictionary'
          ? 'model'
          : decision.candidate?.viaAbbreviation === true
            ? 'abbreviation'
            : 'dictionary';
      return { ids: [...decision.ids], source };
    });
  }
}
