import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { renderConfigReference } from '../src/config/config-reference.js';

export const configDocPath = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

/** The reference as committed: rendered from the schema, then formatted like every other file. */
export async function formattedConfigReference(): Promise<string> {
  const options = (await resolveConfig(configDocPath)) ?? {};
  return format(renderConfigReference(), { ...options, parser: 'markdown' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(configDocPath, await formattedConfigReference());
}
