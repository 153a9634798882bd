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
