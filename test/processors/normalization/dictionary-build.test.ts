import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { registerBuildDictionaryCommand } from '../../../src/cli/commands/build-dictionary.js';
import { MedStreamError } from '../../../src/errors.js';
import { ConceptDictionary } from '../../../src/processors/normalization/concept-dictionary.js';
import {
  VOCABULARY_FILES,
  buildDictionary,
} from '../../../src/processors/normalization/dictionary-builder.js';
import {
  DICTIONARY_FILE,
  DICTIONARY_MANIFEST_FILE,
} from '../../../src/processors/normalization/dictionary-data.js';
import {
  readDictionaryData,
  readDictionaryManifest,
  writeDictionary,
} from '../../../src/processors/normalization/dictionary-store.js';
import { Normalizer } from '../../../src/processors/normalization/normalizer.js';
import { corpusFile } from '../../../src/text/training-export.js';

/**
 * The builder over a tiny data root written here in the formats of shared/data (nothing is
 * copied from there): MEDIC with its header, MeSH_dic, the DisMaNET tables, one NCBI train
 * document.
 */
const MEDIC = [
  '# The Comparative Toxicogenomics Database (CTD) - test fixture',
  '# Report created: Tue Jun 06 11:31:46 EDT 2017',
  '# Fields:',
  '# DiseaseName\tDiseaseID\tAltDiseaseIDs\tDefinition\tParentIDs\tTreeNumbers\tParentTreeNumbers\tSynonyms\tSlimMappings',
  '#',
  'Diabetes Mellitus, Type 2\tMESH:D003924\tDO:DOID:9352|OMIM:125853\t\tMESH:D003920\tC18\tC18\tType 2 diabetes|NIDDM, Type 2\t',
  'Breast Neoplasms\tMESH:D001943\t\t\t\t\t\tBreast Cancer|Breast Tumors\t',
  'Hypokalemia\tMESH:D007008\t\t\t\t\t\t\t',
].join('\n');

const FILES: Record<string, string | Buffer> = {
  [VOCABULARY_FILES.medic]: gzipSync(`${MEDIC}\n`),
  [VOCABULARY_FILES.meshDescriptors]:
    'MeshID\tname_hyphenated\nD003924\tdiabetes-mellitus,-type-2\nD008094\tlithium\nD000068960\t[obsolete]-old-thing\n',
  [VOCABULARY_FILES.meshScr]:
    'MESH_SCR_ID\tMESH_SCR_NAME\tMESH_ID\nC000001\tFoo-Bar Syndrome\tD001943\n',
  [VOCABULARY_FILES.omim]:
    'OMIM_ID\tOMIM_NAME\n125853\tNoninsulin-dependent diabetes mellitus\n999999\tSomething outside MEDIC\n',
  [VOCABULARY_FILES.meshToCui]:
    '"MESH_ID"\t"UMLS_CUI"\t"UMLS_NAME"\n"D007008"\t"C0020621"\t"Low blood potassium"\n',
  [VOCABULARY_FILES.orphanet]:
    'ORPHANET_ID\tORPHANET_NAME\tMESH_ID\n1\tHereditary breast tumour\tD001943\n',
};

const NCBI_TRAIN = [
  '100|t|T2D and MODY-X.',
  '100|a|Both are rare.',
  '100\t0\t3\tT2D\tSpecificDisease\tOMIM:125853',
  '100\t8\t14\tMODY-X\tSpecificDisease\tD999999',
  '',
  // A verbatim repeat of a document counts once.
  '100|t|T2D and MODY-X.',
  '100|a|Both are rare.',
  '100\t0\t3\tT2D\tSpecificDisease\tOMIM:125853',
  '100\t8\t14\tMODY-X\tSpecificDisease\tD999999',
  '',
].join('\n');

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'medstream-vocab-'));
  for (const [path, content] of Object.entries(FILES)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  const ncbi = corpusFile(root, 'ncbi-disease', 'train');
  await mkdir(dirname(ncbi), { recursive: true });
  await writeFile(ncbi, NCBI_TRAIN);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('buildDictionary', () => {
  test('concepts, alternative IDs, names and training mentions', async () => {
    const built = await buildDictionary({
      dataRoot: root,
      corpora: ['ncbi-disease'],
      splits: ['train'],
    });
    const dictionary = new ConceptDictionary(built.data);
    assert.equal(dictionary.canonicalId('OMIM:125853'), 'MESH:D003924');
    // DO IDs are not alternative IDs; OMIM names outside MEDIC add no concept.
    assert.equal(dictionary.conceptIndex('DO:DOID:9352'), undefined);
    assert.equal(dictionary.conceptIndex('OMIM:999999'), undefined);
    // The MEDIC name stays preferred over the MeSH heading; obsolete headings are skipped.
    assert.equal(dictionary.conceptName('MESH:D003924'), 'Diabetes Mellitus, Type 2');
    assert.equal(dictionary.conceptIndex('MESH:D000068960'), undefined);
    assert.deepEqual(dictionary.concept('MESH:D008094'), {
      id: 'MESH:D008094',
      name: 'lithium',
      types: [],
    });
    assert.deepEqual(dictionary.concept('MESH:C000001')?.types, ['Disease']);
    // A concept only seen in training is named by its mention.
    assert.deepEqual(dictionary.concept('MESH:D999999'), {
      id: 'MESH:D999999',
      name: 'MODY-X',
      types: ['Disease'],
    });
    assert.equal(built.counts.trainingMentions, 2);
    assert.equal(built.counts.trainingOnlyConcepts, 1);
    assert.equal(built.counts.altIds, 1);
    assert.equal(built.counts.conceptsByType.Disease, 5);
    assert.equal(built.sources[0].version, 'CTD MEDIC 2017-06-06');
    assert.match(
      built.data.vocabularyVersion,
      /^ctd-medic-2017-06-06\+mesh\+dismanet\+ncbi-disease:train@[0-9a-f]{12}$/,
    );

    const normalizer = new Normalizer(dictionary);
    const top = (m: string, type = 'Disease') => normalizer.normalize(m, type)[0]?.ids;
    assert.deepEqual(top('T2D'), ['MESH:D003924']); // training, alternative ID mapped
    assert.deepEqual(top('noninsulin dependent diabetes mellitus'), ['MESH:D003924']); // OMIM
    assert.deepEqual(top('low blood potassium'), ['MESH:D007008']); // UMLS
    assert.deepEqual(top('hereditary breast tumours'), ['MESH:D001943']); // Orphanet
    assert.deepEqual(top('lithium', 'Chemical'), ['MESH:D008094']); // MeSH, untyped
  });

  test('a vocabulary that is not gzip is GZIP_CORRUPT', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'medstream-bad-'));
    try {
      await mkdir(dirname(join(bad, VOCABULARY_FILES.medic)), { recursive: true });
      await writeFile(join(bad, VOCABULARY_FILES.medic), 'not gzip');
      await assert.rejects(
        buildDictionary({ dataRoot: bad, corpora: [], splits: [] }),
        (e: unknown) => e instanceof MedStreamError && e.code === 'GZIP_CORRUPT',
      );
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });

  test('a missing vocabulary file is INPUT_NOT_FOUND', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'medstream-empty-'));
    try {
      await assert.rejects(
        buildDictionary({ dataRoot: empty, corpora: [], splits: [] }),
        (e: unknown) => e instanceof MedStreamError && e.code === 'INPUT_NOT_FOUND',
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('dictionary artifact', () => {
  test('write, read back, manifest with sha256 and counts', async () => {
    const out = await mkdtemp(join(tmpdir(), 'medstream-dict-'));
    try {
      const built = await buildDictionary({
        dataRoot: root,
        corpora: ['ncbi-disease'],
        splits: ['train'],
      });
      const manifest = await writeDictionary(out, built, new Date('2024-01-02T03:04:05Z'));
      assert.deepEqual(await readDictionaryData(out), built.data);
      const read = await readDictionaryManifest(out);
      assert.deepEqual(read, JSON.parse(JSON.stringify(manifest)));
      assert.equal(read.builtAt, '2024-01-02T03:04:05.000Z');
      assert.equal(read.sources.length, Object.keys(FILES).length + 1);
      for (const s of read.sources) assert.match(s.sha256, /^[0-9a-f]{64}$/);
      assert.equal(read.artifact.file, DICTIONARY_FILE);
      assert.equal(read.counts.entries, built.data.entryNames.length);
      const normalizer = await Normalizer.load(out);
      assert.deepEqual(normalizer.normalize('type 2 diabetes', 'Disease')[0]?.ids, [
        'MESH:D003924',
      ]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  test('a damaged or foreign artifact is DICTIONARY_INVALID; a missing one INPUT_NOT_FOUND', async () => {
    const out = await mkdtemp(join(tmpdir(), 'medstream-dict-'));
    const isCode = (code: string) => (e: unknown) => e instanceof MedStreamError && e.code === code;
    try {
      await assert.rejects(readDictionaryData(out), isCode('INPUT_NOT_FOUND'));
      await writeFile(join(out, DICTIONARY_FILE), 'not gzip');
      await assert.rejects(readDictionaryData(out), isCode('DICTIONARY_INVALID'));
      await writeFile(join(out, DICTIONARY_FILE), gzipSync(JSON.stringify({ format: 'other' })));
      await assert.rejects(readDictionaryData(out), isCode('DICTIONARY_INVALID'));
      const built = await buildDictionary({ dataRoot: root, corpora: [], splits: [] });
      const broken = { ...built.data, entryTargets: built.data.entryTargets.map(() => 10_000) };
      await writeFile(join(out, DICTIONARY_FILE), gzipSync(JSON.stringify(broken)));
      await assert.rejects(readDictionaryData(out), isCode('DICTIONARY_INVALID'));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

describe('medstream build-dictionary', () => {
  test('writes the artifact and prints the manifest; rejects unknown splits', async () => {
    const out = await mkdtemp(join(tmpdir(), 'medstream-cli-'));
    const previous = process.env.MEDSTREAM_DATA;
    process.env.MEDSTREAM_DATA = root;
    try {
      let printed = '';
      const program = new Command().exitOverride();
      registerBuildDictionaryCommand(program, {
        write: (chunk: string) => (printed += chunk) !== '',
      });
      await program.parseAsync(
        ['build-dictionary', '--out', out, '--corpora', 'ncbi-disease', '--splits', 'train'],
        { from: 'user' },
      );
      const manifest = JSON.parse(await readFile(join(out, DICTIONARY_MANIFEST_FILE), 'utf8')) as {
        corpora: string[];
      };
      assert.deepEqual(manifest.corpora, ['ncbi-disease']);
      assert.deepEqual(JSON.parse(printed), manifest);

      const again = new Command().exitOverride();
      registerBuildDictionaryCommand(again, { write: () => true });
      await assert.rejects(
        again.parseAsync(['build-dictionary', '--out', out, '--splits', 'holdout'], {
          from: 'user',
        }),
        (e: unknown) => e instanceof MedStreamError && e.code === 'CONFIG_INVALID',
      );
    } finally {
      if (previous === undefined) delete process.env.MEDSTREAM_DATA;
      else process.env.MEDSTREAM_DATA = previous;
      await rm(out, { recursive: true, force: true });
    }
  });
});
