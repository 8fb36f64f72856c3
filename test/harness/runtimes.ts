// The nginx + njs runtimes every edge integration test runs against.
// bookworm-njs: the host's Debian bookworm nginx 1.22 with njs 0.7.9 (oldest supported).
// trixie-njs: Debian 13 (trixie, the current stable): nginx 1.26.3 with njs 0.8.9 inside a
// chroot: shared dicts, no js_access (njs 0.9.9), no QuickJS in Debian's build.
// testing-njs / testing-qjs: Debian testing's nginx + njs 1.0.x inside a chroot, with the
// default njs engine and with QuickJS (`js_engine qjs;`).
import { ensureDebianChroot } from './testing-chroot.ts';

export type RuntimeId = 'bookworm-njs' | 'trixie-njs' | 'testing-njs' | 'testing-qjs';

export interface Runtime {
  id: RuntimeId;
  /** Absolute host path of the chroot, or null for the host itself. */
  chroot: string | null;
  /** nginx binary as seen inside the chroot (or on the host). */
  nginx: string;
  /** ngx_http_js_module as seen by nginx. */
  module: string;
  engine: 'njs' | 'qjs';
  /**
   * Ed25519 inside nginx. njs added it in 0.9.7, but Debian testing's
   * libnginx-mod-http-js 1.0.2 answers "unknown algorithm name: Ed25519" in nginx
   * (measured), while its njs 1.0.2 CLI verifies EdDSA (see cliEd25519). trixie's
   * 0.8.9 predates it: "unknown algorithm name" in nginx and in the CLI (measured).
   */
  ed25519: boolean;
  /** Ed25519 in the runtime's njs CLI. */
  cliEd25519: boolean;
  /** js_shared_dict_zone (njs >= 0.8): nginx/http-shared.conf can be included. */
  sharedDict: boolean;
  /** js_access (njs >= 0.9.9): nginx/protect-access.conf can be used. */
  jsAccess: boolean;
}

const NGINX = '/usr/sbin/nginx';
const JS_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';

export const RUNTIME_IDS: RuntimeId[] = ['bookworm-njs', 'trixie-njs', 'testing-njs', 'testing-qjs'];

/** Resolves a runtime, building its Debian chroot first when it is missing. */
export async function getRuntime(id: RuntimeId): Promise<Runtime> {
  if (id === 'bookworm-njs') {
    return { id, chroot: null, nginx: NGINX, module: JS_MODULE, engine: 'njs', ed25519: false, cliEd25519: false,
      sharedDict: false, jsAccess: false };
  }
  if (id === 'trixie-njs') {
    const chroot = await ensureDebianChroot('trixie');
    return { id, chroot, nginx: NGINX, module: JS_MODULE, engine: 'njs', ed25519: false, cliEd25519: false,
      sharedDict: true, jsAccess: false };
  }
  const chroot = await ensureDebianChroot('testing');
  return { id, chroot, nginx: NGINX, module: JS_MODULE, engine: id === 'testing-qjs' ? 'qjs' : 'njs', ed25519: false,
    cliEd25519: true, sharedDict: true, jsAccess: true };
}

/** argv that runs `cmd` inside the runtime's root. */
export function runtimeArgv(rt: { chroot: string | null }, cmd: string[]): string[] {
  return rt.chroot ? ['chroot', rt.chroot].concat(cmd) : cmd;
}
