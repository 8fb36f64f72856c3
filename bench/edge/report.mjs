// Markdown for bench/results/edge.md: the machine and command header, one table per
// runtime (medians over the rounds, ratios to the plain proxy baseline), why the
// missed targets are missed, the memory table.

import { whyMissedSection } from './why-missed.mjs';

export function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const int = (x) => Math.round(x).toLocaleString('en-US');
const ms = (x) => x.toFixed(2);
const signedMs = (x) => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(2);

/** Per variant: { name, what, na?, error?, rps, p50Ms, p99Ms, rounds } from the cells of one runtime. */
export function summarize(variants, cells, na, errors) {
  return variants.map((v) => {
    if (na[v.name]) return { name: v.name, what: v.what, group: v.group, na: na[v.name] };
    if (errors[v.name]) return { name: v.name, what: v.what, group: v.group, error: errors[v.name] };
    const mine = cells.filter((c) => c.variant === v.name);
    const bad = mine.find((c) => c.error);
    if (bad) return { name: v.name, what: v.what, group: v.group, error: `round ${bad.round + 1}: ${bad.error}` };
    if (mine.length === 0) return { name: v.name, what: v.what, group: v.group, error: 'not measured' };
    return {
      name: v.name, what: v.what, group: v.group, rounds: mine.length,
      rps: median(mine.map((c) => c.rps)),
      p50Ms: median(mine.map((c) => c.p50Ms)),
      p99Ms: median(mine.map((c) => c.p99Ms)),
      workerUs: median(mine.map((c) => c.workerUsPerRequest)),
      workerBusy: median(mine.map((c) => c.workerBusy)),
      rpsMin: Math.min(...mine.map((c) => c.rps)),
      rpsMax: Math.max(...mine.map((c) => c.rps)),
    };
  });
}

/** Name suffix of the rows run --baseline runs with another build's bundles, in their own nginx. */
export const BASELINE_SUFFIX = '-baseline';

/**
 * The baseline a row's costs are measured from: f-proxy for floor rows, a-proxy-baseline for
 * --baseline rows, a-proxy for the others.
 */
function baselineOf(rows, r) {
  const name = r.group === 'f' ? 'f-proxy' : r.name.endsWith(BASELINE_SUFFIX) ? `a-proxy${BASELINE_SUFFIX}` : 'a-proxy';
  return rows.find((x) => x.name === name && x.workerUs !== undefined);
}

/**
 * Adds to every measured row its added worker µs over its baseline (addedUs) and, for rows
 * held against a floor, the floor row (floorName), the floor's added µs (floorAddedUs) and
 * the multiple (xFloor = addedUs / floorAddedUs), plus its target kind.
 */
export function attachFloors(rows, variants) {
  const byName = new Map(variants.map((v) => [v.name, v]));
  for (const r of rows) {
    const v = byName.get(r.name);
    if (v && v.target) r.target = v.target(r.cache ?? '');
    if (v && v.alg) r.alg = v.alg;
    if (v && v.mode) r.mode = v.mode;
    const base = r.workerUs === undefined ? null : baselineOf(rows, r);
    if (base && r !== base) r.addedUs = r.workerUs - base.workerUs;
  }
  // Second pass: every floor row has its added µs now.
  for (const r of rows) {
    const v = byName.get(r.name);
    if (r.workerUs === undefined) continue;
    const floorName = v && v.floor ? v.floor(r.cache ?? '') : null;
    if (!floorName) continue;
    r.floorName = floorName;
    r.floorBasis = v.floorBasis ?? 'added';
    const f = rows.find((x) => x.name === floorName);
    if (!f || f.workerUs === undefined) { r.floorProblem = `${floorName} not measured`; continue; }
    const mine = r.floorBasis === 'total' ? r.workerUs : r.addedUs;
    const theirs = r.floorBasis === 'total' ? f.workerUs : f.addedUs;
    if (mine === undefined || theirs === undefined) { r.floorProblem = 'no baseline measured'; continue; }
    // Noise on a busy machine can put a cheap floor at or below its proxy: no multiple then.
    if (!(theirs > 0)) { r.floorProblem = `${floorName} added ${us(theirs)} µs`; continue; }
    r.floorUs = theirs;
    r.xFloor = mine / theirs;
  }
  return rows;
}

const us = (x) => (Math.abs(x) >= 100 ? Math.round(x).toString() : x.toFixed(1));

export function runtimeTable(rows) {
  const svc = rows.find((r) => r.group === 'c' && r.rps !== undefined);
  const out = ['| variant | requests/s | × proxy | p50 ms | p99 ms | added p99, ms | × (c) | worker µs/req (busy) | added µs | × floor (floor row) | cache |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |'];
  // Rows a runtime cannot run: one line per reason, after the measured rows.
  const na = {};
  for (const r of rows) if (r.na) (na[r.na] = na[r.na] ?? []).push(r.name);
  for (const r of rows) {
    if (r.na) continue;
    if (r.error) { out.push(`| ${r.name} | **error**: ${r.error.replace(/\|/g, '\\|').replace(/\n/g, ' ')} | | | | | | | | | ${r.cache ?? ''} |`); continue; }
    const base = baselineOf(rows, r);
    const ratio = base ? (r.rps / base.rps).toFixed(2) : 'n/a';
    const added = base ? signedMs(r.p99Ms - base.p99Ms) : 'n/a';
    const vsC = svc && r.group === 'b' ? (r.rps / svc.rps).toFixed(2) : '';
    const floor = r.xFloor !== undefined ? `${r.xFloor.toFixed(2)} (${r.floorName}${r.floorBasis === 'total' ? ', total µs' : ''})`
      : r.floorName ? `n/a (${r.floorProblem})` : '';
    out.push(`| ${r.name} | ${int(r.rps)} | ${ratio} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${r === base ? '' : added} | ${vsC} | ` +
      `${us(r.workerUs)} (${Math.round(r.workerBusy * 100)}%) | ${r.addedUs !== undefined ? us(r.addedUs) : ''} | ${floor} | ${r.cache ?? ''} |`);
  }
  for (const why of Object.keys(na)) out.push(`| ${na[why].join(', ')} | n/a: ${why} | | | | | | | | | |`);
  return out.join('\n');
}

// The targets: multiples of the floor (added worker µs over plain proxy, project ÷ floor),
// and requests/s ratios. Limits per target kind; full checks by algorithm.
const FULL_LIMIT = { HS256: 1.5, RS256: 1.25, ES256: 1.25, PS256: 1.25 };
const HIT_LIMIT = 1.5;
const REFUSAL_LIMIT = 1.5;
const HIT_VS_SERVICE = 3;
const HIT_VS_PROXY = { auth_request: 0.5, js_access: 0.6 };

/**
 * One line per target and mode for a runtime: the measured rows, the worst of them,
 * the limit, met or missed (with why, when nothing could be measured). The kinds
 * of the targets missed by a measured figure (why-missed.mjs) are added to
 * `missed` when given.
 */
export function targetLines(rt, rows, missed) {
  const out = [];
  const measured = rows.filter((r) => r.rps !== undefined);
  const modes = ['auth_request', 'js_access'].filter((m) => rows.some((r) => r.mode === m && !r.na));
  const svc = measured.find((r) => r.target === 'service');
  const proxy = measured.find((r) => r.name === 'a-proxy');
  const verdict = (ok) => (ok ? 'met' : '**missed**');
  const line = (kind, what, limit, picked, value, fmt, higherIsBetter, none) => {
    if (picked.length === 0) { out.push(`| ${what} | ${limit} | | **missed**: ${none} |`); return; }
    const values = picked.map((r) => [r, value(r)]).filter(([, x]) => x !== undefined);
    if (values.length === 0) {
      const why = picked.map((r) => `${r.name}: ${r.error ?? r.floorProblem ?? 'not measured'}`).join('; ');
      out.push(`| ${what} | ${limit} | | **missed**: no figure (${why.replace(/\|/g, '\\|').replace(/\n/g, ' ')}) |`);
      return;
    }
    values.sort((p, q) => (higherIsBetter ? p[1] - q[1] : q[1] - p[1]));
    const worst = values[0];
    const lim = Number(String(limit).replace(/[^0-9.]/g, ''));
    const ok = higherIsBetter ? worst[1] >= lim : worst[1] <= lim;
    if (!ok) missed?.add(kind);
    const all = values.map(([r, x]) => `${r.name} ${fmt(x)}`).join(', ');
    out.push(`| ${what} | ${limit} | ${all} | ${verdict(ok)} (worst ${fmt(worst[1])}) |`);
  };
  const x = (v) => `${v.toFixed(2)}×`;
  for (const mode of modes) {
    const mine = rows.filter((r) => r.mode === mode && !r.na);
    const hits = mine.filter((r) => r.target === 'hit');
    const noCache = 'no decision cache answered on this runtime (njs 0.7.x has no shared dict)';
    line('refusal', `garbage token → 401, ${mode}: worker µs ÷ floor's refusal`, `≤ ${REFUSAL_LIMIT}`, mine.filter((r) => r.target === 'refusal'),
      (r) => r.xFloor, x, false, 'no refusal row measured');
    line('hit', `cache hit, ${mode}: added µs ÷ floor hit`, `≤ ${HIT_LIMIT}`, hits, (r) => r.xFloor, x, false, noCache);
    line('hit-proxy', `cache hit, ${mode}: requests/s ÷ plain proxy`, `≥ ${HIT_VS_PROXY[mode]}`, proxy ? hits : [],
      (r) => (r.rps === undefined ? undefined : r.rps / proxy.rps), x, true, proxy ? noCache : 'a-proxy not measured');
    line('hit-service', `cache hit, ${mode}: requests/s ÷ auth_request → service (c)`, `≥ ${HIT_VS_SERVICE}`, svc ? hits : [],
      (r) => (r.rps === undefined ? undefined : r.rps / svc.rps), x, true, svc ? noCache : 'c-auth-request not measured in this run');
    for (const alg of Object.keys(FULL_LIMIT)) {
      line(`full-${alg}`, `full check ${alg}, ${mode}: added µs ÷ floor ${alg}`, `≤ ${FULL_LIMIT[alg]}`,
        mine.filter((r) => r.target === 'full' && r.alg === alg), (r) => r.xFloor, x, false, 'no full-check row measured');
    }
  }
  return ['| target | limit | rows | verdict |', '| --- | ---: | --- | --- |', ...out].join('\n');
}

export function memoryTable(rows) {
  const out = ['| runtime | variant | cache | requests | RSS at start, KiB | after the first 100k (at) | when the last 100k begin (at) | at the end | last 100k, KiB | first 100k → end, KiB |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
  const signed = (d) => `${d >= 0 ? '+' : '−'}${int(Math.abs(d))}`;
  for (const r of rows) {
    if (r.error) { out.push(`| ${r.runtime} | ${r.variant} | ${r.cache ?? ''} | **error**: ${r.error} | | | | | | |`); continue; }
    out.push(`| ${r.runtime} | ${r.variant} | ${r.cache ?? ''} | ${int(r.requests)} | ${int(r.startKiB)} | ${int(r.firstKiB)} (${int(r.firstAt)}) | ` +
      `${int(r.lastStartKiB)} (${int(r.lastStartAt)}) | ${int(r.endKiB)} | ${signed(r.endKiB - r.lastStartKiB)} | ${signed(r.endKiB - r.firstKiB)} |`);
  }
  return out.join('\n');
}

export function document(run, perRuntime, memoryRows, legend) {
  const lines = [
    '# Edge benchmark (in-nginx validation)',
    '',
    `Generated by \`bench/edge/run.mjs\`; overwritten by every run. JSON lines of every cell: \`bench/results/edge.jsonl\`. ` +
      'How to read it: docs/benchmarks.md.',
    '',
    `- command: \`${run.command}\``,
    `- date: ${run.date}`,
    `- code: ${run.code}; dist/njs/ljwt.js built ${run.bundleBuilt}`,
    `- machine: ${run.nproc} CPUs (\`nproc\`), ${run.cpu}, kernel ${run.kernel}, Node ${run.node}`,
    `- load average (1/5/15 min) at start: ${run.loadStart}, at end: ${run.loadEnd} (figures compare only on an otherwise idle machine)`,
    `- load: wrk ${run.wrk} \`-t${run.threads} -c${run.connections} -d${run.seconds}s\` on 127.0.0.1, ${run.warmup} s warm-up per cell ` +
      `(statuses checked), ${run.rounds} round(s) in alternating order, medians shown`,
    '- nginx under test: worker_processes 1, access_log off, keepalive to a static upstream (a separate host nginx, ' +
      'worker_processes 1, 200 "ok"); the floor (bench/edge/floor/floor.js) in a second nginx of the same runtime, measured in the same rounds; ' +
      '(c) goes to a separate service process (dist/service/main.js)',
    '- worker µs/req: run time of the nginx worker (/proc/<pid>/schedstat) ÷ requests it served (stub_status) during the measured part',
    '',
    '## Targets',
    '',
    'Added worker µs over plain proxy, the project\'s row ÷ its floor\'s (same algorithm, same mode, same run); ' +
      'requests/s ratios for the cache hit. A line lists every row it covers; the verdict is the worst of them.',
    '',
  ];
  const missed = new Set();
  for (const rt of perRuntime) {
    lines.push(`### ${rt.id}`, '');
    if (rt.error) lines.push(`**error**: ${rt.error}`, '');
    else lines.push(targetLines(rt, rt.rows, missed), '');
  }
  if (missed.size > 0) {
    lines.push('## Why the missed targets are missed', '',
      'As measured (bench/edge/why-missed.mjs; how: docs/benchmarks.md, *Where a request\'s time goes*):', '',
      whyMissedSection(missed), '');
  }
  for (const rt of perRuntime) {
    lines.push(`## ${rt.id}: nginx ${rt.versions.nginx}, njs ${rt.versions.njs} (libnginx-mod-http-js), engine ${rt.versions.engine}` +
      (rt.versions.shared ? ', with nginx/http-shared.conf' : ''), '');
    if (rt.error) lines.push(`**error**: ${rt.error}`, '');
    else lines.push(runtimeTable(rt.rows), '');
  }
  if (memoryRows.length > 0) {
    lines.push('## Memory', '', `Worker VmRSS of the nginx under test over ${int(run.memoryRequests ?? 0)} requests per row ` +
      '(counts from stub_status). Flat memory: the last 100k add nothing.', '', memoryTable(memoryRows), '');
  }
  lines.push('## Variants', '', ...legend.map((v) => `- \`${v.name}\`: ${v.what}`), '',
    '× proxy: requests/s relative to the plain proxy of the same nginx (`a-proxy`, or `f-proxy` for floor rows); ' +
    'added p99: p99 minus that proxy\'s p99; × (c): requests/s relative to `c-auth-request`; ' +
    'worker µs/req: run time of the nginx worker per request it served during the measured part, and the share of the wall time ' +
    'it was busy (near 100%: nginx was the limit; this figure moves least when other work shares the machine); ' +
    'added µs: worker µs/req minus that of the same nginx\'s plain proxy; × floor: added µs ÷ the added µs of the floor row named ' +
    '(a cache hit against `f-hit`, a full check against the floor of its algorithm), or for a refusal its total worker µs ÷ ' +
    'those of `f-garbage` ("total µs": a refusal never proxies); ' +
    'cache: `$ljwt_cache_status` of a repeated request before the load ' +
    '(HIT: the measured requests reuse a cached decision; OFF/MISS: every request verifies). A cell whose responses were not all the expected status ' +
    '(200, or 401 for d* and f-garbage) is shown as an error, never as a figure.', '');
  return lines.join('\n');
}
