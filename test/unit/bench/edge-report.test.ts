// bench/results/edge.md names why each missed target is missed: report.mjs
// tells which kinds of target a run missed, why-missed.mjs holds the measured
// reason for each kind.
import { describe, expect, it } from 'vitest';
import { targetLines } from '../../../bench/edge/report.mjs';
import { WHY_MISSED, whyMissedSection } from '../../../bench/edge/why-missed.mjs';

const FULL = ['HS256', 'RS256', 'ES256', 'PS256'];

function rows(xFloor: number, rpsRatio: number): unknown[] {
  const out: unknown[] = [
    { name: 'a-proxy', mode: 'auth_request', rps: 40000 },
    { name: 'c-auth-request', target: 'service', mode: 'auth_request', rps: 10000 },
    { name: 'd1-garbage', target: 'refusal', mode: 'auth_request', rps: 20000, xFloor },
    { name: 'b-hs256-bearer', target: 'hit', mode: 'auth_request', rps: 40000 * rpsRatio, xFloor },
  ];
  for (const alg of FULL) out.push({ name: `b-${alg.toLowerCase()}-bearer-nocache`, target: 'full', alg, mode: 'auth_request', rps: 3000, xFloor });
  return out;
}

describe('the edge report', () => {
  it('collects the kind of every target a measured figure misses', () => {
    const missed = new Set<string>();
    targetLines({}, rows(4, 0.2), missed);
    expect([...missed].sort()).toEqual(['full-ES256', 'full-HS256', 'full-PS256', 'full-RS256', 'hit', 'hit-proxy', 'hit-service', 'refusal']);
  });

  it('collects nothing for targets that are met or have no figure', () => {
    const missed = new Set<string>();
    targetLines({}, rows(1.1, 0.9), missed);
    expect([...missed]).toEqual([]);
    targetLines({}, [{ name: 'a-proxy', mode: 'auth_request', rps: 1 }, { name: 'x', target: 'hit', mode: 'auth_request' }], missed);
    expect([...missed]).toEqual([]);
  });

  it('has a measured reason for every kind of target it can miss', () => {
    const missed = new Set<string>();
    targetLines({}, rows(4, 0.2), missed);
    const explained = new Set(WHY_MISSED.flatMap((e) => e.kinds));
    for (const kind of missed) expect(explained.has(kind), kind).toBe(true);
    for (const e of WHY_MISSED) expect(e.why.length, e.title).toBeGreaterThan(0);
  });

  it('shows only the reasons of the kinds missed', () => {
    const text = whyMissedSection(new Set(['refusal']));
    expect(text).toContain('Garbage token');
    expect(text).not.toContain('Cache hit');
    expect(whyMissedSection(null).split('**').length - 1).toBe(2 * WHY_MISSED.length);
  });
});
