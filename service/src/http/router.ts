import type { IncomingMessage, ServerResponse } from 'node:http';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

/** Exact-path router: no patterns, so no path can reach a handler by accident. */
export class Router {
  private readonly routes = new Map<string, Map<string, Handler>>();

  on(methods: string | string[], path: string, handler: Handler): this {
    let byMethod = this.routes.get(path);
    if (!byMethod) this.routes.set(path, (byMethod = new Map()));
    for (const m of Array.isArray(methods) ? methods : [methods]) byMethod.set(m, handler);
    return this;
  }

  /** The handler, 'method' when the path exists with other methods (405), or null (404). */
  match(method: string, path: string): { handler: Handler } | { allow: string[] } | null {
    const byMethod = this.routes.get(path);
    if (!byMethod) return null;
    const h = byMethod.get(method) ?? (method === 'HEAD' ? byMethod.get('GET') : undefined);
    if (h) return { handler: h };
    return { allow: [...byMethod.keys()] };
  }
}
