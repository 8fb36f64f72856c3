import type { IncomingMessage } from 'node:http';
import { ServiceError } from './errors.ts';

/** Reads the body up to `limit` bytes; a larger body is refused with 413 before it is buffered. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw new ServiceError('payload_too_large', 'request body too large', { status: 413 });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw new ServiceError('payload_too_large', 'request body too large', { status: 413 });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * application/x-www-form-urlencoded body as a single-valued map. RFC 6749 §3.1/§3.2:
 * parameters MUST NOT be repeated, so a repeated one is an error, never "first wins".
 */
export function parseForm(body: Buffer | string): Map<string, string> {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  return singleValued(new URLSearchParams(text));
}

export function singleValued(params: URLSearchParams): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of params) {
    if (out.has(k)) throw new ServiceError('invalid_request', `parameter ${k} is repeated`);
    out.set(k, v);
  }
  return out;
}

export async function readForm(req: IncomingMessage, limit: number): Promise<Map<string, string>> {
  if (mediaType(req) !== 'application/x-www-form-urlencoded') {
    throw new ServiceError('invalid_request', 'content type must be application/x-www-form-urlencoded');
  }
  return parseForm(await readBody(req, limit));
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}
