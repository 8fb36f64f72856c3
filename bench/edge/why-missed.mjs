// Why a target of the edge benchmark is missed, as measured: one entry per
// kind of target (report.mjs names a kind for every verdict). A run's
// bench/results/edge.md shows the entries of the targets it missed, and
// docs/benchmarks.md shows them all (a generated block,
// test/unit/docs/reference-tables.test.ts), so the two never disagree.
// Every figure names how it was measured (HOW below).

/** @type {{ kinds: string[], title: string, why: string[] }[]} */
export const WHY_MISSED = [
  {
    kinds: ['refusal'],
    title: 'Garbage token → 401',
    why: [
      'The floor answers 401 from its handler. The project answers through `error_page 401` to `@ljwt_unauthorized` ' +
        '(nginx/server.conf: the RFC 6750 challenge and JSON error, or the login redirect for a browser), and on the njs ' +
        'engine instantiates its refusal module (njs/nginx/refusal.ts) in the refused request\'s VM.',
      'Pair run, 2026-12-04, `d1-garbage`: 71–88 worker µs in all, the floor 23–29.',
    ],
  },
  {
    kinds: ['hit', 'hit-proxy'],
    title: 'Cache hit',
    why: [
      'The floor does one shared-dict lookup by the token. A project hit also reads the location\'s settings snapshot and ' +
        'compares it with the subrequest\'s, takes the token from the header or cookie, hashes settings and token ' +
        '(SHA-256: the key binds both and keeps no usable token in shared memory), decodes the entry, asks the ' +
        'revocation zone and writes up to five variables.',
      'That JavaScript costs 27–34 µs (njs 0.8.9, 1.0.2) and 21 µs (QuickJS) in a loop in the njs CLI, and about ' +
        'twice as much per request in nginx, where every request builds its objects anew.',
      '`perf` on the QuickJS worker (libqjs rebuilt with symbols and frame pointers) puts 45 % of a hit\'s worker time ' +
        'in libqjs: 17 % the bytecode interpreter itself, most of the rest creating and freeing the request\'s objects, ' +
        'their property shapes and atoms. No single function stands out.',
      'Pair run, 2026-12-04, `b-hs256-bearer`, `b-es256-bearer`: a hit adds 68–80 µs, the floor\'s 16–21 µs.',
    ],
  },
  {
    kinds: ['hit-service'],
    title: 'Cache hit ≥ 3 × (c)',
    why: [
      'Requests per second follow from the hit\'s worker µs (above). (c), nginx waiting on the auth service, is one ' +
        'Node process on the same two cores as nginx and wrk, so this ratio also moves with the machine: with the same ' +
        'hit code, trixie measured 3.16–3.20 × (c) in one run and 2.20–2.61 in the next.',
    ],
  },
  {
    kinds: ['full-HS256'],
    title: 'Full check, HS256',
    why: [
      'The floor verifies with a key imported from a constant, checks `exp` and sets one header.',
      'A project miss first runs the hit\'s steps up to the lookup. Then, on the njs engine, it instantiates the ' +
        'full-check module (35–40 µs per miss) and reads its parsed settings and the key file\'s parsed keys back from ' +
        'the shared zone: reading and hashing the file and decoding four keys take 45–60 µs in the njs CLI.',
      'It verifies strictly: canonical base64url, the allow-lists, the key import, the signature, the claims. That ' +
        'is 55–60 µs in the njs CLI around the 7 µs of crypto. Then it writes the identity (16–23 µs for three group ' +
        'DNs) and the outcome.',
      'On QuickJS, `perf` (as above) puts 61 % of a miss\'s worker time in libqjs: 25 % the interpreter, 37 % the ' +
        'code resumed after the key import\'s and the signature\'s promises. It had also found 15 % in the regex ' +
        'engine and 6 % in exceptions thrown inside `Buffer.byteLength`; both are gone (native round trips instead).',
      'Pair run, 2026-12-04, `b-hs256-bearer-nocache`: 239–335 µs added on trixie and testing, the floor 59–67 µs. ' +
        'Bookworm (`b-hs256-bearer`, no shared zone, settings and key file parsed per request): 439 µs, the floor 72 µs.',
    ],
  },
  {
    kinds: ['full-RS256', 'full-ES256', 'full-PS256'],
    title: 'Full check, RS256 / ES256 / PS256',
    why: [
      'The same fixed work as for HS256, on top of a signature check that itself costs the floor 155–390 µs, hence ' +
        'the lower ratios.',
      'Pair run, 2026-12-04, `b-es256-bearer-nocache`: 351–502 µs added, the floor 155–237 µs.',
    ],
  },
];

const HOW = 'A *pair run* is `node bench/edge/run.mjs --no-build --variants <rows> --baseline <other build> --rounds 3`: ' +
  'two builds side by side in one run, added worker µs over plain `proxy_pass`, medians. njs CLI figures come from one ' +
  'VM looping over a step (`njs`, and `njs -m -n QuickJS`): shares, not per-request costs. `perf` figures are shares of ' +
  'the nginx worker\'s time under load.';

/** The entries for `kinds` (a Set of target kinds), or all entries when null, as markdown. */
export function whyMissedSection(kinds) {
  const entries = WHY_MISSED.filter((e) => kinds === null || e.kinds.some((k) => kinds.has(k)));
  return [HOW, ...entries.map((e) => [`**${e.title}.**`, '', ...e.why.map((w) => `- ${w}`)].join('\n'))].join('\n\n');
}
