import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { z } from 'zod';
import { MedStreamError } from '../../errors.js';

/**
 * Durable JSON files for source checkpoints.
 *
 * Invariant: after `writeJsonAtomic` resolves, a reader (this process or one started after a
 * crash or power loss) sees either the previous complete file or the new complete file, never
 * a torn one. Achieved by write-to-temp in the same directory + fsync(file) + rename +
 * fsync(directory): rename is atomic within one file system, and the directory fsync makes the
 * rename itself durable.
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  // Unique per writer so two processes never interleave bytes in one temp file.
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await fsyncDirectory(dir);
}

async function fsyncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Some file systems (and Windows) refuse fsync on a directory; the rename is still atomic.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}

/**
 * Reads and validates a checkpoint. A missing file means "nothing done yet" (undefined); a
 * present but unreadable or invalid file is CHECKPOINT_INVALID, never silently treated as
 * empty, because that would re-send or skip work.
 */
export async function readJsonFile<S extends z.ZodType>(
  path: string,
  schema: S,
): Promise<z.output<S> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MedStreamError('CHECKPOINT_INVALID', `Cannot read checkpoint ${path}`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new MedStreamError(
      'CHECKPOINT_INVALID',
      `Checkpoint ${path} is not valid JSON; fix or delete it to start over`,
      { cause: error },
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new MedStreamError(
      'CHECKPOINT_INVALID',
      `Checkpoint ${path} does not match its schema (${issues}); fix or delete it to start over`,
    );
  }
  return parsed.data;
}
