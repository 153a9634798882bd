/**
 * Metric and label names a PromQL expression refers to — enough of PromQL to check a dashboard
 * against the series the code emits, not a full parser. Grafana variables (`$__rate_interval`,
 * `${datasource}`) may appear where PromQL allows durations or strings.
 */

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;

function stripStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
}

function identifiers(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Metric names: identifiers outside label matchers, ranges and groupings, not called. */
export function promqlMetricNames(expr: string): string[] {
  let text = stripStrings(expr);
  text = text.replace(/\{[^}]*\}/g, ' ');
  text = text.replace(/\[[^\]]*\]/g, ' ');
  text = text.replace(GROUPING, ' ');
  text = text.replace(/\boffset\s+-?[\w$]+/g, ' ').replace(/@\s*[\w$.()]+/g, ' ');
  const names = new Set<string>();
  for (const m of text.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call !== undefined || KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Label names in matchers (`{a="x", b=~"y"}`) and groupings (`by (a, b)`). */
export function promqlLabelNames(expr: string): string[] {
  const text = stripStrings(expr);
  const names = new Set<string>();
  for (const block of text.matchAll(/\{([^}]*)\}/g)) {
    for (const m of block[1].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
      names.add(m[1]);
    }
  }
  for (const group of text.matchAll(GROUPING)) {
    for (const name of identifiers(group[2])) names.add(name);
  }
  return [...names];
}

/**
 * The PromQL inside a Grafana Prometheus variable query: `label_values(selector, label)` →
 * the selector; `label_values(label)` → none; `query_result(expr)` → expr; else the query.
 */
export function grafanaVariableExpression(query: string): string | undefined {
  const trimmed = query.trim();
  const labelValues = /^label_values\((.*)\)$/s.exec(trimmed);
  if (labelValues !== null) {
    const args = labelValues[1];
    const comma = args.lastIndexOf(',');
    return comma < 0 ? undefined : args.slice(0, comma);
  }
  const queryResult = /^query_result\((.*)\)$/s.exec(trimmed);
  if (queryResult !== null) return queryResult[1];
  if (/^(label_names|metrics)\(/.test(trimmed)) return undefined;
  return trimmed;
}
