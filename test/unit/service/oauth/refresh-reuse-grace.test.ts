// The refresh-token reuse grace is a window of milliseconds from the moment of the rotation,
// wherever in its second that moment falls.
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../../service/src/store/memory-store.ts';
import { RefreshTokens } from '../../../../service/src/oauth/refresh-tokens.ts';
import { Revocations } from '../../../../service/src/oauth/revocation.ts';
import type { Grant } from '../../../../service/src/oauth/grant.ts';

const GRACE_MS = 10_000;

function setup() {
  const store = new MemoryStore();
  const clock = { ms: 1_800_000_000_000 };
  const revocations = new Revocations(store, 3600);
  const tokens = new RefreshTokens(store, 3600, GRACE_MS, revocations, () => Math.floor(clock.ms / 1000), () => clock.ms);
  return { clock, revocations, tokens };
}

const grant = (familyId: string): Grant => ({ clientId: 'c', subject: { username: 'u', objectId: 'o', dn: 'uid=u' }, scope: ['openid'], authTime: 1, familyId });

/** Rotates a fresh token at `rotatedAtMs`, then presents it again `laterMs` afterwards. */
async function reuseAfter(rotatedAtMs: number, laterMs: number) {
  const { clock, revocations, tokens } = setup();
  clock.ms = rotatedAtMs;
  const first = await tokens.issue(grant('fam'));
  const rotated = await tokens.rotate(first, 'c', () => undefined);
  clock.ms = rotatedAtMs + laterMs;
  const outcomes: string[] = [];
  try {
    const again = await tokens.rotate(first, 'c', (o) => outcomes.push(o));
    return { again, rotated, outcomes, revoked: await revocations.isFamilyRevoked('fam') };
  } catch (e) {
    return { error: (e as { code?: string }).code, outcomes, revoked: await revocations.isFamilyRevoked('fam') };
  }
}

describe('refresh token reuse grace', () => {
  // Rotations late in their second (.999) and early in it (.001): a whole-second window would be
  // up to a second longer for the first and grant the reuse just outside.
  for (const at of [1_800_000_000_999, 1_800_000_000_001, 1_800_000_000_500]) {
    it(`inside the window up to its last millisecond (rotated at …${at % 1000} ms)`, async () => {
      for (const later of [1, GRACE_MS - 1, GRACE_MS]) {
        const r = await reuseAfter(at, later);
        expect(r.outcomes, `after ${later} ms`).toEqual(['grace']);
        expect(r.again?.refreshToken).toBe(r.rotated?.refreshToken);
        expect(r.revoked).toBe(false);
      }
    });

    it(`one millisecond after the window the reuse revokes the family (rotated at …${at % 1000} ms)`, async () => {
      for (const later of [GRACE_MS + 1, GRACE_MS + 999]) {
        const r = await reuseAfter(at, later);
        expect(r.error, `after ${later} ms`).toBe('invalid_grant');
        expect(r.outcomes).toEqual(['family_revoked']);
        expect(r.revoked).toBe(true);
      }
    });
  }
});
