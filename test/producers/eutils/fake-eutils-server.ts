import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { efetchHead, readSample, renumberedArticle } from './pubmed-sample-articles.js';

/**
 * A local E-utilities look-alike (127.0.0.1, port 0). Responses are built from NCBI's own
 * samples: esearch JSON/XML from the klortho esearch.pubmed.* files with Count/WebEnv/QueryKey
 * replaced, efetch pages from real articles re-numbered, errors from the *.baderror.* files.
 * Faults are injected per request by a hook.
 */

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'reset' }
  /** Content-Length announces the whole page, half is sent, then the socket closes. */
  | { kind: 'truncate-length' }
  /** A well-framed 200 whose XML stops mid-document (NCBI's worst case). */
  | { kind: 'truncate-xml' }
  | { kind: 'slow'; ms: number }
  /** efetch answers with the history server's ERROR for this WebEnv. */
  | { kind: 'history-expired' }
  /** The page holds one article fewer than asked for. */
  | { kind: 'short-page' }
  | { kind: 'bad-esearch' };

export interface RecordedRequest {
  index: number;
  tool: string;
  params: URLSearchParams;
  /** performance.now() at arrival (real time, for rate measurements). */
  at: number;
  /** The injected clock's time at arrival (fake time, for Retry-After assertions). */
  fakeAt: number | undefined;
}

export interface FakeEutilsOptions {
  /** Day (YYYY-MM-DD) → PMIDs with that date, for both EDAT and MHDA. */
  days: ReadonlyMap<string, readonly number[]>;
  fault?: (request: RecordedRequest) => Fault | undefined;
  fakeNow?: () => number;
  gzip?: boolean;
}

export interface FakeEutils {
  baseUrl: string;
  requests: RecordedRequest[];
  /** PMIDs served by efetch, in order, duplicates included. */
  served: number[];
  expireHistory(): void;
  close(): Promise<void>;
}

interface HistoryEntry {
  ids: number[];
}

export async function startFakeEutils(options: FakeEutilsOptions): Promise<FakeEutils> {
  const esearchJson = JSON.parse(readSample('eutils-json-klortho/esearch.pubmed.json')) as {
    esearchresult: Record<string, unknown>;
  };
  const esearchXml = readSample('eutils-json-klortho/esearch.pubmed.xml');
  const badJson = readSample('eutils-json-klortho/esearch.baderror.json');
  const badXml = readSample('eutils-json-klortho/esearch.baderror.xml');
  const head = efetchHead();
  const history = new Map<string, HistoryEntry>();
  const requests: RecordedRequest[] = [];
  const served: number[] = [];
  let nextEnv = 1;
  let generation = 0;

  /** The E-utilities answer to a request, before any transport fault is applied. */
  const respond = (
    url: URL,
    fault: Fault | undefined,
  ): { type: string; body: string; pmids: number[] } => {
    const tool = url.pathname.split('/').pop() ?? '';
    const json = url.searchParams.get('retmode') === 'json';
    if (tool === 'esearch.fcgi') {
      if (fault?.kind === 'bad-esearch' || url.searchParams.get('db') !== 'pubmed') {
        return {
          type: json ? 'application/json' : 'text/xml',
          body: json ? badJson : badXml,
          pmids: [],
        };
      }
      const ids = matching(options.days, url.searchParams);
      const webEnv = `MCID_fake_${nextEnv++}_${generation}`;
      history.set(webEnv, { ids });
      if (json) {
        const body = structuredClone(esearchJson);
        Object.assign(body.esearchresult, {
          count: String(ids.length),
          retmax: '0',
          retstart: '0',
          querykey: '1',
          webenv: webEnv,
          idlist: [],
        });
        return { type: 'application/json', body: JSON.stringify(body, null, 4), pmids: [] };
      }
      const body = esearchXml
        .replace(/<Count>\d+<\/Count>/, `<Count>${ids.length}</Count>`) // the first is top level
        .replace(/<RetMax>\d+<\/RetMax>/, '<RetMax>0</RetMax>')
        .replace(/<WebEnv>[^<]*<\/WebEnv>/, `<WebEnv>${webEnv}</WebEnv>`)
        .replace(/<IdList>[\s\S]*?<\/IdList>/, '<IdList></IdList>');
      return { type: 'text/xml', body, pmids: [] };
    }
    // efetch
    const entry = history.get(url.searchParams.get('WebEnv') ?? '');
    if (entry === undefined || fault?.kind === 'history-expired') {
      return {
        type: 'text/xml',
        body: '<?xml version="1.0" encoding="UTF-8" ?>\n<eFetchResult>\n\t<ERROR>Unable to obtain query #1</ERROR>\n</eFetchResult>\n',
        pmids: [],
      };
    }
    const retstart = Number(url.searchParams.get('retstart') ?? '0');
    const retmax = Number(url.searchParams.get('retmax') ?? '20');
    let page = entry.ids.slice(retstart, retstart + retmax);
    if (fault?.kind === 'short-page') page = page.slice(1);
    const body = `${head}\n${page.map((p) => renumberedArticle(p)).join('\n')}\n</PubmedArticleSet>\n`;
    return { type: 'text/xml', body, pmids: page };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const tool = url.pathname.split('/').pop() ?? '';
    const record: RecordedRequest = {
      index: requests.length,
      tool,
      params: url.searchParams,
      at: performance.now(),
      fakeAt: options.fakeNow?.(),
    };
    requests.push(record);
    if (tool !== 'esearch.fcgi' && tool !== 'efetch.fcgi') {
      res.writeHead(404).end();
      return;
    }
    const fault = options.fault?.(record);
    if (fault?.kind === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault?.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, {
        'content-type': 'application/json',
        ...(fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }),
      });
      res.end(fault.body ?? '{"error":"API rate limit exceeded","count":"4","limit":"3"}');
      return;
    }
    const answer = respond(url, fault);
    let bytes: Buffer = Buffer.from(answer.body, 'utf8');
    if (fault?.kind === 'truncate-xml') bytes = bytes.subarray(0, Math.floor(bytes.length * 0.6));
    const headers: Record<string, string | number> = { 'content-type': answer.type };
    if (options.gzip === true && /gzip/.test(req.headers['accept-encoding'] ?? '')) {
      bytes = gzipSync(bytes);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = bytes.length;
    if (fault?.kind === 'truncate-length') {
      res.writeHead(200, headers);
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      await new Promise((resolve) => setTimeout(resolve, 10));
      res.socket?.destroy();
      return;
    }
    if (fault?.kind !== 'truncate-xml') served.push(...answer.pmids);
    res.writeHead(200, headers);
    res.end(bytes);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/entrez/eutils/`,
    requests,
    served,
    expireHistory: () => {
      history.clear();
      generation += 1;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The PMIDs of the requested date range (and `lo:hi[uid]` range), most recent first. */
function matching(days: ReadonlyMap<string, readonly number[]>, params: URLSearchParams): number[] {
  const min = (params.get('mindate') ?? '').replaceAll('/', '-');
  const max = (params.get('maxdate') ?? '').replaceAll('/', '-');
  const uid = /(\d+):(\d+)\[uid\]/.exec(params.get('term') ?? '');
  const lo = uid === null ? 0 : Number(uid[1]);
  const hi = uid === null ? Number.MAX_SAFE_INTEGER : Number(uid[2]);
  const ids: number[] = [];
  for (const [day, pmids] of days) {
    if (day < min || day > max) continue;
    ids.push(...pmids.filter((p) => p >= lo && p <= hi));
  }
  return ids.sort((a, b) => b - a);
}
