// Services with the real group sync (startWithGroupSync, in-thread, against real slapd)
// started without waiting for the first sync, as a service without a snapshot file starts:
// for tests of what happens before and between group syncs. Started services and the
// slapd servers handed to `adopt` are closed by `closeAll`.
import type { Client } from 'ldapts';
import type { LdapServerConfig, ServiceConfig } from '../../service/src/config/types.ts';
import { captureLog } from '../integration/ldap/groups-fixtures.ts';
import { authorize, pkcePair, PUBLIC_CLIENT, startWithGroupSync, tempDir, type HttpResult, type ServiceWithGroupSync } from './service-app.ts';
import type { Slapd } from './slapd.ts';

export interface SyncedServices {
  /** A key directory for the next service (config.keyDirectory). */
  keyDirectory(): string;
  /** Starts the app with the group sync (bulk: one paged subtree scan per directory, what a large directory gets). */
  start(config: ServiceConfig, connect?: (server: LdapServerConfig) => Promise<Client>): Promise<ServiceWithGroupSync>;
  /** Destroyed by closeAll. */
  adopt(slapd: Slapd): Slapd;
  closeAll(): Promise<void>;
}

export function syncedServices(prefix: string): SyncedServices {
  const dir = tempDir(prefix);
  const running: ServiceWithGroupSync[] = [];
  const slapds: Slapd[] = [];
  let keys = 0;
  return {
    keyDirectory: () => `${dir.dir}/keys-${keys++}`,
    async start(config, connect) {
      const r = await startWithGroupSync(config, {
        sync: { awaitFirstSync: false, expand: { mode: 'bulk' }, ...(connect ? { connect } : {}) },
        syncLog: captureLog(),
      });
      running.push(r);
      return r;
    },
    adopt(slapd) {
      slapds.push(slapd);
      return slapd;
    },
    async closeAll() {
      for (const r of running.reverse()) await r.close();
      for (const s of slapds) await s.destroy();
      dir.remove();
    },
  };
}

/** The login form submitted (public client, PKCE): the response and the redirect, if any. */
export function submitLoginForm(base: string, username: string, password: string): Promise<{ res: HttpResult; location?: URL }> {
  const { challenge } = pkcePair();
  return authorize(base, { client_id: PUBLIC_CLIENT, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: 's' }, username, password);
}

/** What the login form answered: status, whether it redirected (a code), whether the page says sign-in is not available yet, Retry-After. */
export async function loginFormOutcome(base: string, username: string, password: string): Promise<{ status: number; redirected: boolean; notAvailableYet: boolean; retryAfter: number }> {
  const { res, location } = await submitLoginForm(base, username, password);
  return { status: res.status, redirected: location !== undefined, notAvailableYet: res.text.includes('not available yet'), retryAfter: Number(res.headers['retry-after'] ?? 0) };
}

/** Polls `check` every 50 ms until it holds; throws after `ms`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
