// SPDX-License-Identifier: ISC
// The report's section on Switchboard under a real systemd as PID 1
// (bench/systemd.sh; issue 18, "churn and memory as deployed"): churn and
// handshake latency, memory per idle connection with the kernel's share,
// what each hardening setting of switchboard@.service costs per spawn,
// and the broadcast with handlers as units.
//
//   import { systemdSection } from './sdreport.mjs'     (bench/report.mjs)
//   node bench/sdreport.mjs RESULTS [--into FILE]
//       the section alone from RESULTS (build/bench/results.txt of a
//       `make bench BENCH_FIGS=systemd` run), printed, or put into FILE
//       (docs/benchmarks.md) in place of the section between its markers
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readResults, median, select, speedRecord } from './results.mjs';

export const BEGIN = '<!-- bench/systemd.sh: begin -->';
export const END = '<!-- bench/systemd.sh: end -->';

const fmt = (x, d = 0) => (isFinite(x) ? x.toFixed(d) : 'n/a');
const row = (cells) => `| ${cells.join(' | ')} |`;
const head = (...cells) => [row(cells), row(cells.map((c, i) => (i ? '---:' : '---')))];
const range = (a, d = 2) => (a.length > 1 ? ` (${fmt(Math.min(...a), d)}–${fmt(Math.max(...a), d)})` : '');
const ms = (us, d = 1) => fmt(us / 1000, d);

const SERVERS = [
  ['sd', 'Switchboard as shipped: switchboard.socket, a switchboard@.service unit per connection'],
  ['sah', 'one spawner (systemd-socket-activate, Accept=no) with the unit\'s sandbox, set up once and inherited'],
  ['sa', 'systemd-socket-activate as a plain service (the other figures\' spawner)'],
  ['wsd', 'websocketd.service, its echo child per connection'],
];

// The probes of some rows: "spawn 312–420 µs, load 2.1–5.3 (slow)".
function probes(rows, SP) {
  const p = rows.map((r) => r.probe).filter(Boolean);
  if (!p.length) return 'no probe';
  const rg = (k, d) => {
    const v = p.map((x) => x[k]).filter((x) => typeof x === 'number');
    return v.length ? (Math.min(...v) === Math.max(...v) ? fmt(v[0], d) : `${fmt(Math.min(...v), d)}–${fmt(Math.max(...v), d)}`) : 'n/a';
  };
  const ph = [...new Set(rows.map((r) => SP.phase(r)))].join('/');
  return `spawn ${rg('spawn_us', 0)} µs, load ${rg('load1', 1)} (${ph})`;
}

// Per-run ratios a / b of key among rows matching filter (the same run,
// measured back to back).
function pairs(results, filter, key, a, b) {
  const r = [];
  for (const x of select(results, { ...filter, srv: a })) {
    const y = select(results, { ...filter, srv: b }).find((z) => z.run === x.run);
    if (y && y[key] > 0 && typeof x[key] === 'number') r.push(x[key] / y[key]);
  }
  return r;
}

// --- churn -------------------------------------------------------------------

function churnTable(results, SP) {
  const out = head('server', 'conn/s', 'handshake p50 / p95 / p99, ms', 'CPU per connection, ms: all (PID 1 + spawned + hub + journald); kworkers',
    'conn/s / websocketd, per pair', 'CPU / websocketd, per pair', 'probes');
  for (const [srv, label] of SERVERS) {
    const rs = select(results, { fig: 'sdchurn', srv });
    if (!rs.length) continue;
    const m = (k) => median(rs.map((r) => r[k]));
    const cr = srv === 'wsd' ? [] : pairs(results, { fig: 'sdchurn' }, 'conn_per_s', srv, 'wsd');
    const cc = srv === 'wsd' ? [] : pairs(results, { fig: 'sdchurn' }, 'cpu_us_per_conn', srv, 'wsd');
    out.push(row([`${srv}: ${label}`, fmt(m('conn_per_s'), 1),
      `${ms(m('hs_p50_us'))} / ${ms(m('hs_p95_us'))} / ${ms(m('hs_p99_us'))}`,
      `${ms(m('cpu_us_per_conn'), 2)} (${['pid1_cpu', 'handlers_cpu', 'hub_cpu', 'journald_cpu'].map((k) => ms(m(`${k}_us_per_conn`), 2)).join(' + ')}); ${ms(m('kworker_cpu_us_per_conn'), 2)}`,
      cr.length ? `${fmt(median(cr), 3)} ×${range(cr, 3)}` : '', cc.length ? `${fmt(median(cc), 2)} ×${range(cc)}` : '',
      probes(rs, SP)]));
  }
  return out.join('\n');
}

// --- memory --------------------------------------------------------------------

const KERNEL = ['kernelstack', 'pagetables', 'sunreclaim', 'percpu'];
const PARTS = ['handlers', 'hub', 'pid1', 'journald'];
const HEAPS = ['pid1', 'journald'];

// Per run of server srv (MEM rows of fig): per connection at the largest
// step, KiB: each part's PSS, the kernel's fields, their sums; and what
// the kernel gave back once the connections were closed (closed=1).
function memRuns(mems, filter) {
  const byRun = {};
  for (const m of select(mems, filter)) (byRun[m.run] ||= []).push(m);
  const out = [];
  for (const ms_ of Object.values(byRun)) {
    const z = ms_.find((m) => m.conns === 0 && !m.closed);
    const top = ms_.filter((m) => !m.closed).reduce((a, b) => (b.conns > a.conns ? b : a));
    const c = ms_.find((m) => m.closed);
    if (!z || !(top.conns > 0)) continue;
    const n = top.conns;
    const d = (k, a = top, b = z) => ((a[k] ?? NaN) - (b[k] ?? NaN)) / n;
    const r = { n, rows: [z, top], pss: d('total_pss_kib') };
    for (const p of PARTS) r[p] = d(`${p}_pss_kib`);
    // What PID 1 and journald hold per live connection: their heap in use
    // (malloc), at N less at 0; and what they still held once every
    // connection had closed (a leak, or a cache, per connection).
    for (const p of HEAPS) {
      r[`${p}_heap`] = d(`${p}_heap_kib`);
      r[`${p}_kept`] = c ? d(`${p}_heap_kib`, c) : NaN;
    }
    // wsd has no hub and no journald; a line without the heap (gdb
    // missing, or older) has no sum.
    const or0 = (x) => (Number.isNaN(x) ? 0 : x);
    r.held = r.handlers + or0(r.hub) + r.pid1_heap + or0(r.journald_heap);
    for (const k of KERNEL) r[k] = d(`${k}_kib`);
    r.kernel = KERNEL.reduce((s, k) => s + r[k], 0);
    r.back = c ? KERNEL.reduce((s, k) => s + d(`${k}_kib`, top, c), 0) : NaN;
    r.avail = -d('memavailable_kib');
    out.push(r);
  }
  return out;
}

function memTable(mems, SP, fig, rowsOf) {
  const out = head('server', 'N', 'PSS per connection, KiB: all (own processes + hub + PID 1 + journald)',
    'kernel per connection, KiB: KernelStack + PageTables + SUnreclaim + Percpu', 'kernel given back per connection on close, KiB',
    'MemAvailable fell by, KiB per connection', 'PSS + kernel, KiB',
    'heap in use per live connection, KiB: PID 1 + journald (still held after close)',
    'held per live connection, KiB: own + hub PSS + PID 1 and journald heap', 'probes');
  for (const [label, filter] of rowsOf) {
    const runs = memRuns(mems, filter);
    if (!runs.length) continue;
    const m = (k) => median(runs.map((r) => r[k]));
    const per = (k) => runs.map((r) => r[k]);
    out.push(row([label, runs[0].n,
      `${fmt(m('pss'), 1)}${range(per('pss'), 1)} (${PARTS.map((p) => fmt(m(p), 1)).join(' + ')})`,
      `${fmt(m('kernel'), 1)}${range(per('kernel'), 1)} (${KERNEL.map((k) => fmt(m(k), 1)).join(' + ')})`,
      fmt(m('back'), 1), fmt(m('avail'), 1), fmt(m('pss') + m('kernel'), 1),
      `${HEAPS.map((p) => fmt(m(`${p}_heap`), 1)).join(' + ')} (${HEAPS.map((p) => fmt(m(`${p}_kept`), 1)).join(' + ')})`,
      `${fmt(m('held'), 1)}${range(per('held'), 1)}`,
      probes(runs.flatMap((r) => r.rows), SP)]));
  }
  return out.join('\n');
}

// --- what each setting costs ---------------------------------------------------

function ablation(results) {
  const vs = [...new Set(select(results, { fig: 'sdablate' }).map((r) => r.variant))];
  const out = [];
  for (const v of vs) {
    const f = { fig: 'sdablate', variant: v };
    const sd = select(results, { ...f, srv: 'sd' }), va = select(results, { ...f, srv: 'var' });
    const saved = [];
    for (const x of sd) {
      const y = va.find((z) => z.run === x.run);
      if (y) saved.push(x.cpu_us_per_conn - y.cpu_us_per_conn);
    }
    out.push({
      v, keys: va[0]?.keys, exposure: va[0]?.exposure, base: va[0]?.base_exposure, saved,
      cpu: [median(sd.map((r) => r.cpu_us_per_conn)), median(va.map((r) => r.cpu_us_per_conn))],
      pid1: [median(sd.map((r) => r.pid1_cpu_us_per_conn)), median(va.map((r) => r.pid1_cpu_us_per_conn))],
      kw: [median(sd.map((r) => r.kworker_cpu_us_per_conn)), median(va.map((r) => r.kworker_cpu_us_per_conn))],
      rate: pairs(results, f, 'conn_per_s', 'var', 'sd'), cpuRatio: pairs(results, f, 'cpu_us_per_conn', 'var', 'sd'),
      p95: pairs(results, f, 'hs_p95_us', 'var', 'sd'), rows: [...sd, ...va],
    });
  }
  return out.sort((a, b) => median(b.saved) - median(a.saved));
}

// A setting "wins" when leaving it out saved CPU in every pair, and at
// least 2 % of the shipped unit's CPU per connection by the median.
const wins = (a) => a.saved.length > 1 && a.saved.every((s) => s > 0) && median(a.saved) >= 0.02 * a.cpu[0];

function ablationTable(A, SP, groups) {
  const out = head('without', 'exposure (shipped)', 'CPU per connection, ms: shipped → without (PID 1 of it)',
    'saved per spawn, ms, per pair', 'CPU without / shipped, per pair', 'conn/s without / shipped, per pair',
    'handshake p95 without / shipped', 'kworkers per connection, ms: shipped → without', 'probes');
  for (const a of A) {
    out.push(row([(isSet(a, groups) ? `**${a.v}** (${groups.has(a.v) ? 'group' : 'set'})` : a.v) + (wins(a) ? ' ✓' : ''), `${fmt(a.exposure, 1)} (${fmt(a.base, 1)})`,
      `${ms(a.cpu[0], 2)} (${ms(a.pid1[0], 2)}) → ${ms(a.cpu[1], 2)} (${ms(a.pid1[1], 2)})`,
      `${ms(median(a.saved), 2)}${a.saved.length > 1 ? ` (${a.saved.map((s) => ms(s, 2)).join(', ')})` : ''}`,
      `${fmt(median(a.cpuRatio), 3)}${range(a.cpuRatio, 3)}`, `${fmt(median(a.rate), 3)}${range(a.rate, 3)}`,
      fmt(median(a.p95), 2), `${ms(a.kw[0], 2)} → ${ms(a.kw[1], 2)}`, probes(a.rows, SP)]));
  }
  return out.join('\n');
}

// A variant that removes more than one setting: a group of
// bench/systemd.sh, or a set of SD_EXTRA_VARIANTS (by its keys= field;
// without one, by its name: a set is named in lower case, a setting is a
// unit file key, ProtectProc).
// The settings a variant removes, from its keys= field (SystemCallErrorNumber
// goes with SystemCallFilter and means nothing alone).
const settingsOf = (a) => (a.keys || '').split(',').filter((k) => k && k !== 'SystemCallErrorNumber');
const isSet = (a, groups) => {
  if (groups.has(a.v)) return true;
  const keys = settingsOf(a);
  return keys.length ? keys.length > 1 : /^[a-z]/.test(a.v);
};

// The sets measured as a whole that keep the exposure ≤ 1.0 and won,
// most CPU saved first: the answer to "the set that keeps systemd-analyze
// security ≤ 1.0 at the least cost", among those tried.
function measuredSets(A, groups) {
  return A.filter((a) => isSet(a, groups) && !groups.has(a.v) && wins(a) && a.exposure <= 1.0)
    .sort((a, b) => median(b.saved) - median(a.saved));
}

// The single settings that win, greedily by CPU saved per point of
// exposure, while the shipped exposure plus their rises stays ≤ 1.0: a
// candidate set to measure as a whole (exposure is not quite additive).
function candidate(A, groups) {
  const single = A.filter((a) => !isSet(a, groups) && wins(a) && isFinite(a.exposure));
  if (!single.length) return null;
  const base = single[0].base;
  const rise = (a) => Math.max(0, a.exposure - a.base);
  single.sort((a, b) => median(b.saved) / (rise(b) + 0.01) - median(a.saved) / (rise(a) + 0.01));
  let exp = base;
  const take = [];
  for (const a of single)
    if (exp + rise(a) <= 1.0) {
      exp += rise(a);
      take.push(a);
    }
  return { take, exp, saved: take.reduce((s, a) => s + median(a.saved), 0) };
}

// --- broadcast -------------------------------------------------------------------

const BSERVERS = [
  ['sd', 'handlers as units (switchboard.socket), no cpu controller', 'sa'],
  ['sdcg', 'the same, the hub in a cpu group of its own, equal to all the handlers\' (v1 emulation)', 'sd'],
  ['sdg', 'units, every handler in one v1 cpu group (as a slice under the cpu controller whose units are not), the hub where it was', 'sd'],
  ['sa', 'handlers under systemd-socket-activate, the same hub', 'sd'],
  ['sass', 'sa, each handler in a session of its own (setsid, as a unit\'s): with autogroups, a scheduler group of its own', 'sa'],
  ['sacg', 'sa, each handler in a cgroup of its own (as a unit\'s, without controllers)', 'sa'],
  ['saf', 'sa, the handler run with the unit\'s --syslog --sandbox', 'sa'],
  ['sah', 'one spawner with the unit\'s sandbox, set up once and inherited (Accept=no)', 'sa'],
  ['var', 'a variant of the unit (SD_BCAST_VARIANT)', 'sd'],
];

function bcastTable(results, SP) {
  const out = head('server', 'N', 'delivered / expected (lost)', 'p50 / p95 / p99, ms', 'hub / handlers CPU µs per delivery',
    'handler wake-ups per delivery', 'ramp, s', 'p95 / the row named, per pair', 'probes');
  for (const [srv, label, other] of BSERVERS) {
    const rs = select(results, { fig: 'sdbcast', srv });
    if (!rs.length) continue;
    const m = (k) => median(rs.map((r) => r[k]));
    const p = pairs(results, { fig: 'sdbcast' }, 'lat_p95_us', srv, other);
    out.push(row([`${srv}: ${label}`, rs[0].clients,
      `${fmt(m('deliveries'))} / ${fmt(m('expected'))} (${rs.reduce((s, r) => s + (r.lost || 0), 0)})`,
      `${ms(m('lat_p50_us'))} / ${ms(m('lat_p95_us'))} / ${ms(m('lat_p99_us'))}`,
      `${fmt(m('hub_cpu_us_per_dlv'), 2)} / ${fmt(m('kids_cpu_us_per_dlv'), 2)}`, fmt(m('wakeups_per_dlv'), 2), fmt(m('ramp_s'), 1),
      p.length ? `${fmt(median(p), 2)}${range(p)} / ${other}` : '', probes(rs, SP)]));
  }
  return out.join('\n');
}

function tputTable(results, SP) {
  const out = head('server', 'N', 'deliveries/s', 'hub / handlers CPU µs per delivery', 'p95, ms', 'lost',
    'deliveries/s / the row named, per pair', 'probes');
  for (const [srv, label, other] of BSERVERS) {
    const rs = select(results, { fig: 'sdtput', srv });
    if (!rs.length) continue;
    const m = (k) => median(rs.map((r) => r[k]));
    const p = pairs(results, { fig: 'sdtput' }, 'deliveries_per_s', srv, other);
    out.push(row([`${srv}: ${label}`, rs[0].clients, fmt(m('deliveries_per_s')),
      `${fmt(m('hub_cpu_us_per_dlv'), 2)} / ${fmt(m('kids_cpu_us_per_dlv'), 2)}`, ms(m('lat_p95_us')),
      rs.reduce((s, r) => s + (r.lost || 0), 0), p.length ? `${fmt(median(p), 2)}${range(p)} / ${other}` : '', probes(rs, SP)]));
  }
  return out.join('\n');
}

// --- the section -------------------------------------------------------------------

// The section's markdown, '' when RESULTS has no figure of bench/systemd.sh.
export function systemdSection({ results, mems, speeds }, info = {}) {
  if (!results.some((r) => String(r.fig).startsWith('sd')) && !mems.some((m) => String(m.fig).startsWith('sd'))) return '';
  const SP = speedRecord(speeds.filter((s) => String(s.fig).startsWith('sd')));
  const groups = new Set(['mountns', 'namespaces', 'seccomp', 'bpf', 'bare', ...(info.groups || [])]);
  const A = ablation(results);
  const cand = candidate(A, groups);
  const ch = pairs(results, { fig: 'sdchurn' }, 'conn_per_s', 'sd', 'wsd');
  const parts = [`## Under systemd as PID 1: churn, handshake and memory as deployed (bench/systemd.sh)

${info.origin ? info.origin + '\n\n' : ''}A real systemd (${info.systemd || 'the host\'s'}) booted as PID 1 of private namespaces on an
overlay of / (tests/systemd/lib.sh), Switchboard installed into it with
\`make install DESTDIR=\` and its shipped units enabled; the load comes
from inside its network namespace. Every server is a service of that
systemd; they share its hub. CPU per connection is what the whole
system's cgroup used (cpu.stat), divided by the connections, once the
last handler had gone: PID 1 (init.scope), what it spawned (the units'
cgroups, or the server's service), the hub and journald; "kworkers" is
what the kernel's worker threads used meanwhile (the whole machine's:
work the kernel defers, such as taking a network namespace apart, and
other work's). Ratios are per pair, the two turns back to back.

Machine speed for this section: ${SP.text}.`];
  if (ch.length)
    parts.push(`**Churn as deployed, Switchboard / websocketd: ${fmt(median(ch), 3)} ×${range(ch, 3)}** (the issue's churn target: ≥ 1.2 × in the fast phase, ≥ 1.0 × in the slow).`);
  parts.push(`### Churn: handshake and close, 8 at a time\n\n${churnTable(results, SP)}`);
  const memRows = [
    ...SERVERS.map(([srv, label]) => [`${srv}: ${label}`, { fig: 'sdmem', srv }]),
  ];
  if (mems.some((m) => m.fig === 'sdmem'))
    parts.push(`### Memory per idle connection (server growth from 0 to N, over N)

PSS from /proc/PID/smaps_rollup of every process of the server's cgroup,
the hub, PID 1 and journald; the kernel's fields are /proc/meminfo's,
the whole machine's (other work moves them too: read them with the
"given back on close" column, a second reading of the same thing).

${memTable(mems, SP, 'sdmem', memRows)}`);
  const mv = [...new Set(select(mems, { fig: 'sdmemvar' }).map((m) => m.variant))];
  if (mv.length)
    parts.push(`### Memory without some settings (the shipped unit and the variant back to back)

${memTable(mems, SP, 'sdmemvar', mv.flatMap((v) => [[`shipped (pair of ${v})`, { fig: 'sdmemvar', variant: v, srv: 'sd' }],
    [`without ${v}, exposure ${fmt(select(mems, { fig: 'sdmemvar', variant: v })[0]?.exposure, 1)}`, { fig: 'sdmemvar', variant: v, srv: 'var' }]]))}`);
  if (A.length) {
    parts.push(`### What each hardening setting costs per spawn

The shipped switchboard@.service (port 80) and a copy without the
setting (sbvar@.service, port 81), one churn turn each, back to back,
taking turns at going first. Exposure is \`systemd-analyze security
--offline=yes\` of the copy. Groups (bold) remove every setting that
needs the same kernel object; sets (bold) are candidates measured as a
whole (\`SD_EXTRA_VARIANTS\`). ✓: leaving it out saved CPU in every pair,
by at least 2 % of the shipped unit's.

${ablationTable(A, SP, groups)}`);
    if (cand)
      parts.push(`Greedy pick among the single settings marked ✓, by CPU saved per point of exposure, while the exposure stays ≤ 1.0 (summing each one's rise, which is only roughly additive): **without ${cand.take.map((a) => a.v).join(', ') || 'nothing'}**, exposure about ${fmt(cand.exp, 1)}, the sum of their savings ${ms(cand.saved, 2)} ms per spawn. A set is only proposed when measured as a whole (\`SD_EXTRA_VARIANTS\`, bench/README.md).`);
    const sets = measuredSets(A, groups);
    if (sets.length) {
      const desc = (a) => `**${a.v}** (exposure ${fmt(a.exposure, 1)}; ${ms(median(a.saved), 2)} ms saved per spawn, CPU ${fmt(median(a.cpuRatio), 3)} ×, conn/s ${fmt(median(a.rate), 3)} ×, ${a.saved.length} pairs${a.keys ? `; without ${settingsOf(a).join(', ')}` : ''})`;
      parts.push(`Measured as a whole, the sets that keep the exposure ≤ 1.0 and saved CPU in every pair, most saved first: ${sets.map(desc).join('; ')}.`);
    }
  }
  if (results.some((r) => r.fig === 'sdbcast'))
    parts.push(`### Broadcast: handlers as units, and the hub's share of the CPU

The same hub for all; \`sdcg\` emulates what systemd's cpu
controller would do (this host binds every controller to cgroup v1, so
the container's systemd has none): every process of the system in one
v1 cpu group, and the hub moved into a sibling group of equal shares.
It puts every process of the system in that v1 group, so in a run
with \`sdcg\` no process has an autogroup. \`sass\`, \`sacg\` and \`saf\`
give sa's handlers one thing each that a unit's have; \`sdg\` gives the
units' handlers one scheduler group, as sa's share the autogroup of
their spawner's session (bench/analysis.md, "twenty-third session"). At
50 messages a second:

${bcastTable(results, SP)}

Throughput, 4 in flight:

${tputTable(results, SP)}`);
  return `${BEGIN}\n${parts.join('\n\n')}\n${END}\n`;
}

// --- alone -------------------------------------------------------------------------

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, flag, into] = process.argv.slice(2);
  if (!file || (flag && (flag !== '--into' || !into))) {
    console.error('usage: node bench/sdreport.mjs RESULTS [--into FILE]');
    process.exit(2);
  }
  const sh = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n')[0]; } catch { return ''; } };
  const dir = path.dirname(file);
  let commit = '';
  try { commit = readFileSync(path.join(dir, 'commit.txt'), 'utf8').trim(); } catch { /* none */ }
  const info = {
    systemd: sh('systemctl', ['--version']),
    origin: `From a run of \`make bench BENCH_FIGS=systemd\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC` +
      `${commit ? ` with the programs of commit ${commit}` : ''}, apart from the run of the figures above.`,
  };
  const sec = systemdSection(readResults(file), info);
  if (!sec) {
    console.error(`sdreport: no figure of bench/systemd.sh in ${file}`);
    process.exit(1);
  }
  if (!into) {
    process.stdout.write(sec);
  } else {
    const doc = readFileSync(into, 'utf8');
    const a = doc.indexOf(BEGIN), b = doc.indexOf(END);
    if (a < 0 || b < a) {
      console.error(`sdreport: ${into} has no section between "${BEGIN}" and "${END}"`);
      process.exit(1);
    }
    writeFileSync(into, doc.slice(0, a) + sec + doc.slice(b + END.length + 1));
    console.log(`sdreport: the systemd section of ${into} rewritten from ${file}`);
  }
}
