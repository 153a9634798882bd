import { z } from 'zod';
import { MedStreamError } from '../../errors.js';
import { readJsonFile, writeJsonAtomic } from '../checkpoint/atomic-json-file.js';
import type { EutilsWindow, WindowCursor } from './date-windows.js';
import { compareCursors, cursorAfter } from './date-windows.js';

/**
 * Checkpoint of the E-utilities source: the last window whose records the consumer declared
 * durable. Windows are committed in order, so every window before it is done too; the run
 * resumes at `cursorAfter(lastWindow)`.
 *
 * The query (datetype, term) is part of the file: resuming a different query from it would
 * silently skip records, so that is refused.
 */

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

export const EutilsCheckpointSchema = z.object({
  version: z.literal(1),
  source: z.literal('eutils'),
  datetype: z.enum(['edat', 'mhda']),
  term: z.string(),
  lastWindow: z.object({
    from: isoDate,
    to: isoDate,
    uidRange: z
      .object({ min: z.number().int().positive(), max: z.number().int().positive() })
      .optional(),
  }),
  /** Records seen in the windows committed so far (informational). */
  articles: z.number().int().nonnegative(),
  updatedAt: z.string(),
});

export type EutilsCheckpointData = z.output<typeof EutilsCheckpointSchema>;

export async function readEutilsCheckpoint(
  path: string,
): Promise<EutilsCheckpointData | undefined> {
  return readJsonFile(path, EutilsCheckpointSchema);
}

export class EutilsCheckpoint {
  private data: EutilsCheckpointData | undefined;
  /** Serialises writes: two commits never race on the temp file + rename sequence. */
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly query: { datetype: 'edat' | 'mhda'; term: string },
    private readonly now: () => number,
    data: EutilsCheckpointData | undefined,
  ) {
    this.data = data;
  }

  static async open(
    path: string,
    query: { datetype: 'edat' | 'mhda'; term: string },
    now: () => number,
  ): Promise<EutilsCheckpoint> {
    const data = await readEutilsCheckpoint(path);
    if (data !== undefined && (data.datetype !== query.datetype || data.term !== query.term)) {
      throw new MedStreamError(
        'CHECKPOINT_INVALID',
        `Checkpoint ${path} was written for datetype=${data.datetype} term="${data.term}", ` +
          `not datetype=${query.datetype} term="${query.term}"; use another --checkpoint file`,
      );
    }
    return new EutilsCheckpoint(path, query, now, data);
  }

  /** Where to resume, or undefined when nothing was committed yet. */
  get cursor(): WindowCursor | undefined {
    return this.data === undefined ? undefined : cursorAfter(this.data.lastWindow);
  }

  get lastWindow(): EutilsWindow | undefined {
    return this.data?.lastWindow;
  }

  /**
   * Records `window` (and implicitly all windows before it) as durably handled. A commit that
   * would move the cursor backwards (a late, out-of-order call) is ignored.
   */
  async commit(window: EutilsWindow, articles: number): Promise<void> {
    const next = this.writing.then(async () => {
      const current = this.cursor;
      if (current !== undefined && compareCursors(cursorAfter(window), current) <= 0) return;
      const data: EutilsCheckpointData = {
        version: 1,
        source: 'eutils',
        datetype: this.query.datetype,
        term: this.query.term,
        lastWindow: { ...window },
        articles: (this.data?.articles ?? 0) + articles,
        updatedAt: new Date(this.now()).toISOString(),
      };
      await writeJsonAtomic(this.path, data);
      this.data = data;
    });
    // A failed write must not poison later ones; the caller still sees this one's error.
    this.writing = next.catch(() => undefined);
    return next;
  }
}
