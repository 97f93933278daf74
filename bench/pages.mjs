// SPDX-License-Identifier: ISC
// Page by page: what the handlers hold, from /proc/PID/pagemap and
// /proc/kpagecount (root), for every child of a process (the activator's
// handlers) or the PIDs given.  Each page of each mapping is a row keyed
// by where it is (an address in the binary; the heap and anonymous
// mappings by offset from their start; the stack by offset from its top),
// with how many of the processes hold it, its PSS per process (4 KiB over
// the number of mappings of that physical page, summed and divided by the
// process count) and, for the binary's pages, the symbols on it (nm).
//
//   node bench/pages.mjs --kids-of PPID [--bin build/switchboard-handler]
//   node bench/pages.mjs PID...
//
// Prints "PAGES" lines by region (text, rodata, relro, data, bss, heap,
// stack, anon, vdso/vvar) and the rows of the writable regions.
import { readFileSync, readdirSync, openSync, readSync, closeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const PAGE = 4096;
const args = process.argv.slice(2);
let bin = 'build/switchboard-handler';
let pids = [];
let top = 40;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--kids-of') {
    const ppid = args[++i];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const st = readFileSync(`/proc/${d}/stat`, 'utf8');
        if (st.slice(st.lastIndexOf(')') + 2).split(' ')[1] === ppid) pids.push(+d);
      } catch { /* gone */ }
    }
  } else if (args[i] === '--bin') bin = args[++i];
  else if (args[i] === '--top') top = +args[++i];
  else pids.push(+args[i]);
}
if (pids.length === 0) {
  console.error('pages: no processes');
  process.exit(1);
}

// The binary's sections and symbols (a static, non-PIE executable).
const sections = [];
for (const l of execFileSync('readelf', ['-SW', bin], { encoding: 'utf8' }).split('\n')) {
  const m = l.match(/\]\s+(\S+)\s+\S+\s+([0-9a-f]{16})\s+[0-9a-f]+\s+([0-9a-f]+)/);
  if (m && parseInt(m[2], 16) !== 0) sections.push({ name: m[1], addr: parseInt(m[2], 16), size: parseInt(m[3], 16) });
}
const syms = [];
for (const l of execFileSync('nm', ['-S', '-n', '--defined-only', bin], { encoding: 'utf8' }).split('\n')) {
  const m = l.match(/^([0-9a-f]+) ([0-9a-f]+) ([dDbBrRvV]) (\S+)/);
  if (m) syms.push({ addr: parseInt(m[1], 16), size: parseInt(m[2], 16), name: m[4] });
}
const section = (a) => (sections.find((s) => a >= s.addr && a < s.addr + s.size) || {}).name || '?';
function symsOn(page) {
  const out = [];
  for (const s of syms) {
    if (s.addr >= page + PAGE) break;
    if (s.addr + Math.max(s.size, 1) > page) out.push(`${s.name}(${s.size})`);
  }
  return out;
}

const kpc = openSync('/proc/kpagecount', 'r');
const kpf = openSync('/proc/kpageflags', 'r');
// The times a physical page is mapped; 0 for the shared zero page (a
// page read but never written), which is in no process's PSS.
function mapcount(pfn) {
  const b = Buffer.alloc(8);
  readSync(kpf, b, 0, 8, pfn * 8);
  if ((b.readBigUInt64LE(0) >> 24n) & 1n) return 0;	// KPF_ZERO_PAGE
  readSync(kpc, b, 0, 8, pfn * 8);
  return Math.max(Number(b.readBigUInt64LE(0)), 1);
}

const rows = new Map();	// key -> { region, n, pss, addr }
const regions = new Map();	// region -> pss sum (KiB)
function add(region, key, addr, kib) {
  regions.set(region, (regions.get(region) || 0) + kib);
  let r = rows.get(key);
  if (!r) rows.set(key, (r = { region, key, addr, n: 0, pss: 0 }));
  r.n++;
  r.pss += kib;
}

let counted = 0;
for (const pid of pids) {
  let maps;
  try { maps = readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n'); } catch { continue; }
  const pm = openSync(`/proc/${pid}/pagemap`, 'r');
  counted++;
  for (const l of maps) {
    const f = l.split(/\s+/);
    const [lo, hi] = f[0].split('-').map((x) => parseInt(x, 16));
    const perm = f[1];
    const name = f[5] || '';
    if (name === '[vsyscall]') continue;
    const np = (hi - lo) / PAGE;
    const b = Buffer.alloc(np * 8);
    readSync(pm, b, 0, b.length, (lo / PAGE) * 8);
    for (let i = 0; i < np; i++) {
      const e = b.readBigUInt64LE(i * 8);
      if (!(e >> 63n)) continue;	// not present (swapped: none here)
      const pfn = Number(e & ((1n << 55n) - 1n));
      const mc = mapcount(pfn);
      const kib = mc === 0 ? 0 : 4 / mc;
      const a = lo + i * PAGE;
      let region;
      let key;
      if (name === '[heap]') { region = 'heap'; key = `heap+${i}`; }
      else if (name === '[stack]') { region = 'stack'; key = `stack-${np - i}`; }
      else if (name.startsWith('[')) { region = name; key = `${name}+${i}`; }
      else if (name === '') {
        // The binary's .bss past its file-backed pages is an anonymous
        // mapping right after it; other anonymous mappings by offset.
        const s = section(a);
        region = s.startsWith('.bss') ? 'bss' : 'anon';
        key = s.startsWith('.bss') ? `0x${a.toString(16)}` : `anon(${np}p)+${i}`;
      } else {
        const s = section(a);
        region = perm.includes('x') ? 'text' : !perm.includes('w') ? 'rodata'
          : s.startsWith('.bss') ? 'bss' : s.startsWith('.data') && s !== '.data.rel.ro' ? 'data' : 'relro';
        key = `0x${a.toString(16)}`;
      }
      add(region, key, a, kib);
    }
  }
  closeSync(pm);
}
const n = counted;
let total = 0;
for (const v of regions.values()) total += v;
console.log(`PAGES processes=${n} total_kib=${(total / n).toFixed(2)} ` +
  [...regions].map(([k, v]) => `${k.replace(/[[\]]/g, '')}=${(v / n).toFixed(2)}`).join(' '));
const writable = [...rows.values()].filter((r) => !['text', 'rodata'].includes(r.region) && r.region !== '[vvar]' && r.region !== '[vdso]');
writable.sort((a, b) => b.pss - a.pss);
console.log(`rows (writable regions, by PSS; held = processes holding the page, of ${n}):`);
for (const r of writable.slice(0, top)) {
  const where = r.addr && ['data', 'bss', 'relro'].includes(r.region)
    ? `${section(r.addr)} ${symsOn(r.addr - (r.addr % PAGE)).slice(0, 6).join(' ')}` : '';
  console.log(`  ${r.region.padEnd(6)} ${r.key.padEnd(14)} held=${String(r.n).padStart(5)} kib_per_proc=${(r.pss / n).toFixed(2)} ${where}`.slice(0, 240));
}

// --diff: for the first process, the bytes of its written pages of .data
// and .bss that differ from the binary's image (.data: the file; .bss:
// zeros), by symbol: what the process really wrote there.
if (process.env.PAGES_DIFF || args.includes('--diff')) {
  const pid = pids[0];
  const img = readFileSync(bin);
  const phdrs = execFileSync('readelf', ['-lW', bin], { encoding: 'utf8' }).split('\n')
    .map((l) => l.match(/LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)/))
    .filter(Boolean).map((m) => ({ off: parseInt(m[1], 16), va: parseInt(m[2], 16), fsz: parseInt(m[3], 16), msz: parseInt(m[4], 16) }));
  const initial = (a) => {
    for (const p of phdrs) if (a >= p.va && a < p.va + p.msz) return a < p.va + p.fsz ? img[p.off + a - p.va] : 0;
    return 0;
  };
  const mem = openSync(`/proc/${pid}/mem`, 'r');
  const pm = openSync(`/proc/${pid}/pagemap`, 'r');
  const ws = phdrs.find((p) => p.msz > p.fsz || p.fsz < p.msz) || phdrs[phdrs.length - 1];
  const lo = ws.va - (ws.va % PAGE);
  const hi = ws.va + ws.msz;
  console.log(`diff of pid ${pid}, 0x${lo.toString(16)}..0x${hi.toString(16)}:`);
  for (let a = lo; a < hi; a += PAGE) {
    const e = Buffer.alloc(8);
    readSync(pm, e, 0, 8, (a / PAGE) * 8);
    const v = e.readBigUInt64LE(0);
    if (!(v >> 63n)) continue;
    const pfn = Number(v & ((1n << 55n) - 1n));
    if (mapcount(pfn) !== 1) continue;	// shared or the zero page: not written
    const b = Buffer.alloc(PAGE);
    readSync(mem, b, 0, PAGE, a);
    const changed = new Map();
    for (let i = 0; i < PAGE; i++) {
      if (a + i < ws.va || a + i >= hi) continue;
      if (b[i] === initial(a + i)) continue;
      const s = syms.find((y) => a + i >= y.addr && a + i < y.addr + Math.max(y.size, 1));
      const k = s ? `${s.name}(${s.size})` : `?0x${(a + i).toString(16)}`;
      changed.set(k, (changed.get(k) || 0) + 1);
    }
    console.log(`  0x${a.toString(16)} ${section(a)}: ${[...changed].map(([k, c]) => `${k}:${c}`).join(' ') || '(present, bytes as at exec: written with the same bytes, or only read)'}`);
  }
}
