import type { AnnotatedArticle } from '../../codec/records.js';
import {
  BIOC_COLLECTION_CLOSING,
  BIOC_DOCUMENT_SEPARATOR,
  biocCollectionInfo,
  biocCollectionOpening,
  biocProblem,
  formatBioCDocument,
} from './bioc-format.js';
import { formatNdjsonArticle, formatNdjsonDeletion } from './ndjson-format.js';
import { formatPubTator } from './pubtator-format.js';

/**
 * The three output formats behind one shape, so that the file and stream writers stream any of
 * them: an opening written before the first document, each document (with the separator it
 * needs after the first), a closing, and — for NDJSON only — deletions in line. Formatters are
 * pure; the writers own files, rotation and durability.
 */

export const FILE_FORMAT_NAMES = ['pubtator', 'bioc', 'ndjson'] as const;
export type FileFormatName = (typeof FILE_FORMAT_NAMES)[number];

export interface FileFormat {
  readonly name: FileFormatName;
  /** File name extension without the dot: `pubtator`, `bioc.json`, `ndjson`. */
  readonly extension: string;
  /** Why this format cannot express `article` (beyond the checks every format makes). */
  problem(article: AnnotatedArticle): string | undefined;
  /** Text before the first document of a file (the BioC collection header), or ''. */
  opening(): string;
  /** One document; `first` is whether it is the first of its file. */
  document(article: AnnotatedArticle, first: boolean): string;
  /** Text after the last document of a file (the BioC closing brackets), or ''. */
  closing(): string;
  /**
   * A deletion written in line, in stream order (NDJSON), or undefined when the format cannot
   * express deletions (PubTator, BioC): writers then record them beside the file.
   */
  deletion(pmid: string): string | undefined;
}

export interface FileFormatOptions {
  /** Clock for the BioC collection `date`. */
  readonly now?: () => Date;
}

export function fileFormat(name: FileFormatName, options: FileFormatOptions = {}): FileFormat {
  const none = (): undefined => undefined;
  switch (name) {
    case 'pubtator':
      return {
        name,
        extension: 'pubtator',
        problem: none,
        opening: () => '',
        document: (article) => formatPubTator(article),
        closing: () => '',
        deletion: none,
      };
    case 'bioc': {
      const now = options.now ?? (() => new Date());
      return {
        name,
        extension: 'bioc.json',
        problem: biocProblem,
        opening: () => biocCollectionOpening(biocCollectionInfo(now())),
        document: (article, first) =>
          (first ? '' : BIOC_DOCUMENT_SEPARATOR) + formatBioCDocument(article),
        closing: () => BIOC_COLLECTION_CLOSING,
        deletion: none,
      };
    }
    case 'ndjson':
      return {
        name,
        extension: 'ndjson',
        problem: none,
        opening: () => '',
        document: (article) => formatNdjsonArticle(article),
        closing: () => '',
        deletion: (pmid) => formatNdjsonDeletion(pmid),
      };
  }
}
