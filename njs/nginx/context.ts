// The one place that touches the nginx request object for the validator: reads
// the $ljwt_* configuration variables and request headers, writes the js_var
// outputs, reads key files and logs. Everything else is the pure core.

import fs from 'fs';
import { ljwtError } from '../lib/errors.ts';
import type { EdgeRuntime } from '../config.ts';
import { SETTING_COUNT } from '../setting-positions.ts';
import { loadSettingsByName } from './settings-by-name-loader.ts';
import { importVerifyKey } from '../keys/import-key.ts';
import { byteString } from '../lib/utf8.ts';
import { versionAtLeast } from '../lib/text.ts';
import { isBrowserNavigation } from '../http/challenge.ts';

/** Output js_vars (declared in nginx/http.conf) that the validate handler owns. */
export const OUTPUT_VARIABLES: string[] = ['ljwt_user', 'ljwt_group_dns', 'ljwt_oids', 'ljwt_error',
  'ljwt_error_description', 'ljwt_upstream_cookie', 'ljwt_upstream_authorization', 'ljwt_cache_status',
  'ljwt_response_settings', 'ljwt_redirect', 'ljwt_challenge'];

const NON_ASCII = /[^\u0000-\u007f]/;

// Log lines must stay one line and bounded: messages may quote token or claim text.
const MAX_LOG_MESSAGE = 512;

// protect-common.conf's snapshot of the location's inputs: EDGE_SETTINGS values
// joined by "\n" (which no valid value contains); "" where protect.conf is not used.
export const LOCATION_SNAPSHOT = 'ljwt_location_settings';
// The same snapshot taken by server.conf inside the auth subrequest.
export const SUBREQUEST_SNAPSHOT = 'ljwt_subrequest_settings';

/** The location's $ljwt_* inputs: the raw snapshot text and its values in EDGE_SETTINGS order (setting-positions.ts). */
export interface Settings {
  /** Every value joined by "\n" (no value contains one): the settings' identity in the cache key. */
  text: string;
  list: string[];
}

export interface EdgeContext {
  r: NginxHTTPRequest;
  /**
   * True in the auth_request subrequest, whose own response headers (the
   * WWW-Authenticate challenge) nginx passes on only for a 401 without
   * error_page. False under js_access: headers set there would stay on the
   * client response, also on the error_page's 302 to the login page.
   */
  subrequest: boolean;
  /** The $ljwt_* inputs, from the settings snapshot where protect-common.conf took one. */
  settings(): Settings;
  /** A request header (case-insensitive) or undefined. */
  header(name: string): string | undefined;
  /**
   * All Cookie header lines of the client request as one cookie-string, one
   * char per byte (see byteString), or undefined. $http_cookie joins several
   * lines (HTTP/1.1) and HTTP/2's cookie fields with "; " on nginx 1.22 and
   * 1.30; r.headersIn.Cookie joins them with ";" on njs 0.7.9 and appends a
   * stray "; " on njs 1.0.2, and r.variables turns bytes that are not UTF-8
   * into U+FFFD on njs 1.0.2 (all measured): hence the raw bytes of $http_cookie.
   */
  cookieHeader(): string | undefined;
  /** Writes a js_var from a byte string (cookieHeader), byte for byte. */
  setOutputBytes(name: string, bytes: string): void;
  /** The client request's method ($request_method). */
  method(): string;
  /** $request_uri of the client request (the original path and query). */
  requestUri(): string;
  variable(name: string): string | undefined;
  /** Writes a js_var; throws ERR_CONFIG_INVALID when the variable is not declared. */
  setOutput(name: string, value: string): void;
  /** Text of a key file; ERR_CONFIG_INVALID when missing or unreadable. */
  readKeyFile(path: string): string;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export type Capabilities = EdgeRuntime & { engine: string };

/**
 * What this njs claims by version: Ed25519 in WebCrypto arrived in njs 0.9.7
 * (both engines). Enough for the error pages, which verify nothing.
 */
export function staticCapabilities(): Capabilities {
  const g = njs as unknown as { version: string; engine?: string };
  const version = String(g.version);
  // njs.engine exists since 0.8.x; older runtimes only have the njs engine.
  const engine = typeof g.engine === 'string' ? g.engine : 'njs';
  return { ed25519: versionAtLeast(version, [0, 9, 7]), version: version, engine: engine };
}

// An Ed25519 public key (SPKI, RFC 8410 §4) used only to ask the runtime
// whether it can import one.
const ED25519_PROBE_SPKI = 'MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=';

// Module state: remembered across requests on QuickJS (contexts are reused),
// recomputed per request on the njs engine (the module top level re-runs).
let ed25519Probe: boolean | null = null;

/**
 * Capabilities as measured: the version is not enough. Debian testing's
 * libnginx-mod-http-js 1.0.2 reports "unknown algorithm name: Ed25519" inside
 * nginx although the njs 1.0.2 CLI of the same source verifies EdDSA, so
 * Ed25519 is probed with a real key import (once per VM).
 */
export async function probeCapabilities(): Promise<Capabilities> {
  const caps = staticCapabilities();
  if (!caps.ed25519) return caps;
  if (ed25519Probe === null) {
    try {
      await importVerifyKey({ kty: 'OKP', crv: 'Ed25519', format: 'spki',
        der: new Uint8Array(Buffer.from(ED25519_PROBE_SPKI, 'base64')) }, 'EdDSA');
      ed25519Probe = true;
    } catch (e) {
      ed25519Probe = false;
    }
  }
  caps.ed25519 = ed25519Probe;
  return caps;
}

export function oneLine(msg: string): string {
  const s = msg.replace(/[\u0000-\u001f\u007f]/g, '?');
  return s.length > MAX_LOG_MESSAGE ? s.substring(0, MAX_LOG_MESSAGE) + '...' : s;
}

/** Whether the request is a browser's page navigation (gets the login redirect, not a 401). */
export function isBrowserRequest(ctx: EdgeContext): boolean {
  return isBrowserNavigation({
    method: ctx.method(),
    accept: ctx.header('Accept'),
    xRequestedWith: ctx.header('X-Requested-With'),
    secFetchMode: ctx.header('Sec-Fetch-Mode'),
    secFetchDest: ctx.header('Sec-Fetch-Dest'),
  });
}

export function messageOf(e: unknown): string {
  if (e !== null && typeof e === 'object' && typeof (e as Error).message === 'string') return (e as Error).message;
  return String(e);
}

type Vars = { [name: string]: string | undefined };

/** The request's context: its methods are shared, so a request allocates one object, not a closure per method. */
interface NginxContext extends EdgeContext {
  vars: Vars;
  headers: { [name: string]: string | undefined };
}

function setOutput(this: NginxContext, name: string, value: string): void {
  try {
    this.vars[name] = value;
  } catch (e) {
    throw ljwtError('ERR_CONFIG_INVALID', '$' + name + ' is not declared (add `js_var $' + name +
      ';` at http level): ' + messageOf(e));
  }
}

function settings(this: NginxContext): Settings {
  const vars = this.vars;
  const snapText = vars[LOCATION_SNAPSHOT];
  const snap = snapText === undefined || snapText === null ? '' : String(snapText);
  if (snap === '') return loadSettingsByName().liveSettings(vars);
  const taken = snap.split('\n');
  if (taken.length !== SETTING_COUNT) {
    throw ljwtError('ERR_CONFIG_INVALID', 'protect-common.conf does not match this ljwt.js ($' + LOCATION_SNAPSHOT +
      ' has ' + taken.length + ' values, expected ' + SETTING_COUNT + ')');
  }
  // The auth subrequest re-runs server-level `set`s: a location value they
  // replaced (or a `set` below the include) must not silently turn into
  // another policy, possibly a looser one. server.conf takes the same
  // snapshot inside the subrequest: one string compare instead of reading
  // every variable (an older server.conf without it: read them all).
  const seenText = vars[SUBREQUEST_SNAPSHOT];
  const seen = seenText === undefined || seenText === null ? '' : String(seenText);
  if (seen !== '' ? seen !== snap : this.subrequest) loadSettingsByName().refuseChangedSettings(vars, taken, seen);
  return { text: snap, list: taken };
}

function header(this: NginxContext, name: string): string | undefined {
  const v = this.headers[name];
  return v === undefined || v === null ? undefined : String(v);
}

function cookieHeader(this: NginxContext): string | undefined {
  // ASCII (the usual case) reads the same either way; the bytes are
  // fetched and converted only when the text could differ from them.
  const text = this.vars.http_cookie;
  if (text === undefined || text === null) return undefined;
  if (!NON_ASCII.test(String(text))) return String(text);
  const raw = (this.r.rawVariables as unknown as { [name: string]: Uint8Array | undefined }).http_cookie;
  return raw === undefined || raw === null ? undefined : byteString(raw);
}

function setOutputBytes(this: NginxContext, name: string, bytes: string): void {
  // ASCII (the usual case) is written as it is; otherwise as a Buffer,
  // which r.variables stores unchanged on every runtime (measured).
  if (!/[\u0080-\u00ff]/.test(bytes)) {
    this.setOutput(name, bytes);
    return;
  }
  const buf = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length; i++) buf[i] = bytes.charCodeAt(i);
  this.setOutput(name, buf as unknown as string);
}

function method(this: NginxContext): string {
  // The client request's method: an auth_request subrequest is always a GET.
  const v = this.vars.request_method;
  return v === undefined || v === null ? String(this.r.method) : String(v);
}

function requestUri(this: NginxContext): string {
  const v = this.vars.request_uri;
  return v === undefined || v === null ? '/' : String(v);
}

function variable(this: NginxContext, name: string): string | undefined {
  const v = this.vars[name];
  return v === undefined || v === null ? undefined : String(v);
}

function readKeyFile(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8') as string;
  } catch (e) {
    throw ljwtError('ERR_CONFIG_INVALID', 'cannot read key file ' + path + ': ' + messageOf(e));
  }
}

function info(this: NginxContext, msg: string): void {
  this.r.log('ljwt: ' + oneLine(msg));
}

function warn(this: NginxContext, msg: string): void {
  this.r.warn('ljwt: ' + oneLine(msg));
}

function error(this: NginxContext, msg: string): void {
  this.r.error('ljwt: ' + oneLine(msg));
}

// The methods every request's context shares: a request allocates an object
// of four fields, not one defining every method (QuickJS builds an object
// literal's shape property by property, again in every request).
const CONTEXT_METHODS = {
  settings: settings,
  header: header,
  cookieHeader: cookieHeader,
  setOutputBytes: setOutputBytes,
  method: method,
  requestUri: requestUri,
  variable: variable,
  setOutput: setOutput,
  readKeyFile: readKeyFile,
  info: info,
  warn: warn,
  error: error,
};

export function createContext(r: NginxHTTPRequest): EdgeContext {
  const ctx = Object.create(CONTEXT_METHODS) as NginxContext;
  ctx.r = r;
  ctx.vars = r.variables as unknown as Vars;
  ctx.headers = r.headersIn as unknown as { [name: string]: string | undefined };
  ctx.subrequest = true;
  return ctx;
}
