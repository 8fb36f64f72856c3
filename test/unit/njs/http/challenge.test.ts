import { describe, expect, it } from 'vitest';
import { bearerChallenge, errorDescription, isBrowserNavigation, loginRedirectUrl } from '#njs/http/challenge.ts';
import type { ErrorCode } from '#njs/lib/errors.ts';

const ALL_CODES: ErrorCode[] = [
  'ERR_JWT_MALFORMED', 'ERR_JWS_INVALID', 'ERR_JOSE_ALG_NOT_ALLOWED', 'ERR_JOSE_NOT_SUPPORTED', 'ERR_JWKS_INVALID',
  'ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JWT_EXPIRED', 'ERR_JWT_NOT_YET_VALID',
  'ERR_JWT_CLAIM_VALIDATION_FAILED', 'ERR_TOKEN_MISSING', 'ERR_ACCESS_DENIED', 'ERR_CONFIG_INVALID',
];

describe('bearerChallenge (RFC 6750 §3)', () => {
  it('no token: realm only (§3.1)', () => {
    expect(bearerChallenge('nginx-ldap-jwt', undefined, 401)).toBe('Bearer realm="nginx-ldap-jwt"');
    expect(bearerChallenge('r', 'ERR_TOKEN_MISSING', 401)).toBe('Bearer realm="r"');
  });
  it('invalid token', () => {
    expect(bearerChallenge('r', 'ERR_JWT_EXPIRED', 401))
      .toBe('Bearer realm="r", error="invalid_token", error_description="The access token expired"');
    expect(bearerChallenge('r', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 401))
      .toBe('Bearer realm="r", error="invalid_token", error_description="The access token signature is invalid"');
    expect(bearerChallenge('r', 'ERR_JWT_MALFORMED', 401))
      .toBe('Bearer realm="r", error="invalid_token", error_description="The access token is malformed"');
  });
  it('policy refusal', () => {
    expect(bearerChallenge('r', 'ERR_ACCESS_DENIED', 403)).toBe(
      'Bearer realm="r", error="insufficient_scope", error_description="The access token does not grant access to this resource"');
    expect(bearerChallenge('r', undefined, 403)).toBe(bearerChallenge('r', 'ERR_ACCESS_DENIED', 403));
  });
  it('config errors say nothing about the token', () => {
    expect(bearerChallenge('r', 'ERR_CONFIG_INVALID', 401)).toBe('Bearer realm="r"');
  });
  it('quotes the realm safely', () => {
    expect(bearerChallenge('a"b\\c\r\n', undefined, 401)).toBe('Bearer realm="a\\"b\\\\c"');
  });
  it('every code has a fixed, quoted-string-safe description', () => {
    const seen = new Set<string>();
    for (const c of ALL_CODES) {
      const d = errorDescription(c);
      expect(d).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
      seen.add(d);
    }
    expect(seen.size).toBe(ALL_CODES.length);
    expect(errorDescription('whatever')).toBe('The access token is invalid');
    expect(errorDescription('constructor')).toBe('The access token is invalid');
  });
});

describe('isBrowserNavigation', () => {
  const html = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
  it.each([
    [{ method: 'GET', accept: html }, true],
    [{ method: 'HEAD', accept: html }, true],
    [{ method: 'GET', accept: html, secFetchMode: 'navigate', secFetchDest: 'document' }, true],
    [{ method: 'GET', accept: html, secFetchMode: 'navigate', secFetchDest: 'iframe' }, true],
    [{ method: 'GET', accept: 'TEXT/HTML; charset=utf-8' }, true],
    [{ method: 'POST', accept: html }, false],
    [{ method: 'get', accept: html }, false],
    [{ method: 'GET' }, false],
    [{ method: 'GET', accept: 'application/json' }, false],
    [{ method: 'GET', accept: '*/*' }, false],
    [{ method: 'GET', accept: 'text/html;q=0, application/json' }, false],
    [{ method: 'GET', accept: 'text/html;q=0.1' }, true],
    [{ method: 'GET', accept: 'text/htmlx' }, false],
    [{ method: 'GET', accept: html, xRequestedWith: 'XMLHttpRequest' }, false],
    [{ method: 'GET', accept: html, xRequestedWith: 'xmlhttprequest' }, false],
    [{ method: 'GET', accept: html, xRequestedWith: 'com.example.app' }, true],
    [{ method: 'GET', accept: html, secFetchMode: 'cors' }, false],
    [{ method: 'GET', accept: html, secFetchMode: 'no-cors' }, false],
    [{ method: 'GET', accept: html, secFetchMode: 'same-origin' }, false],
    [{ method: 'GET', accept: html, secFetchMode: 'navigate', secFetchDest: 'image' }, false],
    [{ method: 'GET', accept: html, secFetchDest: 'empty' }, false],
  ])('%j -> %s', (h, want) => {
    expect(isBrowserNavigation(h)).toBe(want);
  });
});

describe('loginRedirectUrl', () => {
  it.each([
    ['/login', '/app/page?x=1&y=2', '/login?rd=%2Fapp%2Fpage%3Fx%3D1%26y%3D2'],
    ['https://sso.example.com/login', '/', 'https://sso.example.com/login?rd=%2F'],
    ['https://sso.example.com/login?lang=en', '/a', 'https://sso.example.com/login?lang=en&rd=%2Fa'],
    ['/login?', '/a', '/login?rd=%2Fa'],
    ['/login#top', '/a', '/login?rd=%2Fa#top'],
    ['/login', '//evil.example/x', '/login?rd=%2F'],
    ['/login', '/\\evil.example', '/login?rd=%2F'],
    ['/login', 'https://evil.example/', '/login?rd=%2F'],
    ['/login', '', '/login?rd=%2F'],
    ['/login', '/a\r\nSet-Cookie: x', '/login?rd=%2F'],
  ])('%s + %j', (login, orig, want) => {
    expect(loginRedirectUrl(login, 'rd', orig)).toBe(want);
  });
  it('uses the configured parameter name', () => {
    expect(loginRedirectUrl('/login', 'return_to', '/p')).toBe('/login?return_to=%2Fp');
  });
});
