// Stand-ins for the globals nginx gives njs code (`ngx.shared`, `njs.version`), for unit tests
// that run adapter modules in Node. `freshModule` re-imports a module with empty module state:
// what the njs engine gives every request's VM.
import { vi } from 'vitest';

const g = globalThis as unknown as { ngx?: unknown; njs?: unknown };

/** An in-memory `ljwt_decisions` zone and `njs.version`; returns the zone's entries. */
export function installDecisionZone(njsVersion = '0.8.9'): Map<string, string> {
  const entries = new Map<string, string>();
  g.ngx = { shared: { ljwt_decisions: { get: (k: string) => entries.get(k), set: (k: string, v: string) => { entries.set(k, v); } } } };
  g.njs = { version: njsVersion };
  return entries;
}

/** A `ljwt_decisions` zone whose every call throws. */
export function installFailingZone(): void {
  g.ngx = { shared: { ljwt_decisions: { get: () => { throw new Error('zone'); }, set: () => { throw new Error('full'); } } } };
}

/** Only `njs.version`: a runtime without the zone. */
export function installNjsVersion(version: string): void {
  g.njs = { version };
}

export function removeNjsGlobals(): void {
  delete g.ngx;
  delete g.njs;
  vi.resetModules();
}

/** `path` imported anew, with fresh module state. Typed by the caller: adapters need njs's globals to type-check. */
export async function freshModule<T>(path: string): Promise<T> {
  vi.resetModules();
  return (await import(/* @vite-ignore */ path)) as T;
}
