// The settings tables in docs/operators/ are generated from the code's own
// descriptors; a setting added to the schema, env.ts or EDGE_SETTINGS must
// appear in the docs, and rows cannot be lost by editing by hand.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GENERATED_BLOCKS, fillBlock } from '../../../scripts/lib/docs-tables.ts';
import { walkSchema } from '../../../service/src/config/schema.ts';
import { GLOBAL_ENV } from '../../../service/src/config/env.ts';
import { EDGE_SETTINGS } from '#njs/config.ts';

const repoFile = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const REGENERATE = 'UPDATE_DOCS=1 npx vitest run test/unit/docs/reference-tables.test.ts';

describe('generated settings tables', () => {
  for (const block of GENERATED_BLOCKS) {
    it(`${block.file} holds the ${block.name} table as generated from the code`, () => {
      const current = readFileSync(repoFile(block.file), 'utf8');
      const expected = fillBlock(current, block.name, block.render());
      if (process.env.UPDATE_DOCS === '1') writeFileSync(repoFile(block.file), expected);
      expect(readFileSync(repoFile(block.file), 'utf8'), `out of date; regenerate with: ${REGENERATE}`).toBe(expected);
    });
  }

  it('lists every schema element, every variable and every edge setting on its own row', () => {
    const service = readFileSync(repoFile('docs/operators/service-settings.md'), 'utf8');
    for (const { path } of walkSchema()) expect(service, path).toContain(`\n| \`${path}\` |`);
    for (const v of GLOBAL_ENV) expect(service, v.name).toContain(`\n| \`${v.name}\` |`);
    const edge = readFileSync(repoFile('docs/operators/nginx-settings.md'), 'utf8');
    for (const s of EDGE_SETTINGS) expect(edge, s.name).toContain(`\n| \`$${s.name}\` |`);
  });

  it('refuses a document whose markers are missing', () => {
    expect(() => fillBlock('no markers', 'edge-settings', 'x')).toThrow(/marker/);
  });
});
