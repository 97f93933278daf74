// SPDX-License-Identifier: ISC
// bench/compare.mjs RESULTS CURRENT BASE [SKIPPED]: make bench BENCH_BASE=...
// Switchboard of this tree (srv=sb) against the base commit's (srv=base),
// measured in the same run, each pair back to back (bench/run.sh).
// Prints, for churn, relay round trips, memory per idle connection and
// broadcast, the base's and the current figure (medians over the runs)
// and the median of the per-pair ratios current / base with their range;
// then the machine-speed record and what was skipped.  The verdict per
// figure is "no worse" when the median ratio is within BENCH_TOLERANCE
// (0.05: 5 %) of 1 in the bad direction or better; the exit status is 0
// either way (this is a measurement, not a test).
import path from 'node:path';
import { readResults, median, select, memPerRun, perRun, otherLoad, speedRecord, skipped } from './results.mjs';

const [resFile, current = 'current', base = 'base', skippedFile] = process.argv.slice(2);
const tol = Number(process.env.BENCH_TOLERANCE ?? 0.05);
const { results, mems, speeds } = readResults(resFile);
const fmt = (x, d = 0) => (isFinite(x) ? x.toFixed(d) : 'n/a');

// ---- the machine-speed record (results.mjs) ----
// A pair whose two probes differ by 1.3 × or more changed phase between
// its halves: its ratio says more about the machine than about the
// code, so the "steady" ratio leaves it out.
const speed = speedRecord(speeds);
// The probes of a figure (fig, and n for bcast and tput) in a run.
const probe = (filter, srv, run) => select(speeds, { ...filter, srv, run })[0];
// Memory does not depend on the machine's speed: every mem pair is steady.
function steady(filter, run) {
  if (filter.fig === 'mem') return true;
  const a = probe(filter, 'sb', run), b = probe(filter, 'base', run);
  if (!a || !b) return true;
  const r = a.spawn_us / b.spawn_us;
  return r < 1.3 && r > 1 / 1.3;
}

// rows: RESULT lines, or per-run memory entries tagged like them
const memRows = ['sb', 'base'].flatMap((srv) => memPerRun(mems, srv).map((m) => ({ ...m, srv, fig: 'mem' })));
const figures = [
  // [label, rows, filter, key, better: +1 higher, -1 lower, decimals]
  ['churn, conn/s', results, { fig: 'churn' }, 'conn_per_s', +1, 0],
  ['churn, handshake p99, µs', results, { fig: 'churn' }, 'hs_p99_us', -1, 0],
  ['relay round trip p50, µs', results, { fig: 'rtt' }, 'rtt_p50_us', -1, 1],
  ['relay round trip p99, µs', results, { fig: 'rtt' }, 'rtt_p99_us', -1, 1],
  ['memory per idle connection, KiB PSS', memRows, { fig: 'mem' }, 'per', -1, 1],
];
for (const n of [...new Set(select(results, { fig: 'bcast' }).map((r) => r.n))].sort((x, y) => x - y)) {
  figures.push([`broadcast N=${n}, p95, µs`, results, { fig: 'bcast', n }, 'lat_p95_us', -1, 0]);
  figures.push([`throughput N=${n}, deliveries/s`, results, { fig: 'tput', n }, 'deliveries_per_s', +1, 0]);
}
for (const rate of [...new Set(select(results, { fig: 'rate' }).map((r) => r.rate))].sort((x, y) => x - y))
  figures.push([`broadcast at ${rate} msg/s (fig=rate), p95, µs`, results, { fig: 'rate', rate }, 'lat_p95_us', -1, 0]);
// Wake-ups and CPU per delivery (wsload's counts) of the broadcast.
for (const n of [...new Set(select(results, { fig: 'bcast' }).map((r) => r.n))].sort((x, y) => x - y)) {
  figures.push([`broadcast N=${n}, handler wake-ups per delivery`, results, { fig: 'bcast', n }, 'wakeups_per_dlv', -1, 3]);
  figures.push([`throughput N=${n}, hub CPU µs per delivery`, results, { fig: 'tput', n }, 'hub_cpu_us_per_dlv', -1, 2]);
  figures.push([`throughput N=${n}, handler CPU µs per delivery`, results, { fig: 'tput', n }, 'kids_cpu_us_per_dlv', -1, 2]);
  figures.push([`throughput N=${n}, the machine's CPU µs per delivery (/proc/stat, less wsload's)`, results, { fig: 'tput', n }, 'machine_cpu_us_per_dlv', -1, 2]);
}
// The echo round trip (Switchboard's /echo, the handler alone) as
// sbecho / baseecho: compared on its own rows.
const echoRows = results.filter((r) => r.fig === 'rtt' && /echo$/.test(r.srv))
  .map((r) => ({ ...r, srv: r.srv.replace(/echo$/, '') }));
figures.push(['echo round trip p50 (handler alone), µs', echoRows, { fig: 'rtt' }, 'rtt_p50_us', -1, 1]);

const out = [];
const row = (c) => out.push(`| ${c.join(' | ')} |`);
out.push(`Switchboard ${current} (current) against ${base} (base), measured in one run, each pair back to back.`);
out.push('');
row(['figure', 'base', 'current', 'current / base: median of pairs (range, pairs)', 'steady pairs only', 'verdict']);
row(['---', '---:', '---:', '---', '---', '---']);
for (const [label, rows, filter, key, better, d] of figures) {
  const med = (srv) => median(select(rows, { ...filter, srv }).map((r) => r[key]));
  const all = perRun(rows, filter, key, 'sb', 'base');
  if (!all.length) continue;
  const st = select(rows, { ...filter, srv: 'sb' })
    .filter((x) => steady(filter, x.run))
    .map((x) => perRun(rows, { ...filter, run: x.run }, key, 'sb', 'base')[0])
    .filter((x) => x !== undefined);
  const m = st.length >= 3 ? median(st) : median(all);
  const worse = better > 0 ? m < 1 - tol : m > 1 + tol;
  row([label, fmt(med('base'), d), fmt(med('sb'), d),
    `${fmt(median(all), 3)} (${fmt(Math.min(...all), 3)}–${fmt(Math.max(...all), 3)}, ${all.length})`,
    st.length === all.length ? 'all steady' : st.length ? `${fmt(median(st), 3)} (${st.length})` : 'none steady',
    (worse ? `**worse** by ${fmt(Math.abs(m - 1) * 100, 1)} %` : 'no worse') +
      (st.length < 3 ? ` (unsure: ${st.length} steady pairs; run again)` : '')]);
}
out.push('');
const pairKey = (s) => `${s.fig}${s.n ? ` N=${s.n}` : ''} run ${s.run}`;
const pairs = [...new Map(speeds.map((s) => [pairKey(s), s])).values()];
const changed = pairs.filter((s) => !steady(s.n ? { fig: s.fig, n: s.n } : { fig: s.fig }, s.run)).map(pairKey);
out.push(`Machine speed: ${speed.text}; ${changed.length} of ${pairs.length} pairs changed phase between their halves` +
  `${changed.length ? ` (${changed.join(', ')})` : ''}.`);
out.push(`Other load on the machine during the run: ${otherLoad(path.join(path.dirname(resFile), 'otherload.txt'))}.`);
out.push(`Skipped: ${skipped(skippedFile)}.`);
out.push(`Verdict: "no worse" is a median ratio within ${fmt(tol * 100, 0)} % of 1 (BENCH_TOLERANCE), ` +
  'over the steady pairs when there are three or more; with fewer it is unsure, and a quieter machine or ' +
  'more runs (BENCH_RUNS) will tell.');
console.log(out.join('\n'));
