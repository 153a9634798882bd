import type { Config } from '../../config/config.js';
import { ensureDictionary } from '../../processors/annotation/load-annotator.js';
import { ConceptDictionary } from '../../processors/normalization/concept-dictionary.js';
import { conceptLookupFromDictionary } from './graph-model.js';
import type { ConceptLookup } from './graph-model.js';

/**
 * Loads the normalization dictionary the processor uses (building it once into the cache if
 * needed, see ensureDictionary) as the graph's concept lookup. A module of its own because the
 * dictionary loader brings the annotation stack with it, which the sink itself does not need.
 */
export async function loadConceptLookup(
  config: Config,
  log: (line: string) => void = () => undefined,
): Promise<ConceptLookup> {
  const dir = await ensureDictionary(config, undefined, log);
  return conceptLookupFromDictionary(await ConceptDictionary.load(dir));
}
