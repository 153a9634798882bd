import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { metrics } from '@opentelemetry/api';
import ts from 'typescript';
import * as instrumentsModule from '../../src/telemetry/instruments.js';
import { startTelemetry } from '../../src/telemetry/sdk.js';
import { filesUnder, repoRelative } from './deploy-manifests.js';

/**
 * Which Prometheus series the product can emit, derived from the code rather than listed by
 * hand:
 *
 * 1. Instruments: every `meter.create*(NAME, { unit })` call under src/ whose NAME is a string
 *    literal or an entry of a `*Metrics` name table, plus every definition in the exported
 *    instrument-definition lists of src/telemetry/instruments.ts (`ALL_METRICS`), whose
 *    factories create instruments through helpers.
 * 2. Names: each instrument is created in the product's own telemetry SDK (telemetry/sdk.ts,
 *    ops server on an ephemeral local port), recorded once, and the series names are read back
 *    from its `/metrics` — the exporter's naming rules (sanitising, `_total`, histogram
 *    suffixes) are applied by the exporter itself, not re-implemented here.
 */

export type InstrumentKind =
  | 'counter'
  | 'updown'
  | 'histogram'
  | 'gauge'
  | 'observableCounter'
  | 'observableUpDown'
  | 'observableGauge';

export interface InstrumentDeclaration {
  readonly name: string;
  readonly kind: InstrumentKind;
  readonly unit: string | undefined;
  /** `file:line` or the exported list it came from. */
  readonly where: string;
}

export interface UnresolvedCall {
  readonly where: string;
  readonly text: string;
}

const CREATE_METHODS: Record<string, InstrumentKind> = {
  createCounter: 'counter',
  createUpDownCounter: 'updown',
  createHistogram: 'histogram',
  createGauge: 'gauge',
  createObservableCounter: 'observableCounter',
  createObservableUpDownCounter: 'observableUpDown',
  createObservableGauge: 'observableGauge',
};

/** Kinds of the `MetricDefinition.kind` field in instruments.ts and how they are created. */
const DEFINITION_KINDS: Record<string, InstrumentKind> = {
  counter: 'counter',
  updown: 'updown',
  histogram: 'histogram',
  gauge: 'observableGauge',
};

const SRC_DIR = fileURLToPath(new URL('../../src/', import.meta.url));
const INSTRUMENTS_FILE = 'src/telemetry/instruments.ts';

function unwrap(node: ts.Expression): ts.Expression {
  let at = node;
  while (
    ts.isAsExpression(at) ||
    ts.isSatisfiesExpression(at) ||
    ts.isParenthesizedExpression(at)
  ) {
    at = at.expression;
  }
  return at;
}

function stringValue(node: ts.Node): string | undefined {
  return ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)
    ? node.text
    : undefined;
}

interface SourceScan {
  tables: Map<string, Map<string, string>>;
  calls: { node: ts.CallExpression; kind: InstrumentKind; file: ts.SourceFile }[];
}

function scanSources(): SourceScan {
  const tables = new Map<string, Map<string, string>>();
  const calls: SourceScan['calls'] = [];
  for (const path of filesUnder(SRC_DIR, ['.ts']).filter((p) => !p.endsWith('.d.ts'))) {
    const file = ts.createSourceFile(
      path,
      readFileSync(path, 'utf8'),
      ts.ScriptTarget.ES2022,
      true,
    );
    const visit = (node: ts.Node): void => {
      if (
        ts.isVariableDeclaration(node) &&
        ts.isIdentifier(node.name) &&
        /Metrics$/.test(node.name.text) &&
        node.initializer !== undefined
      ) {
        const init = unwrap(node.initializer);
        if (ts.isObjectLiteralExpression(init)) {
          const entries = new Map<string, string>();
          for (const property of init.properties) {
            if (ts.isPropertyAssignment(property) && ts.isIdentifier(property.name)) {
              const value = stringValue(unwrap(property.initializer));
              if (value !== undefined) entries.set(property.name.text, value);
            }
          }
          const previous = tables.get(node.name.text);
          if (
            previous !== undefined &&
            JSON.stringify([...previous]) !== JSON.stringify([...entries])
          ) {
            throw new Error(`two different metric name tables are called ${node.name.text}`);
          }
          tables.set(node.name.text, entries);
        }
      }
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        Object.hasOwn(CREATE_METHODS, node.expression.name.text)
      ) {
        calls.push({ node, kind: CREATE_METHODS[node.expression.name.text], file });
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return { tables, calls };
}

function unitOf(call: ts.CallExpression): string | undefined {
  const options = call.arguments[1];
  if (options === undefined || !ts.isObjectLiteralExpression(unwrap(options))) return undefined;
  for (const property of (unwrap(options) as ts.ObjectLiteralExpression).properties) {
    if (
      ts.isPropertyAssignment(property) &&
      ts.isIdentifier(property.name) &&
      property.name.text === 'unit'
    ) {
      return stringValue(unwrap(property.initializer));
    }
  }
  return undefined;
}

/** Definitions exported by instruments.ts as lists of `{ name, kind, unit }`. */
function exportedDefinitions(): InstrumentDeclaration[] {
  const out: InstrumentDeclaration[] = [];
  for (const [exportName, value] of Object.entries(instrumentsModule)) {
    if (!Array.isArray(value)) continue;
    for (const item of value as unknown[]) {
      const d = item as { name?: unknown; kind?: unknown; unit?: unknown };
      if (typeof d.name !== 'string' || typeof d.kind !== 'string') continue;
      const kind = Object.hasOwn(DEFINITION_KINDS, d.kind) ? DEFINITION_KINDS[d.kind] : undefined;
      if (kind === undefined) throw new Error(`${exportName}: unknown instrument kind ${d.kind}`);
      out.push({
        name: d.name,
        kind,
        unit: typeof d.unit === 'string' ? d.unit : undefined,
        where: `${INSTRUMENTS_FILE} ${exportName}`,
      });
    }
  }
  return out;
}

export interface InstrumentInventory {
  readonly instruments: InstrumentDeclaration[];
  /** create* calls whose name could not be resolved, outside instruments.ts's helpers. */
  readonly unresolved: UnresolvedCall[];
  /** Every `*Metrics` table entry, `Table.key` → name. */
  readonly tableNames: Map<string, string>;
}

export function instrumentInventory(): InstrumentInventory {
  const { tables, calls } = scanSources();
  const definitions = exportedDefinitions();
  const instruments: InstrumentDeclaration[] = [...definitions];
  const unresolved: UnresolvedCall[] = [];
  for (const { node, kind, file } of calls) {
    const first = node.arguments[0] === undefined ? undefined : unwrap(node.arguments[0]);
    const { line } = file.getLineAndCharacterOfPosition(node.getStart());
    const where = `${repoRelative(file.fileName)}:${line + 1}`;
    let name = first === undefined ? undefined : stringValue(first);
    if (
      name === undefined &&
      first !== undefined &&
      ts.isPropertyAccessExpression(first) &&
      ts.isIdentifier(first.expression)
    ) {
      name = tables.get(first.expression.text)?.get(first.name.text);
    }
    if (name !== undefined) {
      instruments.push({ name, kind, unit: unitOf(node), where });
    } else if (!(repoRelative(file.fileName) === INSTRUMENTS_FILE && definitions.length > 0)) {
      // instruments.ts's helpers create what its exported definition lists hold.
      unresolved.push({ where, text: node.getText(file).split('\n')[0] });
    }
  }
  const tableNames = new Map<string, string>();
  for (const [table, entries] of tables) {
    for (const [key, name] of entries) tableNames.set(`${table}.${key}`, name);
  }
  return { instruments, unresolved, tableNames };
}

async function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** Sample names (left of `{` or the value) in a Prometheus text exposition. */
export function exposedSeriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(trimmed);
    if (match !== null) names.add(match[1]);
  }
  return names;
}

/**
 * Creates `instruments` in the product's telemetry SDK, records one value on each and returns
 * the exposition its ops server serves on `/metrics`.
 */
export async function exposition(instruments: readonly InstrumentDeclaration[]): Promise<string> {
  const telemetry = await startTelemetry({
    serviceName: 'medstream-deploy-test',
    serviceVersion: '0.0.0',
    instanceId: 'deploy-test',
    opsPort: 0,
    opsHost: '127.0.0.1',
    log: () => undefined,
  });
  try {
    const meter = metrics.getMeter('medstream');
    const seen = new Set<string>();
    for (const d of instruments) {
      if (seen.has(d.name)) continue;
      seen.add(d.name);
      const options = d.unit === undefined ? {} : { unit: d.unit };
      switch (d.kind) {
        case 'counter':
          meter.createCounter(d.name, options).add(1);
          break;
        case 'updown':
          meter.createUpDownCounter(d.name, options).add(1);
          break;
        case 'histogram':
          meter.createHistogram(d.name, options).record(1);
          break;
        case 'gauge':
          meter.createGauge(d.name, options).record(1);
          break;
        case 'observableCounter':
          meter.createObservableCounter(d.name, options).addCallback((r) => r.observe(1));
          break;
        case 'observableUpDown':
          meter.createObservableUpDownCounter(d.name, options).addCallback((r) => r.observe(1));
          break;
        case 'observableGauge':
          meter.createObservableGauge(d.name, options).addCallback((r) => r.observe(1));
          break;
      }
    }
    if (telemetry.opsUrl === undefined) throw new Error('the telemetry SDK started no ops server');
    return await httpGet(`${telemetry.opsUrl}/metrics`);
  } finally {
    await telemetry.shutdown();
  }
}

export interface EmittedMetrics {
  readonly inventory: InstrumentInventory;
  /** Every series name `/metrics` can carry. */
  readonly series: Set<string>;
}

export async function emittedMetrics(): Promise<EmittedMetrics> {
  const inventory = instrumentInventory();
  const series = exposedSeriesNames(await exposition(inventory.instruments));
  return { inventory, series };
}
