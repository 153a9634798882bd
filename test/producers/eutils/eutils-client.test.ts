import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MedStreamError } from '../../../src/errors.js';
import {
  classifyEutilsMessage,
  parseEsearchResponse,
} from '../../../src/producers/eutils/eutils-client.js';
import type { HttpResponse } from '../../../src/producers/http/http-client.js';
import { readSample } from './pubmed-sample-articles.js';

function response(body: string): HttpResponse {
  return { url: 'http://x', status: 200, headers: {}, body: Buffer.from(body), attempts: 1 };
}

function parse(sample: string) {
  return parseEsearchResponse(response(readSample(sample)));
}

test('esearch: both real response shapes give count, WebEnv and query key', () => {
  const expected = {
    count: 15169,
    webEnv: 'NCID_1_18991374_130.14.18.48_5555_1353814292_87026138',
    queryKey: '1',
  };
  assert.deepEqual(parse('eutils-json-klortho/esearch.pubmed.json'), expected);
  // The XML nests other <Count> elements in <TranslationStack>; only the top-level one counts.
  assert.deepEqual(parse('eutils-json-klortho/esearch.pubmed.xml'), expected);
  assert.deepEqual(parse('biopython/esearch2.xml'), {
    count: 42249,
    webEnv: 'MCID_6927d6e7fee3e90f880ec190',
    queryKey: '1',
  });
});

test('esearch: a phrase-not-found ErrorList is not an error; no history means no WebEnv', () => {
  for (const sample of [
    'eutils-json-klortho/esearch.error.json',
    'eutils-json-klortho/esearch.error.xml',
  ]) {
    assert.deepEqual(parse(sample), { count: 5163, webEnv: undefined, queryKey: undefined });
  }
});

test('esearch: ERROR responses (real samples) are final EUTILS_ERROR', () => {
  for (const sample of [
    'eutils-json-klortho/esearch.baderror.json',
    'eutils-json-klortho/esearch.baderror.xml',
  ]) {
    assert.throws(
      () => parse(sample),
      (error: unknown) =>
        error instanceof MedStreamError &&
        error.code === 'EUTILS_ERROR' &&
        !error.retriable &&
        error.message.includes('Invalid db name specified: fleegle'),
    );
  }
});

test('esearch: cut-short JSON or XML is retriable', () => {
  const json = readSample('eutils-json-klortho/esearch.pubmed.json');
  const xml = readSample('eutils-json-klortho/esearch.pubmed.xml');
  for (const body of [json.slice(0, json.length / 2), xml.slice(0, xml.length / 2)]) {
    assert.throws(
      () => parseEsearchResponse(response(body)),
      (error: unknown) => error instanceof MedStreamError && error.retriable,
    );
  }
});

test('NCBI messages are classified once, at the boundary', () => {
  const expired = classifyEutilsMessage('efetch', 'Unable to obtain query #1');
  assert.equal(expired.code, 'EUTILS_HISTORY_EXPIRED');
  const backend = classifyEutilsMessage('esearch', 'Search Backend failed: timeout');
  assert.equal(backend.code, 'EUTILS_ERROR');
  assert.equal(backend.retriable, true);
  const rate = classifyEutilsMessage('E-utilities', 'API rate limit exceeded');
  assert.equal(rate.retriable, true);
  assert.equal(classifyEutilsMessage('esearch', 'Invalid db name specified: x').retriable, false);
});
