// SPDX-License-Identifier: ISC
// bench/pss.mjs: the memory of a listener's children (the handlers that
// systemd-socket-activate spawned), for bench/tls-stall.mjs and
// bench/tls-churn.mjs.
import { readdirSync, readFileSync } from 'node:fs';

// PSS and anonymous PSS (KiB) of every live child of ppid: their count
// and medians.
export function childrenPss(ppid) {
  const pss = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) !== ppid) continue;
      const r = readFileSync(`/proc/${d}/smaps_rollup`, 'utf8');
      pss.push([Number(/^Pss:\s+(\d+)/m.exec(r)[1]), Number(/^Pss_Anon:\s+(\d+)/m.exec(r)[1])]);
    } catch { /* gone */ }
  }
  const med = (i) => pss.map((x) => x[i]).sort((a, b) => a - b)[Math.floor(pss.length / 2)];
  return { n: pss.length, pss: med(0), anon: med(1) };
}
