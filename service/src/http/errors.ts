// The one error type of request handling, and the one place that renders it. A handler throws
// ServiceError; the endpoint's catch answers it in the endpoint's format: JSON for the APIs,
// the OAuth error JSON for token endpoints (RFC 6749 §5.2), an HTML page for browser pages.
import type { ServerResponse } from 'node:http';
import { messagePage, sendHtml, sendNoStoreJson } from './respond.ts';

/**
 * Error names an OAuth response may carry: RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1,
 * RFC 7009 §2.2.1, OpenID Connect Core §3.1.2.6.
 */
const OAUTH_ERRORS = new Set([
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope',
  'access_denied', 'unsupported_response_type', 'server_error', 'temporarily_unavailable',
  'invalid_token', 'insufficient_scope', 'unsupported_token_type',
  'login_required', 'interaction_required', 'request_not_supported', 'request_uri_not_supported', 'registration_not_supported',
]);

export interface ServiceErrorOptions {
  /** HTTP status (default 400). */
  status?: number;
  /** The OAuth error name, when it is not the code itself (default: the code if it is one, else invalid_request). */
  oauthError?: string;
  /** Extra response headers (Retry-After, WWW-Authenticate). */
  headers?: Record<string, string>;
}

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  readonly status: number;
  readonly oauthError: string;
  readonly headers: Record<string, string>;
  constructor(
    /** Stable machine-readable code: what callers, logs and tests switch on. */
    readonly code: string,
    /** Said to the client (error_description, or the page's text); never carries secrets. */
    message: string,
    options: ServiceErrorOptions = {},
  ) {
    super(message);
    this.status = options.status ?? 400;
    this.oauthError = options.oauthError ?? (OAUTH_ERRORS.has(code) ? code : 'invalid_request');
    this.headers = options.headers ?? {};
  }
}

/** 'json': { error: code } for the APIs; 'oauth': { error: OAuth name } for token endpoints; { page }: an HTML page with that title. */
export type ErrorFormat = 'json' | 'oauth' | { page: string };

/** Answers e, never cached. An empty message leaves error_description out (RFC 6750 §3.1 challenges). */
export function sendError(res: ServerResponse, e: ServiceError, format: ErrorFormat): void {
  if (typeof format === 'object') {
    sendHtml(res, e.status, messagePage(format.page, e.message), e.headers);
    return;
  }
  const error = format === 'oauth' ? e.oauthError : e.code;
  sendNoStoreJson(res, e.status, e.message === '' ? { error } : { error, error_description: e.message }, e.headers);
}

/** e itself when it is a ServiceError; anything else is a bug and goes on up. */
export function serviceError(e: unknown): ServiceError {
  if (e instanceof ServiceError) return e;
  throw e;
}
