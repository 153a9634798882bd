/**
 * CRC-64-AVRO, the Rabin fingerprint the Avro specification defines for schema fingerprints
 * (avsc only offers crypto hashes: md5, sha256). Computed over the UTF-8 bytes of a schema's
 * Parsing Canonical Form; single-object encoding writes it little-endian after `C3 01`.
 */
const EMPTY = 0xc15d213aa4d7a795n;
const MASK64 = 0xffffffffffffffffn;

const TABLE: readonly bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) {
      fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK64);
    }
    table.push(fp);
  }
  return table;
})();

/** Unsigned 64-bit fingerprint; `BigInt.asIntN(64, fp)` gives the spec's signed test values. */
export function crc64Avro(data: Uint8Array | string): bigint {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fp = EMPTY;
  for (const byte of bytes) {
    fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(byte)) & 0xffn)];
  }
  return fp;
}
