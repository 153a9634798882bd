import { EnvSchema } from './config.js';

/** Renders the configuration reference (docs/configuration.md) from the schema itself. */
export function renderConfigReference(): string {
  const rows = Object.entries(EnvSchema.shape).map(([name, schema]) => {
    const json = schema.toJSONSchema({ io: 'input', unrepresentable: 'any' }) as {
      default?: unknown;
    };
    const value = typeof json.default === 'string' ? json.default : JSON.stringify(json.default);
    const fallback = json.default === undefined ? '—' : value === '' ? '(empty)' : `\`${value}\``;
    return `| \`${name}\` | ${fallback} | ${schema.description ?? ''} |`;
  });
  return [
    '# Configuration reference',
    '',
    'Generated from `src/config/config.ts` by `npm run docs:config`; do not edit by hand.',
    'Every variable is read once, at start-up, and validated; an invalid value stops the',
    'command with an error naming the variable.',
    '',
    '| variable | default | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
