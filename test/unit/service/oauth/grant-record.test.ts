// Codes and refresh tokens keep their grant in the Store as compact positional records; the
// object form written before is still read, and a record that is neither is refused.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { decodeCode, decodeRefresh, encodeCode, encodeRefresh } from '../../../../service/src/oauth/grant-record.ts';
import type { Grant } from '../../../../service/src/oauth/grant.ts';
import type { Subject } from '../../../../service/src/tokens/access-token.ts';
import { AuthorizationCodes } from '../../../../service/src/oauth/codes.ts';
import { RefreshTokens } from '../../../../service/src/oauth/refresh-tokens.ts';
import { Revocations } from '../../../../service/src/oauth/revocation.ts';
import { hashSecret } from '../../../../service/src/oauth/secrets.ts';
import { MemoryStore } from '../../../../service/src/store/memory-store.ts';

const full: Grant = {
  clientId: 'web',
  subject: { username: 'alice', objectId: '218fe080-8446-1041-93c1-2f8c1e1e1e1e', dn: 'uid=alice,ou=people,dc=example,dc=com', directory: 'ldap://dir', displayName: 'Alice "A" Ünïcode', email: 'alice@example.com' },
  scope: ['openid', 'api'],
  authTime: 1_796_399_419,
  familyId: 'fam-1',
  nonce: 'n-0S6_WzA2Mj',
};
const bare: Grant = { clientId: 'cli', subject: { username: 'bob', objectId: 'o', dn: 'uid=bob' }, scope: ['api'], authTime: 1, familyId: 'fam-2' };

const codeError = (raw: string) => { try { decodeCode(raw, 'f'); return 'none'; } catch (e) { return (e as { code?: string }).code; } };
const refreshError = (raw: string) => { try { decodeRefresh(raw); return 'none'; } catch (e) { return (e as { code?: string }).code; } };

describe('grant records in the store', () => {
  it('have a slot for every field of a grant and its subject (a new field fails the typecheck here)', () => {
    // The records are positional (grant-record.ts grantTuple): a field added to Grant or Subject
    // without a slot there would be dropped silently by every code and refresh token.
    expectTypeOf<keyof Grant>().toEqualTypeOf<'clientId' | 'subject' | 'scope' | 'authTime' | 'familyId' | 'nonce'>();
    expectTypeOf<keyof Subject>().toEqualTypeOf<'username' | 'objectId' | 'dn' | 'directory' | 'displayName' | 'email'>();
    expect(decodeRefresh(encodeRefresh({ grant: full, issuedAt: 3 })).grant).toEqual(full);
  });

  it('give back every field of a code record, the family id being the one derived from the code', () => {
    for (const grant of [full, bare]) {
      for (const codeChallenge of ['E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', undefined]) {
        const rec = { grant, redirectUri: 'https://app.example/cb', ...(codeChallenge !== undefined ? { codeChallenge } : {}) };
        const raw = encodeCode(rec);
        expect(raw).not.toContain(grant.familyId);
        expect(decodeCode(raw, grant.familyId)).toEqual(rec);
      }
    }
  });

  it('give back every field of a refresh record', () => {
    for (const grant of [full, bare, { ...bare, scope: [] }]) expect(decodeRefresh(encodeRefresh({ grant, issuedAt: 42 }))).toEqual({ grant, issuedAt: 42 });
  });

  it('take at most two thirds (codes) and three quarters (refresh tokens) of the object form', () => {
    const code = { grant: full, redirectUri: 'https://app.example/cb', codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' };
    expect(encodeCode(code).length).toBeLessThanOrEqual((2 / 3) * JSON.stringify(code).length);
    expect(encodeRefresh({ grant: full, issuedAt: 42 }).length).toBeLessThanOrEqual(0.75 * JSON.stringify({ grant: full, issuedAt: 42 }).length);
  });

  it('read records in the object form as they were written', () => {
    const code = { grant: full, redirectUri: 'https://app.example/cb' };
    expect(decodeCode(JSON.stringify(code), 'other')).toEqual(code);
    expect(decodeRefresh(JSON.stringify({ grant: bare, issuedAt: 7 }))).toEqual({ grant: bare, issuedAt: 7 });
  });

  it('refuse anything else with store_record_malformed', () => {
    const good = JSON.parse(encodeCode({ grant: bare, redirectUri: 'https://a/cb' })) as unknown[];
    expect(codeError(JSON.stringify(['r1', ...good.slice(1)]))).toBe('store_record_malformed');
    expect(codeError(JSON.stringify(good.slice(0, -1)))).toBe('store_record_malformed');
    expect(codeError(JSON.stringify(good.map((v, i) => (i === 2 ? 5 : v))))).toBe('store_record_malformed');
    expect(codeError(JSON.stringify(good.map((v, i) => (i === 9 ? '1' : v))))).toBe('store_record_malformed');
    expect(codeError('"text"')).toBe('store_record_malformed');
    expect(codeError('["c1", truncated')).toBe('store_record_malformed');
    expect(refreshError('')).toBe('store_record_malformed');
    expect(codeError('null')).toBe('store_record_malformed');
    const rt = JSON.parse(encodeRefresh({ grant: bare, issuedAt: 1 })) as unknown[];
    expect(refreshError(JSON.stringify(rt.map((v, i) => (i === 10 ? null : v))))).toBe('store_record_malformed');
    expect(refreshError(JSON.stringify(['c1', ...rt.slice(1)]))).toBe('store_record_malformed');
    expect(refreshError('{"issuedAt":1}')).toBe('store_record_malformed');
  });

  it('let a code written in the object form be redeemed once, for the family derived from it', async () => {
    const store = new MemoryStore();
    const revocations = new Revocations(store, 3600);
    const codes = new AuthorizationCodes(store, 60, 360, revocations);
    const code = 'legacy-code';
    const family = hashSecret(`family\u0000${code}`);
    await store.set(`code:${hashSecret(code)}`, JSON.stringify({ grant: { ...bare, familyId: family }, redirectUri: 'https://a/cb' }), 60);
    const r = await codes.redeem(code);
    expect(r.replayed === false && r.grant.familyId).toBe(family);
    expect((await codes.redeem(code)).replayed).toBe(true);
    expect(await revocations.isFamilyRevoked(family)).toBe(true);
    await store.close();
  });

  it('let a refresh token written in the object form be rotated', async () => {
    const store = new MemoryStore();
    const tokens = new RefreshTokens(store, 3600, 0, new Revocations(store, 3600), () => 100);
    await store.set(`rt:${hashSecret('legacy-rt')}`, JSON.stringify({ grant: bare, issuedAt: 5 }), 3600);
    const r = await tokens.rotate('legacy-rt', 'cli', () => undefined);
    expect(r.outcome).toBe('rotated');
    expect(await tokens.find(r.refreshToken)).toEqual(bare);
    await store.close();
  });
});
