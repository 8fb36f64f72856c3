// The pure core of revocation at the edge (njs/revocation/): push body
// validation, dict keys and timeouts, the shared secret. Runs in Node; the
// same module runs in nginx (test/integration/edge/revocation.test.ts).
import { describe, expect, it } from 'vitest';
import { coversUntil, entryTimeoutMs, isRevocationId, MAX_ENTRIES, MAX_LIFETIME_SECONDS, parseRevocationBody,
  revocationKeys } from '#njs/revocation/entries.ts';
import { bearerCredentials, secretFromFile, secretMatches } from '#njs/revocation/secret.ts';

const NOW = 1_800_000_000;

function codeOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    return (e as { code?: string }).code ?? 'plain';
  }
}

describe('revocationKeys', () => {
  it('gives sid: and jti: keys for string claims, in that order', () => {
    expect(revocationKeys({ sid: 'S', jti: 'J', sub: 'alice' })).toEqual(['sid:S', 'jti:J']);
    expect(revocationKeys({ jti: 'J' })).toEqual(['jti:J']);
    expect(revocationKeys({ sid: 'S' })).toEqual(['sid:S']);
  });
  it('ignores absent, empty and non-string claims', () => {
    expect(revocationKeys({})).toEqual([]);
    expect(revocationKeys({ sid: '', jti: 7 })).toEqual([]);
    expect(revocationKeys({ sid: ['S'], jti: { v: 'J' } })).toEqual([]);
    expect(revocationKeys({ sid: null, jti: true })).toEqual([]);
  });
});

describe('parseRevocationBody', () => {
  const ok = (entries: unknown[]) => parseRevocationBody(JSON.stringify({ revoke: entries }), NOW);

  it('returns the entries to store with their keys', () => {
    expect(ok([{ sid: 'a', until: NOW + 10 }, { jti: 'b', until: NOW + 20 }])).toEqual({
      entries: [{ key: 'sid:a', until: NOW + 10 }, { key: 'jti:b', until: NOW + 20 }], expired: 0 });
  });
  it('counts entries whose until has passed (until <= now) instead of storing them', () => {
    expect(ok([{ sid: 'a', until: NOW }, { sid: 'b', until: NOW - 100 }, { sid: 'c', until: NOW + 1 }])).toEqual({
      entries: [{ key: 'sid:c', until: NOW + 1 }], expired: 2 });
  });
  it('accepts the service\'s ids: base64url hash (sid) and UUID (jti), and the extremes', () => {
    const sid = 'q3FhZGN3ZXJ0eXVpb3BsYWtqZmhkZ3NhenhjdmJubW0';
    const jti = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(ok([{ sid, until: NOW + 1 }, { jti, until: NOW + MAX_LIFETIME_SECONDS }]).entries.length).toBe(2);
    expect(ok([{ jti: '!'.repeat(256), until: NOW + 1 }, { jti: '~', until: NOW + 1 }]).entries.length).toBe(2);
    expect(ok(Array.from({ length: MAX_ENTRIES }, (_v, i) => ({ sid: `s${i}`, until: NOW + 1 }))).entries.length).toBe(MAX_ENTRIES);
  });

  const bad: [string, string][] = [
    ['empty', ''],
    ['not JSON', '{"revoke":'],
    ['null', 'null'],
    ['array', '[]'],
    ['string', '"revoke"'],
    ['no revoke', '{}'],
    ['extra member', JSON.stringify({ revoke: [{ sid: 'a', until: NOW + 1 }], x: 1 })],
    ['revoke not an array', JSON.stringify({ revoke: { sid: 'a', until: NOW + 1 } })],
    ['empty list', JSON.stringify({ revoke: [] })],
    ['too many', JSON.stringify({ revoke: Array.from({ length: MAX_ENTRIES + 1 }, () => ({ sid: 'a', until: NOW + 1 })) })],
    ['entry null', JSON.stringify({ revoke: [null] })],
    ['entry array', JSON.stringify({ revoke: [['sid', 'a']] })],
    ['neither sid nor jti', JSON.stringify({ revoke: [{ until: NOW + 1 }] })],
    ['both', JSON.stringify({ revoke: [{ sid: 'a', jti: 'b', until: NOW + 1 }] })],
    ['unknown member', JSON.stringify({ revoke: [{ sid: 'a', until: NOW + 1, reason: 'x' }] })],
    ['sub instead of sid', JSON.stringify({ revoke: [{ sub: 'a', until: NOW + 1 }] })],
    ['no until', JSON.stringify({ revoke: [{ sid: 'a' }] })],
    ['until string', JSON.stringify({ revoke: [{ sid: 'a', until: String(NOW + 1) }] })],
    ['until fraction', JSON.stringify({ revoke: [{ sid: 'a', until: NOW + 0.5 }] })],
    ['until zero', JSON.stringify({ revoke: [{ sid: 'a', until: 0 }] })],
    ['until negative', JSON.stringify({ revoke: [{ sid: 'a', until: -1 }] })],
    ['until milliseconds', JSON.stringify({ revoke: [{ sid: 'a', until: (NOW + 60) * 1000 }] })],
    ['until too far', JSON.stringify({ revoke: [{ sid: 'a', until: NOW + MAX_LIFETIME_SECONDS + 1 }] })],
    ['until huge', '{"revoke":[{"sid":"a","until":1e400}]}'],
    ['empty id', JSON.stringify({ revoke: [{ sid: '', until: NOW + 1 }] })],
    ['id number', JSON.stringify({ revoke: [{ jti: 5, until: NOW + 1 }] })],
    ['id too long', JSON.stringify({ revoke: [{ jti: 'a'.repeat(257), until: NOW + 1 }] })],
    ['id with space', JSON.stringify({ revoke: [{ jti: 'a b', until: NOW + 1 }] })],
    ['id with final newline', JSON.stringify({ revoke: [{ jti: 'ab\n', until: NOW + 1 }] })],
    ['id with CR LF', JSON.stringify({ revoke: [{ jti: 'a\r\nb', until: NOW + 1 }] })],
    ['id non-ASCII', JSON.stringify({ revoke: [{ jti: 'caf\u00e9', until: NOW + 1 }] })],
    ['good then bad', JSON.stringify({ revoke: [{ sid: 'a', until: NOW + 1 }, { sid: 'b', until: 'later' }] })],
    ['over 64 KiB', JSON.stringify({ revoke: [{ sid: 'a', until: NOW + 1 }] }) + ' '.repeat(65536)],
  ];
  it.each(bad)('refuses %s with ERR_REVOCATION_INVALID', (_name, text) => {
    expect(codeOf(() => parseRevocationBody(text, NOW))).toBe('ERR_REVOCATION_INVALID');
  });
});

describe('isRevocationId', () => {
  it('admits 1-256 printable ASCII characters without space', () => {
    expect(isRevocationId('a')).toBe(true);
    expect(isRevocationId('x'.repeat(256))).toBe(true);
    for (const v of ['', 'x'.repeat(257), ' a', 'a\u0000', 'a\t', '\u007f', 1, null, undefined]) expect(isRevocationId(v)).toBe(false);
  });
});

describe('entryTimeoutMs', () => {
  it('is the time left until `until`, rounded up, at least 1 ms', () => {
    expect(entryTimeoutMs(NOW + 300, NOW * 1000)).toBe(300_000);
    expect(entryTimeoutMs(NOW + 1, NOW * 1000 + 999.2)).toBe(1);
    expect(entryTimeoutMs(NOW + 1, NOW * 1000 + 1.5)).toBe(999);
    expect(entryTimeoutMs(NOW, NOW * 1000 + 5000)).toBe(1);
  });
});

describe('coversUntil', () => {
  it('is true only for a stored decimal until at or after the new one', () => {
    expect(coversUntil(String(NOW + 10), NOW + 10)).toBe(true);
    expect(coversUntil(String(NOW + 11), NOW + 10)).toBe(true);
    expect(coversUntil(String(NOW + 9), NOW + 10)).toBe(false);
    for (const v of [undefined, null, '', '1', 'x', `${NOW + 20}\n`, ` ${NOW + 20}`, NOW + 20, '1e20']) {
      expect(coversUntil(v, NOW + 10), String(v)).toBe(false);
    }
  });
});

describe('revocation secret', () => {
  const S = 'A'.repeat(31) + 'z';
  it('reads 32-512 printable characters, a final newline removed', () => {
    expect(secretFromFile(`${S}\n`)).toBe(S);
    expect(secretFromFile(`${S}\r\n\n`)).toBe(S);
    expect(secretFromFile('~'.repeat(512))).toBe('~'.repeat(512));
  });
  it('refuses short, long, spaced or multi-line secrets as a configuration error', () => {
    for (const t of ['', '\n', S.slice(1), `${S} `, ` ${S}`, `${S}\nmore`, `a b${S}`, 'x'.repeat(513), `${S}\u00e9`]) {
      expect(codeOf(() => secretFromFile(t)), JSON.stringify(t)).toBe('ERR_CONFIG_INVALID');
    }
  });
  it('takes the credentials of a Bearer header only', () => {
    expect(bearerCredentials(`Bearer ${S}`)).toBe(S);
    expect(bearerCredentials(`bearer  ${S} `)).toBe(S);
    expect(bearerCredentials(`Basic ${S}`)).toBeNull();
    expect(bearerCredentials('Bearer ')).toBeNull();
    expect(bearerCredentials('Bearer')).toBeNull();
    expect(bearerCredentials(S)).toBeNull();
    expect(bearerCredentials(undefined)).toBeNull();
  });
  it('matches the exact secret only', () => {
    expect(secretMatches(S, S)).toBe(true);
    for (const p of ['', S.slice(0, -1), `${S}z`, `${S.slice(0, -1)}y`, `b${S.slice(1)}`, S.toLowerCase()]) {
      expect(secretMatches(p, S), p).toBe(false);
    }
    expect(secretMatches('', '')).toBe(false);
  });
});
