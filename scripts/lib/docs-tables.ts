// Reference tables of docs/operators/*.md, written from the code's own
// descriptors (service/src/config/schema.ts + env.ts, njs/config.ts), so a
// setting cannot be added, renamed or lost without the docs following; and
// docs/benchmarks.md's reasons for missed targets, from the list the edge
// benchmark's report uses (bench/edge/why-missed.mjs).
// test/unit/docs/reference-tables.test.ts compares and (UPDATE_DOCS=1) rewrites.
import { walkSchema, type ElementDef } from '../../service/src/config/schema.ts';
import { CONFIG_FILE_ENV, CLIENT_SECRET_ENV_PREFIX, GLOBAL_ENV, SERVER_ENV, serverEnvName } from '../../service/src/config/env.ts';
import { EDGE_SETTINGS } from '#njs/config.ts';
import { whyMissedSection } from '../../bench/edge/why-missed.mjs';

/** A markdown table cell: pipes escaped, newlines folded. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const code = (s: string): string => (s === '' ? '' : '`' + s + '`');

function typeOf(def: ElementDef): string {
  if (!def.type) return 'element';
  const t = def.type;
  if (t.values) return t.values.join(' \\| ');
  if (t.min !== undefined || t.max !== undefined) return `${t.kind} ${t.min ?? ''}-${t.max ?? ''}`;
  return t.kind;
}

const occurs = (def: ElementDef): string => `${def.minOccurs}..${def.maxOccurs === Infinity ? 'n' : def.maxOccurs}`;

/** The variable that overrides an element (server 1 for per-server elements). */
function envFor(path: string): string {
  const rel = path.replace(/^ldapConfig\//, '');
  const global = GLOBAL_ENV.find((v) => v.target === rel);
  if (global) return global.name;
  const server = /^ldapServer\/(?:dnList\/)?([^/]+)$/.exec(rel);
  const s = server && SERVER_ENV.find((v) => v.element === server[1]);
  if (s) return serverEnvName(1, s.suffix);
  if (rel === 'clients/client/secret') return `${CLIENT_SECRET_ENV_PREFIX}<ID>`;
  return '';
}

export function serviceElementsTable(): string {
  const rows = walkSchema().map(({ path, def }) =>
    `| ${code(path)} | ${cell(typeOf(def))} | ${occurs(def)} | ${cell(code(def.default ?? ''))} | ${code(envFor(path))} | ${cell(def.doc)} |`);
  return ['| Element | Type | Occurs | Default | Env | Meaning |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

export function serviceEnvTable(): string {
  const rows = [
    `| ${code(CONFIG_FILE_ENV)} | – | path of the XML file (no \`_FILE\` form) |`,
    ...GLOBAL_ENV.map((v) => `| ${code(v.name)} | ${code(v.target)} | ${cell(v.doc)} |`),
    ...SERVER_ENV.map((v) => `| ${code(serverEnvName(1, v.suffix))} | ${code('ldapServer/' + (v.element === 'dn' ? 'dnList/dn' : v.element))} | ${cell(v.doc)} |`),
    `| ${code(CLIENT_SECRET_ENV_PREFIX + '<ID>')} | ${code('clients/client/secret')} | secret of the client whose id, upper-cased with non-alphanumerics as \`_\`, is \`<ID>\` |`,
  ];
  return ['| Variable | Overrides | Value |', '|---|---|---|', ...rows].join('\n');
}

export function edgeSettingsTable(): string {
  const rows = EDGE_SETTINGS.map((s) => `| ${code('$' + s.name)} | ${cell(s.default === '' ? '–' : s.default)} | ${cell(s.meaning)} |`);
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}

/** Generated blocks by marker name, and the file each lives in. */
export const GENERATED_BLOCKS: Array<{ file: string; name: string; render: () => string }> = [
  { file: 'docs/operators/service-settings.md', name: 'service-elements', render: serviceElementsTable },
  { file: 'docs/operators/service-settings.md', name: 'service-env', render: serviceEnvTable },
  { file: 'docs/operators/nginx-settings.md', name: 'edge-settings', render: edgeSettingsTable },
  { file: 'docs/benchmarks.md', name: 'why-missed', render: () => whyMissedSection(null) },
];

/** Replaces the text between `<!-- generated:NAME -->` and the next `<!-- /generated -->`. */
export function fillBlock(doc: string, name: string, body: string): string {
  const open = `<!-- generated:${name} -->`;
  const start = doc.indexOf(open);
  if (start < 0) throw new Error(`marker ${open} not found`);
  const end = doc.indexOf('<!-- /generated -->', start);
  if (end < 0) throw new Error(`no <!-- /generated --> after ${open}`);
  return doc.slice(0, start) + open + '\n' + body + '\n' + doc.slice(end);
}
