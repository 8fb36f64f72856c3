// The edge settings have one descriptor table, EDGE_SETTINGS (njs/config.ts).
// The nginx includes spell them three more times: http.conf declares each
// with `js_var`, protect-common.conf (per location) and server.conf (inside
// the auth subrequest) join them into the settings snapshot the validator
// splits by position. Those lines must be exactly what the table gives, or
// every protected request fails closed with 500 (or a setting is ignored).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EDGE_SETTINGS, EDGE_VARIABLES } from '#njs/config.ts';

function include(file: string): string {
  return readFileSync(new URL(`../../../../nginx/${file}`, import.meta.url), 'utf8');
}

/** The one `set` line that builds a snapshot, as the table gives it. */
export function snapshotLine(target: string): string {
  return `set $${target} "${EDGE_VARIABLES.map((n) => '${' + n + '}').join('\\n')}";`;
}

function setLines(file: string, target: string): string[] {
  return include(file).split('\n').map((l) => l.trim()).filter((l) => l.startsWith(`set $${target} `));
}

describe('the nginx includes follow EDGE_SETTINGS', () => {
  it.each([
    ['protect-common.conf', 'ljwt_location_settings'],
    ['server.conf', 'ljwt_subrequest_settings'],
  ])('%s writes $%s in one line, in the order of the table', (file, target) => {
    expect(setLines(file, target)).toEqual([snapshotLine(target)]);
  });

  it('protect.conf and protect-access.conf take the snapshot only through protect-common.conf', () => {
    for (const file of ['protect.conf', 'protect-access.conf']) {
      expect(include(file)).toContain('include /etc/nginx/nginx-ldap-jwt/protect-common.conf;');
      expect(setLines(file, 'ljwt_location_settings')).toEqual([]);
    }
  });

  it('http.conf declares every setting with js_var', () => {
    const declared = include('http.conf').split('\n').map((l) => /^js_var \$(ljwt_[a-z_]+);/.exec(l.trim()))
      .filter((m) => m !== null).map((m) => m![1]);
    for (const s of EDGE_SETTINGS) expect(declared, s.name).toContain(s.name);
  });

  it('every setting has a default and a meaning for the docs table', () => {
    for (const s of EDGE_SETTINGS) {
      expect(s.name).toMatch(/^ljwt_[a-z_]+$/);
      expect(s.meaning.length, s.name).toBeGreaterThan(10);
      expect(typeof s.default).toBe('string');
    }
    expect(new Set(EDGE_VARIABLES).size).toBe(EDGE_VARIABLES.length);
  });
});
