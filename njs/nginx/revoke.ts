// js_content handler of the revocation endpoint (nginx/revocation-endpoint.conf):
// the service POSTs the sids and jtis it revoked, this stores them in the
// ljwt_revoked shared dict where the validator looks them up.
//   204 every entry stored (or already expired)   400 malformed body, nothing stored
//   401 missing or wrong secret                   405 not POST
//   503 no shared dict here (njs < 0.8 or zone not declared) or the zone is full
//   500 configuration error ($ljwt_revocation_secret_file unset or unreadable)
// Never 2xx unless every entry is stored: the service retries anything else.

import fs from 'fs';
import { isLjwtError } from '../lib/errors.ts';
import { parseRevocationBody, type ParsedRevocations } from '../revocation/entries.ts';
import { bearerCredentials, secretFromFile, secretMatches } from '../revocation/secret.ts';
import { revocationZone, storeRevocations } from './revocation-store.ts';
import { messageOf, oneLine } from './context.ts';

const SECRET_FILE_VARIABLE = 'ljwt_revocation_secret_file';

function answer(r: NginxHTTPRequest, status: number, text?: string): void {
  if (text === undefined) {
    r.return(status);
    return;
  }
  r.headersOut['Content-Type'] = 'text/plain; charset=utf-8';
  r.return(status, text + '\n');
}

function readSecret(r: NginxHTTPRequest): string | null {
  const vars = r.variables as unknown as { [name: string]: string | undefined };
  const path = vars[SECRET_FILE_VARIABLE];
  if (path === undefined || path === null || String(path) === '') {
    r.error('ljwt: revocation endpoint: $' + SECRET_FILE_VARIABLE + ' is not set (see nginx/revocation-endpoint.conf), answering 500');
    return null;
  }
  try {
    return secretFromFile(fs.readFileSync(String(path), 'utf8') as string);
  } catch (e) {
    r.error('ljwt: revocation endpoint: secret file ' + oneLine(String(path)) + ': ' + oneLine(messageOf(e)) + ', answering 500');
    return null;
  }
}

function run(r: NginxHTTPRequest): void {
  if (r.method !== 'POST') {
    r.headersOut['Allow'] = 'POST';
    answer(r, 405);
    return;
  }
  const secret = readSecret(r);
  if (secret === null) {
    answer(r, 500);
    return;
  }
  const presented = bearerCredentials((r.headersIn as unknown as { [name: string]: string | undefined }).Authorization);
  if (presented === null || !secretMatches(presented, secret)) {
    r.warn('ljwt: revocation endpoint: ' + (presented === null ? 'no bearer credentials' : 'wrong secret') +
      ' from ' + String(r.remoteAddress) + ', answering 401');
    r.headersOut['WWW-Authenticate'] = 'Bearer realm="nginx-ldap-jwt revocation"';
    answer(r, 401);
    return;
  }
  const zone = revocationZone();
  if (zone === null) {
    // Said on every push: the service counts the failures, the operator reads why here.
    r.error('ljwt: revocation endpoint: no shared dict zone ljwt_revoked (needs njs >= 0.8.5 and ' +
      'nginx/http-shared.conf in the http block; this is njs ' + String(njs.version) + '), answering 503');
    answer(r, 503, 'revocation is not available on this nginx');
    return;
  }
  const text = r.requestText;
  if (typeof text !== 'string') {
    // The body went to a temporary file: client_body_buffer_size is smaller than client_max_body_size.
    r.error('ljwt: revocation endpoint: request body not in memory (client_body_buffer_size must equal ' +
      'client_max_body_size, see nginx/revocation-endpoint.conf), answering 400');
    answer(r, 400, 'body not readable');
    return;
  }
  let parsed: ParsedRevocations;
  try {
    parsed = parseRevocationBody(text, Math.floor(Date.now() / 1000));
  } catch (e) {
    if (!isLjwtError(e)) throw e;
    r.warn('ljwt: revocation endpoint: ' + oneLine(e.message) + ', answering 400');
    answer(r, 400, e.message);
    return;
  }
  let written: number;
  try {
    written = storeRevocations(zone, parsed.entries, Date.now());
  } catch (e) {
    r.error('ljwt: revocation endpoint: storing failed (' + oneLine(messageOf(e)) + '; zone ljwt_revoked full? ' +
      'make it larger), answering 503');
    answer(r, 503, 'revocations not stored');
    return;
  }
  r.log('ljwt: revocation endpoint: ' + parsed.entries.length + ' entries (' + written + ' written, ' +
    (parsed.entries.length - written) + ' already covered), ' + parsed.expired + ' already expired');
  answer(r, 204);
}

export function revoke(r: NginxHTTPRequest): void {
  try {
    run(r);
  } catch (e) {
    r.error('ljwt: revocation endpoint: internal error, answering 500: ' + oneLine(messageOf(e)));
    try {
      r.return(500);
    } catch (e2) {
      r.error('ljwt: revocation endpoint: could not send 500: ' + oneLine(messageOf(e2)));
    }
  }
}
