// SPDX-License-Identifier: ISC
// Reading build/bench/results.txt, for bench/report.mjs and
// bench/compare.mjs.  Each line is KIND key=value...: RESULT (a figure of
// one run, from wsload or guess.mjs), MEM (one step of the memory
// figure), SPEED (the machine-speed record, bench/run.sh).  Numbers are
// numbers; a line's tag srv=... fig=... run=... says what it measured.
import { existsSync, readFileSync } from 'node:fs';

export function kv(line) {
  const o = {};
  for (const m of line.matchAll(/(\w+)=(\S+)/g)) o[m[1]] = isNaN(+m[2]) ? m[2] : +m[2];
  return o;
}

// { results, mems, speeds }: the RESULT, MEM and SPEED lines of a file.
export function readResults(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const of = (kind) => lines.filter((l) => l.startsWith(`${kind} `)).map(kv);
  return { results: of('RESULT'), mems: of('MEM'), speeds: of('SPEED') };
}

// The median of the finite numbers in a, NaN if there are none.
export const median = (a) => {
  const v = a.filter((x) => typeof x === 'number' && isFinite(x)).sort((x, y) => x - y);
  if (!v.length) return NaN;
  const i = v.length >> 1;
  return v.length % 2 ? v[i] : (v[i - 1] + v[i]) / 2;
};

// The rows of `rows` whose fields equal all of filter's.
export const select = (rows, filter) => rows.filter((r) => Object.entries(filter).every(([k, v]) => r[k] === v));

// Memory per idle connection of server srv, one entry per run: at the
// largest step, (server total at N - at 0) / N KiB PSS, and its parts:
// the server process's growth (main) and the per-connection processes
// (kids).
export function memPerRun(mems, srv) {
  const byRun = {};
  for (const m of mems.filter((m) => m.srv === srv && m.fig === 'mem')) (byRun[m.run] ||= []).push(m);
  const per = [];
  for (const [run, ms] of Object.entries(byRun)) {
    const z = ms.find((m) => m.conns === 0);
    const top = ms.reduce((a, b) => (b.conns > a.conns ? b : a));
    if (z && top.conns > 0) per.push({ run: +run, per: (top.total_pss_kib - z.total_pss_kib) / top.conns, n: top.conns,
      main: (top.main_pss_kib - z.main_pss_kib) / top.conns, kids: top.kids_pss_kib / top.conns });
  }
  return per;
}

// Per-run ratios a / b of key among the rows matching filter: the two
// servers of a run are measured back to back, so a change in the
// machine's speed between runs cancels out of each ratio.
export function perRun(rows, filter, key, a, b) {
  const r = [];
  for (const x of select(rows, { ...filter, srv: a })) {
    const y = select(rows, { ...filter, srv: b }).find((z) => z.run === x.run);
    if (y && y[key] > 0) r.push(x[key] / y[key]);
  }
  return r;
}

// Other processes' CPU during the run, from the ps samples bench/run.sh
// takes every 20 s (otherload.txt): a sentence.
export function otherLoad(file) {
  if (!existsSync(file)) return 'not sampled';
  const busy = {};
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    const [, pcpu, comm] = l.trim().split(/\s+/);
    // ps truncates names to 15 characters: systemd-socket-, switchboard-hub
    if (/^(switchboard-h|systemd-socket-)/.test(comm || '')) continue;
    if (+pcpu >= 20) busy[comm] = Math.max(busy[comm] || 0, +pcpu);
  }
  const names = Object.entries(busy).sort((a, b) => b[1] - a[1]);
  return names.length ? `**busy**: ${names.slice(0, 8).map(([c, p]) => `${c} (${p} %)`).join(', ')}${names.length > 8 ? ', …' : ''} — figures are skewed` :
    'idle (no other process above 20 % of a core in any 20 s sample)';
}

// The machine-speed record (SPEED lines): before each measurement
// bench/run.sh times fork + exec of a program without libc.  This machine
// runs in a fast and a slow phase (docs/benchmarks.md); a probe at
// SLOW_PHASE × the run's fastest or more fell in the slow phase.  Idle,
// in its fast phase, the probe took about 90 µs.
export const SLOW_PHASE = 1.4;
export function speedRecord(speeds) {
  const v = speeds.map((s) => s.spawn_us);
  if (!v.length) return { text: 'not recorded', slow: () => false };
  const fastest = Math.min(...v);
  const slow = (s) => s.spawn_us >= SLOW_PHASE * fastest;
  const f = (x) => x.toFixed(1);
  return {
    slow,
    text: `fork + exec of bench/nolibc before each measurement: fastest ${f(fastest)} µs, median ${f(median(v))}, ` +
      `slowest ${f(Math.max(...v))}; ${speeds.filter(slow).length} of ${v.length} probes in the slow phase ` +
      `(≥ ${SLOW_PHASE} × the fastest); on this machine idle, in its fast phase, about 90 µs`,
  };
}

// What bench/run.sh skipped (skipped.txt, one line each): a sentence.
export function skipped(file) {
  const t = file && existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return t ? t.split('\n').join('; ') : 'nothing';
}
