// The service's own browser session (sign-in through nginx under /_auth/) keeps the access and
// refresh tokens in cookies and never an ID token: none is signed for it, at sign-in or refresh
// (an RS256 signature costs about a millisecond of CPU each).
import { describe, expect, it } from 'vitest';
import { e2eBrowser, SiteClient } from '../../harness/e2e-stack.ts';

const site = e2eBrowser();

describe('browser session through nginx', () => {
  it('signs access tokens only, at sign-in and at refresh', async () => {
    const keys = site.stack.service.app.context.keys;
    const signed: string[] = [];
    const sign = keys.sign.bind(keys);
    keys.sign = (payload, typ, alg) => { signed.push(typ); return sign(payload, typ, alg); };
    try {
      const browser = new SiteClient(site.stack.origin);
      const page = await browser.signIn('/reports?format=json', 'alice', 'alice-pw');
      expect(JSON.parse(page.text).user).toBe('alice');
      const refreshed = await browser.go('GET', '/_auth/refresh?rd=%2Freports%3Fformat%3Djson');
      expect(refreshed.status).toBe(303);
      expect(refreshed.location).toBe('/reports?format=json');
      expect(signed).toEqual(['at+jwt', 'at+jwt']);
    } finally {
      keys.sign = sign;
    }
  });
});
