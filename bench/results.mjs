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
// Each RESULT and MEM row gets the machine-speed probes around it: `probe`
// (the last SPEED line before it) and `after` (the first one after it).
export function readResults(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out = { results: [], mems: [], speeds: [] };
  let last = null, open = [];
  for (const l of lines) {
    const kind = l.split(' ')[0];
    if (kind === 'SPEED') {
      last = kv(l);
      out.speeds.push(last);
      for (const r of open) r.after = last;
      open = [];
    } else if (kind === 'RESULT' || kind === 'MEM') {
      const r = { ...kv(l), probe: last };
      (kind === 'RESULT' ? out.results : out.mems).push(r);
      open.push(r);
    }
  }
  return out;
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

// The machine-speed record (SPEED lines): at the start, before each
// measurement and at the end, bench/run.sh times fork + exec of a program
// without libc (spawn_us), a fixed CPU loop (loop_ms) and one CPUID
// instruction (cpuid_ns, an exit to the hypervisor), and notes the load
// average (load1).  This machine runs in a fast and a slow phase
// (docs/benchmarks.md): a probe is slow when its spawn takes SLOW_PHASE ×
// the fast reference or more, or its CPUID 2 × the fast reference.  The
// reference is the run's fastest probe, or the machine's known fast
// phase if faster (BENCH_FAST_SPAWN_US, 90 µs; BENCH_FAST_CPUID_NS,
// 1000 ns: idle, fast phase), so a run that saw only the slow phase is
// still called slow.
export const SLOW_PHASE = 1.4;
export const FAST_SPAWN_US = Number(process.env.BENCH_FAST_SPAWN_US || 90);
export const FAST_CPUID_NS = Number(process.env.BENCH_FAST_CPUID_NS || 1000);
export function speedRecord(speeds) {
  const v = speeds.map((s) => s.spawn_us);
  if (!v.length) return { text: 'not recorded', slow: () => false, phase: () => 'unknown', both: false };
  const num = (k) => speeds.map((s) => s[k]).filter((x) => typeof x === 'number' && isFinite(x));
  const refSpawn = Math.min(FAST_SPAWN_US, ...v);
  const cpuids = num('cpuid_ns');
  const refCpuid = Math.min(FAST_CPUID_NS, ...cpuids);
  const slow = (s) => !!s && (s.spawn_us >= SLOW_PHASE * refSpawn ||
    (typeof s.cpuid_ns === 'number' && s.cpuid_ns >= 2 * refCpuid));
  // A measurement's phase: that of the probes before and after it, or
  // "changed" when they differ.
  const phase = (r) => {
    if (!r?.probe) return 'unknown';
    const a = slow(r.probe) ? 'slow' : 'fast';
    if (r.after && slow(r.after) !== (a === 'slow')) return 'changed';
    return a;
  };
  const f = (x, d = 1) => (isFinite(x) ? x.toFixed(d) : 'n/a');
  const range = (k, d, unit) => {
    const a = num(k);
    return a.length ? `${f(Math.min(...a), d)}–${f(Math.max(...a), d)}${unit ? ` ${unit}` : ''} (median ${f(median(a), d)})` : 'not recorded';
  };
  const nslow = speeds.filter(slow).length;
  return {
    slow, phase, both: nslow > 0 && nslow < speeds.length,
    text: `${speeds.length} probes (start, before each measurement, end): fork + exec of bench/nolibc ${range('spawn_us', 1, 'µs')}; ` +
      `fixed CPU loop ${range('loop_ms', 1, 'ms')}; one CPUID ${range('cpuid_ns', 0, 'ns')}; one page fault ${range('fault_ns', 0, 'ns')}; load average ${range('load1', 2, '')}. ` +
      `${nslow} of ${v.length} probes in the slow phase (spawn ≥ ${SLOW_PHASE} × ${f(refSpawn)} µs or CPUID ≥ 2 × ${f(refCpuid, 0)} ns); ` +
      `idle, in its fast phase, this machine takes about ${FAST_SPAWN_US} µs and ${FAST_CPUID_NS} ns` +
      (nslow && nslow < speeds.length ? '; **this run saw both phases**' : nslow ? '; **the whole run was in the slow phase**' : ''),
  };
}

// What bench/run.sh skipped (skipped.txt, one line each): a sentence.
export function skipped(file) {
  const t = file && existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return t ? t.split('\n').join('; ') : 'nothing';
}
