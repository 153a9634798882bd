import { InvalidArgumentError } from 'commander';

/** Commander argument parsers shared by the commands; errors become usage errors. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function positiveInts(value: string): number[] {
  return value.split(',').map((x) => positiveInt(x.trim()));
}

/** One of `allowed` (all lower-case), matched case-insensitively. */
export function oneOf<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value: string): T => {
    const lower = value.toLowerCase();
    if (!(allowed as readonly string[]).includes(lower)) {
      throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}`);
    }
    return lower as T;
  };
}

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A byte count: digits with an optional binary unit (`64M`, `1g`, `500k`, `1048576`). */
export function byteSize(value: string): number {
  const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(value.trim());
  const n =
    match === null ? NaN : Number(match[1]) * (BYTE_UNITS[(match[2] ?? '').toLowerCase()] ?? NaN);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('must be a positive number of bytes, e.g. 268435456 or 256M');
  }
  return n;
}
