// One error type, rendered in one place: the same ServiceError answers as API JSON (its code),
// as OAuth error JSON (its RFC 6749 §5.2 name) or as an HTML page, always with its status and
// headers and never cached.
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { sendError, ServiceError, serviceError, type ErrorFormat } from '../../../../service/src/http/errors.ts';

function render(e: ServiceError, format: ErrorFormat): { status: number; headers: Record<string, unknown>; body: string } {
  const out = { status: 0, headers: {} as Record<string, unknown>, body: '' };
  const res = {
    writeHead(status: number, headers: Record<string, unknown>) { out.status = status; out.headers = headers; },
    end(body: string) { out.body = body; },
  } as unknown as ServerResponse;
  sendError(res, e, format);
  return out;
}

describe('ServiceError', () => {
  it('takes its OAuth error name from the code when the code is one, else invalid_request, unless given', () => {
    expect(new ServiceError('invalid_grant', 'x').oauthError).toBe('invalid_grant');
    expect(new ServiceError('login_required', 'x').oauthError).toBe('login_required');
    expect(new ServiceError('payload_too_large', 'x', { status: 413 }).oauthError).toBe('invalid_request');
    expect(new ServiceError('groups_unavailable', 'x', { oauthError: 'temporarily_unavailable' }).oauthError).toBe('temporarily_unavailable');
    expect(new ServiceError('invalid_request', 'x').status).toBe(400);
  });

  it('serviceError passes a ServiceError and rethrows anything else', () => {
    const e = new ServiceError('not_found', 'x', { status: 404 });
    expect(serviceError(e)).toBe(e);
    expect(() => serviceError(new TypeError('bug'))).toThrow(TypeError);
  });
});

describe('sendError', () => {
  const tooLarge = new ServiceError('payload_too_large', 'request body too large', { status: 413 });

  it('json: the code and the message, no-store', () => {
    const r = render(tooLarge, 'json');
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toEqual({ error: 'payload_too_large', error_description: 'request body too large' });
    expect(r.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  });

  it('oauth: the OAuth error name with the same status, and the error\'s headers', () => {
    expect(JSON.parse(render(tooLarge, 'oauth').body)).toEqual({ error: 'invalid_request', error_description: 'request body too large' });
    const throttled = new ServiceError('login_throttled', 'too many failed login attempts', {
      status: 429, oauthError: 'temporarily_unavailable', headers: { 'Retry-After': '7' },
    });
    const r = render(throttled, 'oauth');
    expect(r.status).toBe(429);
    expect(r.headers).toMatchObject({ 'Retry-After': '7', 'Cache-Control': 'no-store' });
    expect(JSON.parse(r.body).error).toBe('temporarily_unavailable');
  });

  it('an empty message leaves error_description out (RFC 6750 §3.1 bearer refusals)', () => {
    const r = render(new ServiceError('invalid_token', '', { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="x"' } }), 'oauth');
    expect(JSON.parse(r.body)).toEqual({ error: 'invalid_token' });
    expect(r.headers['WWW-Authenticate']).toBe('Bearer realm="x"');
  });

  it('page: an HTML page with the title and the escaped message, the status and the page headers', () => {
    const r = render(new ServiceError('invalid_request', 'The <redirect_uri> is not registered.'), { page: 'Sign-in request rejected' });
    expect(r.status).toBe(400);
    expect(r.headers['Content-Type']).toBe('text/html; charset=utf-8');
    expect(r.headers).toMatchObject({ 'Cache-Control': 'no-store' });
    expect(r.headers['Content-Security-Policy']).toContain("default-src 'none'");
    expect(r.body).toContain('<h1>Sign-in request rejected</h1>');
    expect(r.body).toContain('The &lt;redirect_uri&gt; is not registered.');
  });
});
