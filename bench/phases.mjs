// SPDX-License-Identifier: ISC
// The report's sections on the machine's phase and on what each delivery
// costs (bench/report.mjs): every figure beside the machine-speed probe
// taken before it, the targets' ratios split by phase, and the counts of
// wsload's bcast and tput windows (CPU of the hub and of the handlers,
// context switches, wake-ups, inter-processor interrupts).
import { median, select } from './results.mjs';

const fmt = (x, d = 0) => (isFinite(x) ? x.toFixed(d) : 'n/a');
const row = (cells) => `| ${cells.join(' | ')} |`;

// The figures shown per run with their phase: [label, filter, key, scale, decimals].
const FIGS = [
  ['churn, conn/s', { fig: 'churn' }, 'conn_per_s', 1, 0],
  ['round trip p99, µs', { fig: 'rtt' }, 'rtt_p99_us', 1, 1],
  ['broadcast p95, ms', { fig: 'bcast' }, 'lat_p95_us', 1e-3, 1],
  ['throughput, deliveries/s', { fig: 'tput' }, 'deliveries_per_s', 1, 0],
  ['highest rate step p95, ms', { fig: 'rate' }, 'lat_p95_us', 1e-3, 1],
  ['scale p95, ms', { fig: 'scale' }, 'lat_p95_us', 1e-3, 1],
  ['guest login p95, ms', { fig: 'guess' }, 'p95_us', 1e-3, 1],
];

const probeText = (p) => (p ? `${fmt(p.spawn_us)} µs, ${fmt(p.loop_ms)} ms, ${fmt(p.cpuid_ns)} ns, ${fmt(p.fault_ns)} ns, load ${fmt(p.load1, 2)}` : 'no probe');

// Every measurement, one line each, with its phase and its probe.
export function phaseTable(results, SP) {
  const out = [row(['figure', 'server', 'N', 'run', 'value', 'phase', 'probe before: spawn, loop, CPUID, page fault, load']),
    row(['---', '---', '---:', '---:', '---:', '---', '---'])];
  for (const [label, filter, key, scale, d] of FIGS)
    for (const r of select(results, filter))
      if (typeof r[key] === 'number')
        out.push(row([label + (r.rate ? ` (${r.rate}/s)` : ''), r.srv, r.n ?? r.clients ?? '', r.run, fmt(r[key] * scale, d) +
          (r.lost ? ` (${r.lost} lost)` : ''), SP.phase(r), probeText(r.probe)]));
  return out.join('\n');
}

// Per-run ratios a / b of key in phase `ph`: both halves of the pair in it.
function pairedIn(results, SP, filter, key, a, b, ph) {
  const r = [];
  for (const x of select(results, { ...filter, srv: a })) {
    const y = select(results, { ...filter, srv: b }).find((z) => z.run === x.run);
    if (y && y[key] > 0 && SP.phase(x) === ph && SP.phase(y) === ph) r.push(x[key] / y[key]);
  }
  return r;
}

// The targets' ratios, split by phase: [label, filter, key, a, b, target text].
export function phaseRatios(results, SP, rows) {
  const out = [row(['ratio', 'fast phase: median (pairs)', 'slow phase: median (pairs)', 'target']),
    row(['---', '---:', '---:', '---'])];
  for (const [label, filter, key, a, b, target] of rows) {
    const cell = (ph) => {
      const r = pairedIn(results, SP, filter, key, a, b, ph);
      return r.length ? `${fmt(median(r), 2)} (${r.length})` : '—';
    };
    out.push(row([label, cell('fast'), cell('slow'), target]));
  }
  return out.join('\n');
}

// What each delivery cost, per figure, server and N (medians over runs
// of one phase): CPU of the hub (or Node) and of the handlers, and the
// machine's count (/proc/stat less wsload's), handler wake-ups,
// involuntary switches, inter-processor interrupts, page faults (11-13
// µs each under this machine's hypervisor: bench/README.md).  The
// broadcast floor (bfloor) has only its processes' voluntary switches.
export function countTable(results, SP) {
  const out = [row(['figure', 'server', 'N', 'phase (runs)', 'hub / handlers CPU µs per delivery', 'the machine\'s CPU µs per delivery', 'handler wake-ups per delivery',
    'involuntary switches per 1000 deliveries: hub / handlers', 'IPIs per delivery (RES / CAL / TLB per 1000)', 'page faults per 1000 deliveries: hub / handlers', 'p95 ms']),
  row(['---', '---', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:'])];
  const groups = new Map();
  for (const r of results) {
    if (!['bcast', 'tput', 'rate', 'scale'].includes(r.fig)) continue;
    // bench/bcastfloor.c: its children's rusage over their whole lives
    // (start-up included, so no CPU per delivery), and their voluntary
    // switches, sender and receivers together
    if (r.floor_vcs_per_dlv !== undefined)
      Object.assign(r, { hub_cpu_us_per_dlv: NaN, kids_cpu_us_per_dlv: NaN, wakeups_per_dlv: r.floor_vcs_per_dlv });
    if (r.wakeups_per_dlv === undefined) continue;
    const k = `${r.fig}|${r.srv}|${r.n ?? r.clients}|${r.rate ?? ''}|${SP.phase(r)}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  for (const [k, rs] of groups) {
    const [fig, srv, n, rate, ph] = k.split('|');
    const dl = (r) => (r.fig === 'tput' ? r.window_deliveries : r.deliveries) || 1;
    const m = (f) => median(rs.map(f));
    out.push(row([fig + (rate ? ` ${rate}/s` : ''), srv, n, `${ph} (${rs.length})`,
      `${fmt(m((r) => r.hub_cpu_us_per_dlv), 2)} / ${fmt(m((r) => r.kids_cpu_us_per_dlv), 2)}`,
      fmt(m((r) => r.machine_cpu_us_per_dlv ?? NaN), 2),
      fmt(m((r) => r.wakeups_per_dlv), 3),
      `${fmt(m((r) => (1000 * r.hub_nvcs) / dl(r)), 1)} / ${fmt(m((r) => (1000 * r.kids_nvcs) / dl(r)), 1)}`,
      `${fmt(m((r) => r.ipis_per_dlv), 3)} (${['ipi_res', 'ipi_cal', 'ipi_tlb'].map((q) => fmt(m((r) => (1000 * r[q]) / dl(r)), 0)).join(' / ')})`,
      `${fmt(m((r) => 1000 * (r.hub_faults_per_dlv ?? NaN)), 1)} / ${fmt(m((r) => 1000 * (r.kids_faults_per_dlv ?? NaN)), 1)}`,
      fmt(m((r) => r.lat_p95_us / 1000), 1)]));
  }
  return out.join('\n');
}
