// The error_page 403 handler (nginx/server.conf): what the client sees when
// the location's policy refused. It reads the reason from $ljwt_error, which
// the validator wrote into the variables the auth subrequest shares with this
// request and which survive the error_page redirect to the named location.
// (A 401 needs no script: server.conf's @ljwt_unauthorized answers it from
// the js_vars the validator set.)

import type { ErrorCode } from '../lib/errors.ts';
import { parseEdgeConfig, DEFAULTS } from '../config.ts';
import { bearerChallenge, errorDescription } from '../http/challenge.ts';
import { createContext, isBrowserRequest, messageOf, staticCapabilities, type EdgeContext } from './context.ts';
import { settingsMap } from './settings-by-name.ts';
import { matchesWhole } from '../lib/text.ts';

interface ResponseSettings {
  realm: string;
  loginUrl: string | null;
  returnParam: string;
}

// The validate handler already refused the request, so a configuration that
// fails to parse here only costs the redirect: the client still gets a denial.
function settings(ctx: EdgeContext): ResponseSettings {
  // Left by the validator (validate.ts keepResponseSettings): no second parse.
  const kept = ctx.variable('ljwt_response_settings');
  const parts = kept === undefined ? [] : kept.split('\n');
  if (parts.length === 3 && parts[0] !== '' && parts[2] !== '') {
    return { realm: parts[0], loginUrl: parts[1] === '' ? null : parts[1], returnParam: parts[2] };
  }
  try {
    const cfg = parseEdgeConfig(settingsMap(ctx.settings()), staticCapabilities());
    return { realm: cfg.realm, loginUrl: cfg.loginUrl, returnParam: cfg.returnParam };
  } catch (e) {
    ctx.warn('error page without the configuration: ' + messageOf(e));
    return { realm: DEFAULTS.realm, loginUrl: null, returnParam: DEFAULTS.returnParam };
  }
}

function errorCode(ctx: EdgeContext, fallback: ErrorCode): ErrorCode {
  const v = ctx.variable('ljwt_error');
  return v && matchesWhole(/^ERR_[A-Z_]+$/, v) ? v as ErrorCode : fallback;
}


function jsonBody(error: string, description: string): string {
  return JSON.stringify({ error: error, error_description: description }) + '\n';
}

function noStore(r: NginxHTTPRequest): void {
  r.headersOut['Cache-Control'] = 'no-store';
}

const FORBIDDEN_HTML = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>403 Forbidden</title></head>\n' +
  '<body><h1>403 Forbidden</h1><p>You are signed in, but your account is not allowed to open this page.</p>' +
  '</body></html>\n';

/** error_page 403: error="insufficient_scope" for API clients (RFC 6750 §3.1), a short page for browsers. */
export function forbidden(r: NginxHTTPRequest): void {
  const ctx = createContext(r);
  try {
    const s = settings(ctx);
    const code = errorCode(ctx, 'ERR_ACCESS_DENIED');
    noStore(r);
    if (isBrowserRequest(ctx)) {
      r.headersOut['Content-Type'] = 'text/html; charset=utf-8';
      r.return(403, FORBIDDEN_HTML);
      return;
    }
    r.headersOut['WWW-Authenticate'] = bearerChallenge(s.realm, code, 403);
    r.headersOut['Content-Type'] = 'application/json';
    r.return(403, jsonBody('insufficient_scope', errorDescription(code)));
  } catch (e) {
    ctx.error('error page 403 failed: ' + messageOf(e));
    r.return(403);
  }
}
