// Return targets after login/refresh/logout. Only same-site relative paths are
// accepted, so /_auth/login?rd=… can never become an open redirect
// (RFC 9700 §4.11, OWASP "Unvalidated Redirects").
const MAX_RETURN_PATH = 2048;

/**
 * `rd` if it is a path on this site, else '/'. Refused: anything not starting
 * with exactly one '/', a second character '/' or '\' (protocol-relative
 * "//evil" and "/\evil", which browsers treat alike), any '\' (WHATWG URL
 * parsing turns it into '/'), control characters, spaces and non-ASCII (a real
 * request URI from nginx is already percent-encoded), and over-long values.
 */
export function safeReturnPath(rd: string | undefined | null): string {
  if (typeof rd !== 'string' || rd.length === 0 || rd.length > MAX_RETURN_PATH) return '/';
  if (!/^\/[\x21-\x7e]*$/.test(rd)) return '/';
  if (rd.length > 1 && (rd[1] === '/' || rd[1] === '\\')) return '/';
  if (rd.includes('\\')) return '/';
  return rd;
}
