import { SaxesParser } from 'saxes';
import { MedStreamError } from '../../errors.js';
import { assertXmlComplete, xmlRootName } from '../http/body-checks.js';
import type { HttpClient, HttpResponse } from '../http/http-client.js';
import { redactUrl } from '../http/http-client.js';

/**
 * E-utilities protocol for PubMed: URL building and response reading for esearch (history
 * mode) and efetch pages. Knows nothing of windows or checkpoints (see eutils-source.ts).
 */

export const DEFAULT_EUTILS_BASE_URL = 'https://eutils.ncbi.nlm.nih.gov/entrez/eutils/';

export type EutilsDateType = 'edat' | 'mhda';
export type EsearchRetmode = 'json' | 'xml';

export interface EutilsClientOptions {
  http: HttpClient;
  baseUrl?: string;
  /** NCBI_API_KEY: raises the documented limit from 3 to 10 requests/s. */
  apiKey?: string;
  /** NCBI_TOOL and NCBI_EMAIL: NCBI asks every client to identify itself with both. */
  tool?: string;
  email?: string;
  /** Response format asked of esearch; both are read. */
  retmode?: EsearchRetmode;
}

export interface EsearchQuery {
  term: string;
  datetype: EutilsDateType;
  /** YYYY/MM/DD, inclusive. */
  mindate: string;
  /** YYYY/MM/DD, inclusive. */
  maxdate: string;
}

export interface EsearchResult {
  count: number;
  webEnv: string | undefined;
  queryKey: string | undefined;
}

export interface EfetchPageRequest {
  webEnv: string;
  queryKey: string;
  retstart: number;
  retmax: number;
}

export class EutilsClient {
  readonly http: HttpClient;
  private readonly baseUrl: string;
  private readonly common: Readonly<Record<string, string>>;
  private readonly retmode: EsearchRetmode;

  constructor(options: EutilsClientOptions) {
    this.http = options.http;
    const base = options.baseUrl ?? DEFAULT_EUTILS_BASE_URL;
    this.baseUrl = base.endsWith('/') ? base : `${base}/`;
    const common: Record<string, string> = {};
    if (options.tool !== undefined && options.tool !== '') common['tool'] = options.tool;
    if (options.email !== undefined && options.email !== '') common['email'] = options.email;
    if (options.apiKey !== undefined && options.apiKey !== '') common['api_key'] = options.apiKey;
    this.common = Object.freeze(common);
    this.retmode = options.retmode ?? 'json';
  }

  /** esearch with usehistory=y and retmax=0: only the count and the history handle matter. */
  async esearch(query: EsearchQuery, signal?: AbortSignal): Promise<EsearchResult> {
    const url = this.url('esearch.fcgi', {
      db: 'pubmed',
      term: query.term,
      datetype: query.datetype,
      mindate: query.mindate,
      maxdate: query.maxdate,
      usehistory: 'y',
      retstart: '0',
      retmax: '0',
      retmode: this.retmode,
    });
    const result = await this.http.getParsed(url, parseEsearchResponse, {
      signal,
      acceptGzip: true,
    });
    if (result.count > 0 && (result.webEnv === undefined || result.queryKey === undefined)) {
      throw new MedStreamError(
        'EUTILS_RESPONSE_INVALID',
        `esearch returned ${result.count} records but no WebEnv/QueryKey (usehistory ignored?)`,
        { details: { url: redactUrl(url) } },
      );
    }
    return result;
  }

  /**
   * One efetch page as a complete PubmedArticleSet document. A page cut short is retried by
   * the HTTP layer; an E-utilities ERROR is thrown as EUTILS_HISTORY_EXPIRED (the caller must
   * re-run esearch) or EUTILS_ERROR.
   */
  async efetchPage(page: EfetchPageRequest, signal?: AbortSignal): Promise<Buffer> {
    const url = this.url('efetch.fcgi', {
      db: 'pubmed',
      WebEnv: page.webEnv,
      query_key: page.queryKey,
      retstart: String(page.retstart),
      retmax: String(page.retmax),
      retmode: 'xml',
    });
    // E-utilities errors are returned, not thrown, inside the retry loop: re-asking the same
    // WebEnv after "history expired" cannot succeed, so only transient ones may retry there.
    const outcome = await this.http.getParsed(url, readEfetchPage, { signal, acceptGzip: true });
    if (outcome.ok) return outcome.xml;
    throw outcome.error;
  }

  private url(tool: string, params: Record<string, string>): string {
    const search = new URLSearchParams({ ...params, ...this.common });
    return `${this.baseUrl}${tool}?${search.toString()}`;
  }
}

type EfetchOutcome = { ok: true; xml: Buffer } | { ok: false; error: MedStreamError };

/**
 * Inside the retry loop: throws what a new attempt may fix (cut-short page, transient backend
 * error, unexpected document), returns what it cannot (history lost, final ERROR).
 */
function readEfetchPage(response: HttpResponse): EfetchOutcome {
  const body = response.body;
  let error: MedStreamError | undefined;
  if (firstNonSpace(body) === '{') {
    error = eutilsErrorFromJson(body) ?? invalid('efetch returned JSON without an error');
  } else {
    const root = assertXmlComplete(body);
    if (root === 'PubmedArticleSet') return { ok: true, xml: body };
    const message = xmlErrorMessage(body);
    error =
      message === undefined
        ? invalid(`efetch returned <${root}>, expected <PubmedArticleSet>`)
        : classifyEutilsMessage('efetch', message);
  }
  if (error.retriable && error.code !== 'EUTILS_HISTORY_EXPIRED') throw error;
  return { ok: false, error };
}

/** Reads both esearch shapes (retmode=json and retmode=xml) into one result. */
export function parseEsearchResponse(response: HttpResponse): EsearchResult {
  const body = response.body;
  if (firstNonSpace(body) === '{') return parseEsearchJson(body);
  if (xmlRootName(body) === undefined) throw invalid('esearch response is neither JSON nor XML');
  assertXmlComplete(body);
  return parseEsearchXml(body);
}

function parseEsearchJson(body: Buffer): EsearchResult {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new MedStreamError('HTTP_BODY_INCOMPLETE', 'esearch JSON does not parse (cut short?)', {
      cause: error,
    });
  }
  const topError = eutilsErrorFromJson(body, json);
  if (topError !== undefined) throw topError;
  const result = (json as { esearchresult?: Record<string, unknown> }).esearchresult;
  if (result === undefined || typeof result !== 'object') {
    throw invalid('esearch JSON has no "esearchresult"');
  }
  const error = result['ERROR'];
  if (typeof error === 'string' && error !== '') throw classifyEutilsMessage('esearch', error);
  return {
    count: parseCount(result['count']),
    webEnv: optionalString(result['webenv']),
    queryKey: optionalString(result['querykey']),
  };
}

function parseEsearchXml(body: Buffer): EsearchResult {
  // Only direct children of <eSearchResult> count: <TranslationStack> nests its own <Count>.
  const fields: Record<string, string> = {};
  const stack: string[] = [];
  let text = '';
  const parser = new SaxesParser();
  parser.on('opentag', (tag) => {
    stack.push(tag.name);
    text = '';
  });
  parser.on('text', (t) => {
    text += t;
  });
  parser.on('closetag', (tag) => {
    if (stack.length === 2 && stack[0] === 'eSearchResult' && !(tag.name in fields)) {
      fields[tag.name] = text.trim();
    }
    stack.pop();
    text = '';
  });
  try {
    parser.write(body.toString('utf8')).close();
  } catch (error) {
    throw new MedStreamError('EUTILS_RESPONSE_INVALID', 'esearch XML is malformed', {
      cause: error,
    });
  }
  const error = fields['ERROR'];
  if (error !== undefined && error !== '') throw classifyEutilsMessage('esearch', error);
  if (fields['Count'] === undefined) throw invalid('esearch XML has no <Count>');
  return {
    count: parseCount(fields['Count']),
    webEnv: optionalString(fields['WebEnv']),
    queryKey: optionalString(fields['QueryKey']),
  };
}

/** `{"error": "..."}` (API key / rate errors) or `{"esearchresult": {"ERROR": ...}}` bodies. */
function eutilsErrorFromJson(body: Buffer, parsed?: unknown): MedStreamError | undefined {
  let json = parsed;
  if (json === undefined) {
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return new MedStreamError('HTTP_BODY_INCOMPLETE', 'E-utilities JSON does not parse');
    }
  }
  if (json === null || typeof json !== 'object') return undefined;
  const top = (json as Record<string, unknown>)['error'];
  if (typeof top === 'string' && top !== '') return classifyEutilsMessage('E-utilities', top);
  const nested = (json as Record<string, Record<string, unknown> | undefined>)['esearchresult']?.[
    'ERROR'
  ];
  if (typeof nested === 'string' && nested !== '')
    return classifyEutilsMessage('E-utilities', nested);
  return undefined;
}

function xmlErrorMessage(body: Buffer): string | undefined {
  const match = /<ERROR>([\s\S]*?)<\/ERROR>/.exec(body.subarray(0, 64 * 1024).toString('utf8'));
  return match?.[1]?.trim();
}

/**
 * The one place where NCBI's free-text error is turned into a code; everything downstream
 * classifies by code. History loss needs a new esearch; backend hiccups are retried; the rest
 * (invalid db, bad term, bad API key) is final.
 */
export function classifyEutilsMessage(tool: string, message: string): MedStreamError {
  if (/unable to obtain query|cannot retrieve history|history|webenv|query_key/i.test(message)) {
    return new MedStreamError('EUTILS_HISTORY_EXPIRED', `${tool}: ${message}`, {
      details: { eutilsMessage: message },
    });
  }
  const transient =
    /backend|temporar|unavailable|timed? ?out|try again|rate limit|too many requests/i.test(
      message,
    );
  return new MedStreamError('EUTILS_ERROR', `${tool}: ${message}`, {
    retriable: transient,
    details: { eutilsMessage: message },
  });
}

function parseCount(value: unknown): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text.trim())) {
    throw invalid(`esearch count is not a number: ${JSON.stringify(value)}`);
  }
  return Number(text.trim());
}

function optionalString(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function firstNonSpace(body: Buffer): string | undefined {
  for (let i = 0; i < Math.min(body.length, 1024); i += 1) {
    const c = body[i];
    if (c === 0xef && i === 0) {
      i += 2; // UTF-8 BOM
      continue;
    }
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return String.fromCharCode(c);
  }
  return undefined;
}

function invalid(message: string): MedStreamError {
  return new MedStreamError('EUTILS_RESPONSE_INVALID', message);
}
