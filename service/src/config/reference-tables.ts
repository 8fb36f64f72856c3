// The settings reference of docs/operators/service-settings.md, rendered from the schema and the
// environment tables themselves, so the docs cannot drift from what the service accepts
// (test/unit/docs/reference-tables.test.ts compares them; UPDATE_DOCS=1 rewrites the docs).
import { walkSchema, type ElementDef } from './schema.ts';
import { CLIENT_SECRET_ENV_PREFIX, CONFIG_FILE_ENV, GLOBAL_ENV, SERVER_ENV } from './env.ts';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string): string => (s === '' ? '' : `\`${s}\``);

function typeOf(def: ElementDef): string {
  const t = def.type;
  if (!t) return 'element';
  if (t.kind === 'enum') return `enum (${(t.values ?? []).join(', ')})`;
  if (t.kind === 'int') return `int ${t.min ?? ''}-${t.max ?? ''}`;
  return t.kind;
}

const occurs = (def: ElementDef): string => `${def.minOccurs}..${def.maxOccurs === Infinity ? 'n' : def.maxOccurs}`;

/** The variable that sets an element (server 1's for <ldapServer> children), or ''. */
function envFor(path: string): string {
  const below = path.replace(/^ldapConfig\//, '');
  const global = GLOBAL_ENV.find((v) => v.target === below);
  if (global) return global.name;
  const server = /^ldapServer\/(.+)$/.exec(below);
  if (server) {
    const s = SERVER_ENV.find((v) => v.element === server[1] || `dnList/${v.element}` === server[1]);
    if (s) return `LJWT_LDAP_${s.suffix}`;
  }
  if (below === 'clients/client/secret') return `${CLIENT_SECRET_ENV_PREFIX}<ID>`;
  return '';
}

/** One row per element of the XML file, depth first. */
export function elementTable(): string {
  const rows = walkSchema().map(({ path, def }) =>
    `| ${code(path)} | ${cell(typeOf(def))} | ${occurs(def)} | ${cell(def.default ?? '')} | ${code(envFor(path))} | ${cell(def.doc)} |`);
  return ['| Element | Type | Occurs | Default | Env | Meaning |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** One row per environment variable. */
export function envTable(): string {
  const rows = [
    `| ${code(CONFIG_FILE_ENV)} | – | path of the XML file (no \`_FILE\` form) |`,
    ...GLOBAL_ENV.map((v) => `| ${code(v.name)} | ${code(v.target)} | ${cell(v.doc)} |`),
    ...SERVER_ENV.map((v) => `| \`LJWT_LDAP_${v.suffix}\`, \`LJWT_LDAP_<n>_${v.suffix}\` | ${code(`ldapServer[n]/${v.element === 'dn' ? 'dnList/dn' : v.element}`)} | ${cell(v.doc)} |`),
    `| \`${CLIENT_SECRET_ENV_PREFIX}<ID>\` | \`clients/client[id=ID]/secret\` | client secret; \`<ID>\` = client id upper-cased, every character other than A-Z 0-9 as \`_\` (\`cli.tool\` → \`LJWT_CLIENT_SECRET_CLI_TOOL\`) |`,
  ];
  return ['| Variable | Overrides | Value |', '|---|---|---|', ...rows].join('\n');
}
