import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { AnnotatedArticle, Mention } from '../../../src/codec/records.js';
import { articleText } from '../../../src/codec/records.js';
import type { BioCDocument } from '../../../src/sinks/files/bioc-format.js';

/**
 * Checks BioC JSON independently of the writer: structure against the JSON Schema beside this
 * file (the BioC DTD in JSON form), then the offsets — every passage text at its offset in the
 * document, every annotation inside its passage with `text` equal to the document text at its
 * location, counting code points as BioC readers do.
 */

const schema = JSON.parse(
  readFileSync(new URL('./bioc.schema.json', import.meta.url), 'utf8'),
) as object;
const validate = new Ajv({ allErrors: true }).compile(schema);

export interface BioCCollectionJson {
  source: string;
  date: string;
  key: string;
  infons: Record<string, string>;
  documents: BioCDocument[];
}

/** Parses `text` as one BioC JSON collection and checks it; returns it for further checks. */
export function checkBioC(text: string): BioCCollectionJson {
  const value: unknown = JSON.parse(text);
  assert.ok(validate(value), JSON.stringify(validate.errors, null, 2));
  const collection = value as BioCCollectionJson;
  for (const doc of collection.documents) checkDocumentOffsets(doc);
  return collection;
}

function checkDocumentOffsets(doc: BioCDocument): void {
  // The document text in code points: each passage's text placed at its offset.
  const chars: string[] = [];
  let previousEnd = 0;
  for (const passage of doc.passages) {
    assert.ok(passage.offset >= previousEnd, `${doc.id}: passages overlap`);
    while (chars.length < passage.offset) chars.push(' ');
    const passageChars = Array.from(passage.text);
    chars.push(...passageChars);
    previousEnd = passage.offset + passageChars.length;
  }
  const ids = new Set<string>();
  for (const passage of doc.passages) {
    const end = passage.offset + Array.from(passage.text).length;
    for (const annotation of passage.annotations) {
      assert.ok(!ids.has(annotation.id), `${doc.id}: annotation id ${annotation.id} repeated`);
      ids.add(annotation.id);
      for (const { offset, length } of annotation.locations) {
        assert.ok(
          offset >= passage.offset && offset + length <= end,
          `${doc.id}: annotation ${annotation.id} outside its passage`,
        );
        assert.equal(chars.slice(offset, offset + length).join(''), annotation.text);
      }
    }
  }
}

/**
 * An annotated article whose mentions are found in its text (`occurrence`: which one, from
 * 0), so the offsets are right by construction, in UTF-16 code units like real records.
 */
export function annotatedArticle(
  pmid: string,
  title: string,
  abstract: string,
  spans: readonly { text: string; type: string; ids: string[]; occurrence?: number }[],
): AnnotatedArticle {
  const text = articleText({ title, abstract });
  const mentions: Mention[] = spans.map((s) => {
    let start = text.indexOf(s.text);
    for (let i = 0; i < (s.occurrence ?? 0); i += 1) start = text.indexOf(s.text, start + 1);
    assert.ok(start >= 0, `${s.text} not in ${text}`);
    return {
      start,
      end: start + s.text.length,
      text: s.text,
      type: s.type,
      ids: s.ids,
      score: 0.875,
      source: 'model',
    };
  });
  return {
    pmid,
    version: 2,
    title,
    abstract,
    journal: 'J Test Med',
    publicationDate: '2024-05',
    meshHeadings: [],
    textSha256: 'f'.repeat(64),
    modelName: 'bc5cdr-mtl',
    modelVersion: '1.2.0',
    vocabularyVersion: 'medic-2017',
    mentions,
    processedAt: Date.UTC(2024, 4, 6, 7, 8, 9),
  };
}
