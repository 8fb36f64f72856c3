// njs/setting-positions.ts is generated from EDGE_SETTINGS (njs/config.ts),
// the one source of the settings: a setting added, removed or moved there
// changes the positions here, and this test fails until they are regenerated.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EDGE_SETTINGS, EDGE_VARIABLES } from '#njs/config.ts';
import * as positions from '#njs/setting-positions.ts';

const FILE = fileURLToPath(new URL('../../../njs/setting-positions.ts', import.meta.url));
const REGENERATE = 'UPDATE_DOCS=1 npx vitest run test/unit/njs/setting-positions.test.ts';

/** The constant's name for a setting: ljwt_cache_max_age → CACHE_MAX_AGE. */
function constantName(setting: string): string {
  return setting.replace(/^ljwt_/, '').toUpperCase();
}

function render(): string {
  const lines = [
    '// Generated from EDGE_SETTINGS (config.ts), the one source of the settings;',
    `// regenerate with: ${REGENERATE}`,
    '//',
    '// Where each setting sits in the settings snapshot (nginx/protect-common.conf',
    '// and nginx/server.conf join the values with "\\n" in EDGE_SETTINGS order), as',
    '// plain constants: the per-request module reads the snapshot by position',
    '// without holding the settings table, whose construction the njs engine',
    '// would repeat in every request\'s VM (see full-check-loader.ts).',
    '',
    '/** How many values a settings snapshot holds. */',
    `export const SETTING_COUNT = ${EDGE_SETTINGS.length};`,
    '',
  ];
  for (let i = 0; i < EDGE_SETTINGS.length; i++) {
    lines.push(`/** $${EDGE_SETTINGS[i].name} */`, `export const ${constantName(EDGE_SETTINGS[i].name)} = ${i};`);
  }
  return lines.join('\n') + '\n';
}

describe('setting positions', () => {
  it('njs/setting-positions.ts is generated from EDGE_SETTINGS', () => {
    if (process.env.UPDATE_DOCS === '1') writeFileSync(FILE, render());
    expect(readFileSync(FILE, 'utf8'), `out of date; regenerate with: ${REGENERATE}`).toBe(render());
  });

  it('gives every setting its index in EDGE_VARIABLES', () => {
    const table = positions as unknown as { [name: string]: number };
    expect(table.SETTING_COUNT).toBe(EDGE_VARIABLES.length);
    for (const name of EDGE_VARIABLES) expect(table[constantName(name)], name).toBe(EDGE_VARIABLES.indexOf(name));
  });
});
