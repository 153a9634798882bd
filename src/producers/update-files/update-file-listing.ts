import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MedStreamError } from '../../errors.js';
import type { HttpClient } from '../http/http-client.js';

/**
 * Finds the update/baseline files of a local folder or of an HTTP(S) mirror's directory
 * listing (an HTML index such as NCBI's pubmed/updatefiles/), in processing order.
 */

/** `pubmed25n1275.xml.gz` (current) and `medline16n0902.xml.gz` (pre-2017) names. */
export const UPDATE_FILE_PATTERN = /^(?:pubmed|medline)[A-Za-z0-9_.-]*\.xml\.gz$/;

export interface UpdateFileEntry {
  name: string;
  /** Absolute path (folder) or URL (mirror). */
  location: string;
  /** Where the `.md5` companion is, when it exists. */
  md5Location?: string;
  remote: boolean;
}

/**
 * Numeric-aware name order, so `pubmed25n999` < `pubmed25n1000` should the numbers ever
 * outgrow their zero padding; update files must be applied in this order because a later
 * file revises or deletes records of an earlier one.
 */
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

export function compareUpdateFileNames(a: string, b: string): number {
  return collator.compare(a, b);
}

export function isRemote(from: string): boolean {
  return /^https?:\/\//i.test(from);
}

export async function listUpdateFiles(
  from: string,
  options: { http?: HttpClient; signal?: AbortSignal } = {},
): Promise<UpdateFileEntry[]> {
  const entries = isRemote(from)
    ? await listRemote(from, options.http, options.signal)
    : await listLocal(from);
  return entries.sort((a, b) => compareUpdateFileNames(a.name, b.name));
}

async function listLocal(dir: string): Promise<UpdateFileEntry[]> {
  let names: string[];
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      throw new MedStreamError('INPUT_NOT_FOUND', `${dir} is not a directory`);
    }
    names = await readdir(dir);
  } catch (error) {
    if (error instanceof MedStreamError) throw error;
    throw new MedStreamError('INPUT_NOT_FOUND', `Cannot list update files in ${dir}`, {
      cause: error,
    });
  }
  const present = new Set(names);
  return names
    .filter((name) => UPDATE_FILE_PATTERN.test(name))
    .map((name) => ({
      name,
      location: join(dir, name),
      ...(present.has(`${name}.md5`) ? { md5Location: join(dir, `${name}.md5`) } : {}),
      remote: false,
    }));
}

async function listRemote(
  url: string,
  http: HttpClient | undefined,
  signal: AbortSignal | undefined,
): Promise<UpdateFileEntry[]> {
  if (http === undefined) {
    throw new MedStreamError('INTERNAL', 'listUpdateFiles: an HttpClient is required for URLs');
  }
  // A directory URL without its slash would resolve links against the parent directory.
  const indexUrl = url.endsWith('/') ? url : `${url}/`;
  const response = await http.get(indexUrl, signal === undefined ? {} : { signal });
  const links = extractLinks(response.body.toString('utf8'), indexUrl);
  const byName = new Map<string, string>();
  for (const link of links) {
    const name = decodeURIComponent(new URL(link).pathname.split('/').pop() ?? '');
    if (name !== '' && !byName.has(name)) byName.set(name, link);
  }
  const entries: UpdateFileEntry[] = [];
  for (const [name, location] of byName) {
    if (!UPDATE_FILE_PATTERN.test(name)) continue;
    const md5Location = byName.get(`${name}.md5`);
    entries.push({
      name,
      location,
      ...(md5Location === undefined ? {} : { md5Location }),
      remote: true,
    });
  }
  return entries;
}

/** Absolute http(s) URLs of every href in an HTML page (query and fragment dropped). */
export function extractLinks(html: string, baseUrl: string): string[] {
  const out: string[] = [];
  const hrefs = /<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;
  for (let match = hrefs.exec(html); match !== null; match = hrefs.exec(html)) {
    const raw = decodeHtmlEntities(match[1] ?? match[2] ?? match[3] ?? '');
    let resolved: URL;
    try {
      resolved = new URL(raw, baseUrl);
    } catch {
      continue;
    }
    if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') continue;
    resolved.search = '';
    resolved.hash = '';
    out.push(resolved.toString());
  }
  return out;
}

function decodeHtmlEntities(text: string): string {
  return text
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}
