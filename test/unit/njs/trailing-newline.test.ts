import { describe, expect, it } from 'vitest';
import { NEWLINE_CASES, SUFFIXES } from './trailing-newline-cases.ts';

// The same cases run on njs 0.7.9, njs 1.0 and QuickJS in cross-runtime.test.ts.
describe('a trailing "\\n" or "\\r\\n" never passes a whole-string check', () => {
  it.each(NEWLINE_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(c.run('')).toEqual(c.plain);
    for (const s of SUFFIXES) expect(c.run(s), JSON.stringify(s)).toEqual(c.suffixed);
  });
});
