// The nginx-native decision cache carries a location's settings in three places: the
// snapshots of protect-cached.conf and server-decision-cache.conf (hashed into the cache key
// and compared), the X-Ljwt-* request headers server-decision-cache.conf sends to the
// validating server, and the `set`s of http-decision-cache.conf that turn them back into
// $ljwt_* variables. Each must cover every EDGE_VARIABLES entry, or a setting would be
// missing from the key (another policy's answer reused) or from the validator's input.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EDGE_VARIABLES } from '#njs/config.ts';

function include(file: string): string[] {
  return readFileSync(new URL(`../../../../nginx/${file}`, import.meta.url), 'utf8').split('\n').map((l) => l.trim());
}

function snapshotVariables(file: string, target: string): string[] {
  const names: string[] = [];
  for (const line of include(file).filter((l) => l.startsWith(`set $${target} `))) {
    for (const m of line.matchAll(/\$\{(ljwt_[a-z_]+)\}/g)) if (m[1] !== target) names.push(m[1]!);
  }
  return names;
}

/** `ljwt_jwks_file` -> `X-Ljwt-Jwks-File` (the header name server-decision-cache.conf uses). */
function headerName(variable: string): string {
  return 'X-' + variable.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('-');
}

describe('settings in the nginx-native decision cache includes', () => {
  it.each([
    ['protect-cached.conf', 'ljwt_location_settings'],
    ['server-decision-cache.conf', 'ljwt_subrequest_settings'],
  ])('%s writes $%s in the order of EDGE_VARIABLES', (file, target) => {
    expect(snapshotVariables(file, target)).toEqual(EDGE_VARIABLES);
  });

  it('server-decision-cache.conf sends every setting to the validating server', () => {
    const sent = include('server-decision-cache.conf')
      .map((l) => /^proxy_set_header\s+(X-Ljwt-[A-Za-z-]+)\s+\$(ljwt_[a-z_]+);$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]);
    expect(sent).toEqual(EDGE_VARIABLES.map((v) => [headerName(v), v]));
  });

  it('http-decision-cache.conf turns every header back into its variable', () => {
    const set = include('http-decision-cache.conf')
      .map((l) => /^set\s+\$(ljwt_[a-z_]+)\s+\$http_x_(ljwt_[a-z_]+);$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]);
    expect(set).toEqual(EDGE_VARIABLES.map((v) => [v, v]));
  });

  it('protect-cached.conf hands the upstream the same stripped headers as protect-common.conf', () => {
    const headers = (file: string) => include(file).filter((l) => /^proxy_set_header\s/.test(l)).map((l) => l.split(/\s+/).slice(1).join(' '));
    expect(headers('protect-cached.conf')).toEqual(headers('protect-common.conf'));
  });
});
