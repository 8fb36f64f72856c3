// Pending logins live in one cookie per flow (browser/cookies.ts): size, parsing of
// tampered values, and what logout / a failed refresh expire.
import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import {
  clearSessionCookies, MAX_PENDING_LOGINS, pendingLoginCookie, pendingLoginNames, pendingLoginValue, readPendingLogin,
} from '../../../../service/src/browser/cookies.ts';

const S = { access: 'ljwt_at', refresh: 'ljwt_rt', prefix: '/_auth' };
const req = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as unknown as IncomingMessage;
const state = () => randomBytes(32).toString('base64url');
const verifier = randomBytes(32).toString('base64url');

describe('pending login cookies', () => {
  it('names the cookie after the state and reads back verifier and rd, also for the longest rd', () => {
    const st = state();
    const name = pendingLoginCookie(S, st)!;
    expect(name).toMatch(/^ljwt_rt_login\.[A-Za-z0-9_-]{22}$/);
    const rd = '/' + 'a;,"='.repeat(410).slice(0, 2047);
    expect(rd.length).toBe(2048);
    const value = pendingLoginValue(verifier, rd);
    // Name, value and the longest attribute list stay under the 4096 bytes browsers keep.
    expect(Buffer.byteLength(`${name}=${value}; Path=/_auth/; HttpOnly; SameSite=Lax; Max-Age=900; Secure`)).toBeLessThan(4096);
    expect(readPendingLogin(req(`x=1; ${name}=${value}`), S, st)).toEqual({ name, verifier, rd });
  });

  it('finds nothing for another state, a malformed state, a duplicated or tampered cookie', () => {
    const st = state();
    const name = pendingLoginCookie(S, st)!;
    const value = pendingLoginValue(verifier, '/x');
    expect(readPendingLogin(req(`${name}=${value}`), S, state())).toBeNull();
    expect(pendingLoginCookie(S, 'short')).toBeNull();
    expect(pendingLoginCookie(S, `${st.slice(1)}=`)).toBeNull();
    expect(readPendingLogin(req(`${name}=${value}; ${name}=${value}`), S, st)).toBeNull();
    for (const bad of ['', verifier, `${verifier}.`, `${verifier.slice(1)}.Lw`, `${verifier}.L w`]) {
      expect(readPendingLogin(req(`${name}=${bad}`), S, st), bad).toBeNull();
    }
  });

  it('lists pending cookies oldest first (the Cookie header order) and keeps the cap small', () => {
    const names = Array.from({ length: 3 }, () => pendingLoginCookie(S, state())!);
    expect(pendingLoginNames(req(`a=1; ${names.map((n) => `${n}=v`).join('; ')}; ljwt_rt_login=old`), S)).toEqual(names);
    expect(MAX_PENDING_LOGINS).toBeLessThanOrEqual(8);
  });

  it('logout (with the request) expires the pending logins too; a failed refresh (without) leaves them', () => {
    const n = pendingLoginCookie(S, state())!;
    const withReq = clearSessionCookies(S, false, req(`${n}=v`));
    expect(withReq).toContain(`${n}=; Path=/_auth/; HttpOnly; SameSite=Lax; Max-Age=0`);
    expect(clearSessionCookies(S, false).some((c) => c.startsWith(`${n}=`))).toBe(false);
  });
});
