// The settings snapshot is written in three include files (protect.conf and
// protect-access.conf per location, server.conf inside the auth subrequest);
// the validator splits it by EDGE_VARIABLES. All three must list the same
// variables in that order, or every protected request fails closed with 500.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EDGE_VARIABLES } from '../../../njs/config.ts';

function snapshotVariables(file: string, target: string): string[] {
  const text = readFileSync(new URL(`../../../nginx/${file}`, import.meta.url), 'utf8');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith(`set $${target} `));
  const names: string[] = [];
  for (const line of lines) {
    for (const m of line.matchAll(/\$\{(ljwt_[a-z_]+)\}/g)) if (m[1] !== target) names.push(m[1]!);
  }
  return names;
}

describe('settings snapshots in the nginx includes', () => {
  it.each([
    ['protect.conf', 'ljwt_location_settings'],
    ['protect-access.conf', 'ljwt_location_settings'],
    ['server.conf', 'ljwt_subrequest_settings'],
  ])('%s writes $%s in the order of EDGE_VARIABLES', (file, target) => {
    expect(snapshotVariables(file, target)).toEqual(EDGE_VARIABLES);
  });
});
