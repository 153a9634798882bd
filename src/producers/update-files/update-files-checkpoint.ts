import { z } from 'zod';
import { readJsonFile, writeJsonAtomic } from '../checkpoint/atomic-json-file.js';

/**
 * Checkpoint of the update-file source: the files whose records the consumer declared
 * durable, by name (so a folder and a mirror of the same files share progress). A file is in
 * the list only after its commit(); a restart processes every listed-but-absent file, in name
 * order, and nothing else.
 */

export const UpdateFilesCheckpointSchema = z.object({
  version: z.literal(1),
  source: z.literal('update-files'),
  completed: z.array(
    z.object({
      name: z.string().min(1),
      bytes: z.number().int().nonnegative(),
      /** MD5 of the gz file as processed (verified against .md5 when `verified`). */
      md5: z.string().regex(/^[0-9a-f]{32}$/),
      verified: z.boolean(),
      committedAt: z.string(),
    }),
  ),
  updatedAt: z.string(),
});

export type UpdateFilesCheckpointData = z.output<typeof UpdateFilesCheckpointSchema>;
export type CompletedUpdateFile = UpdateFilesCheckpointData['completed'][number];

export async function readUpdateFilesCheckpoint(
  path: string,
): Promise<UpdateFilesCheckpointData | undefined> {
  return readJsonFile(path, UpdateFilesCheckpointSchema);
}

export class UpdateFilesCheckpoint {
  private completed: CompletedUpdateFile[];
  private readonly names: Set<string>;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly now: () => number,
    data: UpdateFilesCheckpointData | undefined,
  ) {
    this.completed = [...(data?.completed ?? [])];
    this.names = new Set(this.completed.map((c) => c.name));
  }

  static async open(path: string, now: () => number): Promise<UpdateFilesCheckpoint> {
    return new UpdateFilesCheckpoint(path, now, await readUpdateFilesCheckpoint(path));
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  get size(): number {
    return this.completed.length;
  }

  /** Name of the most recently committed file, if any. */
  get last(): string | undefined {
    return this.completed.at(-1)?.name;
  }

  async commit(entry: Omit<CompletedUpdateFile, 'committedAt'>): Promise<void> {
    const next = this.writing.then(async () => {
      if (this.names.has(entry.name)) return;
      const at = new Date(this.now()).toISOString();
      const completed = [...this.completed, { ...entry, committedAt: at }];
      const data: UpdateFilesCheckpointData = {
        version: 1,
        source: 'update-files',
        completed,
        updatedAt: at,
      };
      await writeJsonAtomic(this.path, data);
      // Only a durable file changes what this process believes is done.
      this.completed = completed;
      this.names.add(entry.name);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
