import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkBioC } from '../sinks/files/bioc-check.js';

const work = mkdtempSync(join(tmpdir(), 'medstream-annotate-'));
after(() => rmSync(work, { recursive: true, force: true }));

function medstream(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, KAFKA_BROKERS: '', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const input = join(work, 'in.pubtator');
writeFileSync(
  input,
  [
    '9100001|t|Cocaine-induced seizures in mice',
    '9100001|a|Lidocaine and cocaine lowered the seizure threshold; naïve mice developed hypotension.',
    '',
    '9100002|t|Hepatitis after halothane anaesthesia',
    '9100002|a|',
    '',
    '9100003|t|Cisplatin nephrotoxicity',
    '9100003|a|Cisplatin caused acute renal failure in 𝛼-tocopherol deficient rats.',
    '',
  ].join('\n'),
);

test('annotate: conflicting or misplaced output options exit 2 before the model loads', () => {
  const both = medstream([
    'annotate',
    '--input',
    input,
    '--out',
    join(work, 'x'),
    '--out-dir',
    work,
  ]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--out .* and --out-dir .* exclude each other.*\[CONFIG_INVALID\]/);
  const rotation = medstream(['annotate', '--input', input, '--rotate-records', '5']);
  assert.equal(rotation.code, 2);
  assert.match(rotation.stderr, /--rotate-records applies only with --out-dir/);
  assert.equal(rotation.stdout, '');
  assert.ok(!existsSync(join(work, 'x')));
});

test('annotate --format bioc --out-dir: rotated, complete BioC files with the served model', () => {
  const dir = join(work, 'bioc');
  const run = medstream(
    ['annotate', '--input', input, '--format', 'bioc', '--out-dir', dir, '--rotate-records', '2'],
    { MEDSTREAM_SINK_BATCH_RECORDS: '2' },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /3 articles annotated .* 0 dead letters .*→ 2 files in /);
  assert.deepEqual(readdirSync(dir).sort(), [
    'entities-000001.bioc.json',
    'entities-000002.bioc.json',
  ]);
  const docs = readdirSync(dir)
    .sort()
    .flatMap((name) => checkBioC(readFileSync(join(dir, name), 'utf8')).documents);
  assert.deepEqual(
    docs.map((d) => d.id),
    ['9100001', '9100002', '9100003'],
  );
  const annotations = docs.flatMap((d) => d.passages.flatMap((p) => p.annotations));
  assert.ok(
    annotations.some((a) => /cocaine/i.test(a.text) && a.infons.type === 'Chemical'),
    JSON.stringify(annotations.map((a) => [a.text, a.infons.type])),
  );
  assert.ok(docs.every((d) => d.infons.model === 'bc5cdr-mtl'));
  assert.equal(docs[1]?.passages[1]?.text, '', 'the empty abstract is kept as a passage');
});
