import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { MedStreamError } from '../../errors.js';

/**
 * Reads NCBI's published checksum files. The update files use OpenSSL's format,
 * `MD5(pubmed25n1275.xml.gz)= 0123…cdef`; coreutils' `0123…cdef  name` and a bare digest are
 * accepted too. When the line names a file, it must be the file being verified.
 */
export function parseMd5File(text: string, expectedName: string): string {
  const line = text.trim().split(/\r?\n/)[0]?.trim() ?? '';
  let name: string | undefined;
  let digest: string | undefined;
  const openssl = /^MD5\s*\((.+)\)\s*=\s*([0-9a-fA-F]{32})$/.exec(line);
  const coreutils = /^([0-9a-fA-F]{32})\s+\*?(.+)$/.exec(line);
  if (openssl !== null) {
    [, name, digest] = openssl;
  } else if (coreutils !== null) {
    [, digest, name] = coreutils;
  } else if (/^[0-9a-fA-F]{32}$/.test(line)) {
    digest = line;
  }
  if (digest === undefined) {
    throw new MedStreamError(
      'CHECKSUM_MISMATCH',
      `Checksum file for ${expectedName} is not in a known MD5 format: "${line.slice(0, 120)}"`,
      { details: { file: expectedName } },
    );
  }
  if (name !== undefined && name.trim() !== expectedName) {
    throw new MedStreamError(
      'CHECKSUM_MISMATCH',
      `Checksum file for ${expectedName} names another file (${name.trim()})`,
      { details: { file: expectedName, named: name.trim() } },
    );
  }
  return digest.toLowerCase();
}

export async function md5OfFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('md5');
  const stream = createReadStream(path, signal === undefined ? {} : { signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

export function assertMd5(name: string, expected: string, actual: string): void {
  if (expected !== actual) {
    throw new MedStreamError(
      'CHECKSUM_MISMATCH',
      `${name}: MD5 ${actual} does not match the published ${expected}; the file is corrupt or ` +
        'incomplete and none of its records were sent (a re-run downloads or reads it again)',
      { details: { file: name, expected, actual } },
    );
  }
}
