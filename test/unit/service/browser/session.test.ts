// The browser session's pure parts: return-path validation (no open redirect)
// and the access-token cookie split/cleanup.
import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { safeReturnPath } from '../../../../service/src/browser/return-path.ts';
import { accessTokenCookies, CHUNK_SIZE, clearSessionCookies, TokenTooLargeError } from '../../../../service/src/browser/cookies.ts';
import { extractToken } from '#njs/http/token.ts';

const S = { access: 'ljwt_at', refresh: 'ljwt_rt', prefix: '/_auth' };
const req = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as unknown as IncomingMessage;

describe('safeReturnPath', () => {
  it('keeps same-site paths with their query', () => {
    for (const p of ['/', '/a', '/a/b?x=1&y=%2F', '/a#frag', '/%2F%2Fevil']) expect(safeReturnPath(p)).toBe(p);
  });
  it('refuses anything that could leave the site', () => {
    for (const p of ['https://evil.example/', 'http:/evil', '//evil.example', '/\\evil.example', '\\\\evil', 'javascript:alert(1)',
      'evil.example', '/a\\b', '/\t/evil', '/a b', '/a\r\nLocation: x', '/ünïcode', '', '/' + 'a'.repeat(2048)]) {
      expect(safeReturnPath(p), JSON.stringify(p)).toBe('/');
    }
    expect(safeReturnPath(undefined)).toBe('/');
    expect(safeReturnPath(null)).toBe('/');
  });
});

describe('access token cookies', () => {
  const names = (list: string[]) => list.map((c) => c.split('=')[0]);

  it('uses one cookie for a small token and expires chunks the browser still has', () => {
    const out = accessTokenCookies(req('ljwt_at.0=a; ljwt_at.1=b; other=1'), S, 'eyJsmall', 300, true);
    expect(out[0]).toBe('ljwt_at=eyJsmall; Path=/; HttpOnly; SameSite=Lax; Max-Age=300; Secure');
    expect(out.slice(1)).toEqual([
      'ljwt_at.0=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure',
      'ljwt_at.1=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure',
    ]);
  });

  it('splits a large token into numbered chunks under 4096 bytes and expires the plain cookie and surplus chunks', () => {
    const token = 'x'.repeat(CHUNK_SIZE * 2 + 10);
    const out = accessTokenCookies(req('ljwt_at=old; ljwt_at.0=a; ljwt_at.3=stale'), S, token, 300, false);
    expect(names(out)).toEqual(['ljwt_at.0', 'ljwt_at.1', 'ljwt_at.2', 'ljwt_at', 'ljwt_at.3']);
    for (const c of out) expect(Buffer.byteLength(c)).toBeLessThan(4096);
    expect(out.slice(3).every((c) => c.includes('Max-Age=0'))).toBe(true);
    // What the browser sends back reads as the same token (the edge concatenates the same way).
    const back = out.slice(0, 3).map((c) => c.split(';')[0]).join('; ');
    expect(extractToken(undefined, back, 'ljwt_at')).toEqual({ token, source: 'cookie' });
  });

  it('refuses a token that needs more than 8 chunks', () => {
    expect(() => accessTokenCookies(req(), S, 'x'.repeat(CHUNK_SIZE * 8 + 1), 300, false)).toThrow(TokenTooLargeError);
  });

  it('the eight largest chunks the service writes read back whole (the cap of /auth/validate and /logout)', () => {
    const token = 'y'.repeat(CHUNK_SIZE * 8);
    const out = accessTokenCookies(req(), S, token, 300, false);
    expect(out).toHaveLength(8);
    expect(extractToken(undefined, out.map((c) => c.split(';')[0]).join('; '), 'ljwt_at')).toEqual({ token, source: 'cookie' });
  });

  it('logout expires every form: plain, all 8 chunks, the refresh cookie on its path and the login binding', () => {
    const out = clearSessionCookies(S, true);
    expect(names(out)).toEqual(['ljwt_at', ...Array.from({ length: 8 }, (_, i) => `ljwt_at.${i}`), 'ljwt_rt', 'ljwt_rt_login']);
    expect(out[9]).toBe('ljwt_rt=; Path=/_auth/; HttpOnly; SameSite=Lax; Max-Age=0; Secure');
  });
});
