import { MedStreamError } from '../../errors.js';

/**
 * Completeness checks for bodies that arrived with a valid HTTP framing but may still be cut
 * short by the origin (NCBI occasionally ends an efetch page mid-document with a 200). Only the
 * head and the tail of the buffer are inspected, so the cost does not grow with page size.
 */

const HEAD_SCAN_BYTES = 64 * 1024;
const TAIL_SCAN_BYTES = 1024;

/**
 * Name of the document element, skipping BOM, XML declaration, comments, processing
 * instructions and a DOCTYPE (with or without an internal subset); undefined when the head is
 * not XML.
 */
export function xmlRootName(body: Uint8Array): string | undefined {
  const head = Buffer.from(body.buffer, body.byteOffset, Math.min(body.length, HEAD_SCAN_BYTES))
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  let i = 0;
  for (;;) {
    while (i < head.length && /\s/.test(head[i])) i += 1;
    if (head[i] !== '<') return undefined;
    if (head.startsWith('<?', i)) {
      const end = head.indexOf('?>', i + 2);
      if (end < 0) return undefined;
      i = end + 2;
    } else if (head.startsWith('<!--', i)) {
      const end = head.indexOf('-->', i + 4);
      if (end < 0) return undefined;
      i = end + 3;
    } else if (head.startsWith('<!DOCTYPE', i)) {
      const bracket = head.indexOf('[', i);
      const close = head.indexOf('>', i);
      if (close < 0) return undefined;
      if (bracket >= 0 && bracket < close) {
        const subsetEnd = head.indexOf(']', bracket);
        if (subsetEnd < 0) return undefined;
        const after = head.indexOf('>', subsetEnd);
        if (after < 0) return undefined;
        i = after + 1;
      } else {
        i = close + 1;
      }
    } else {
      const match = /^<([A-Za-z_][\w.:-]*)/.exec(head.slice(i, i + 256));
      return match?.[1];
    }
  }
}

/**
 * Throws HTTP_BODY_INCOMPLETE (retriable) unless the body is a whole XML document: it must
 * start with a root element and, after trailing whitespace, end with that element's end tag,
 * or the root must be self-closing. Returns the root element's name.
 */
export function assertXmlComplete(body: Uint8Array): string {
  const root = xmlRootName(body);
  if (root === undefined) {
    throw new MedStreamError('HTTP_BODY_INCOMPLETE', 'Response is not an XML document', {
      details: { bytes: body.length },
    });
  }
  const start = Math.max(0, body.length - TAIL_SCAN_BYTES);
  const tail = Buffer.from(body.buffer, body.byteOffset + start, body.length - start)
    .toString('latin1')
    .trimEnd();
  if (tail.endsWith(`</${root}>`)) return root;
  if (tail.endsWith('/>') && isSelfClosingRoot(body, root)) return root;
  throw new MedStreamError(
    'HTTP_BODY_INCOMPLETE',
    `XML response ended before </${root}> (${body.length} bytes received)`,
    { details: { root, bytes: body.length } },
  );
}

function isSelfClosingRoot(body: Uint8Array, root: string): boolean {
  const text = Buffer.from(body).toString('utf8');
  return new RegExp(`<${root}(\\s[^>]*)?/>\\s*$`).test(text);
}
