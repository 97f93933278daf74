// SPDX-License-Identifier: ISC
// bench/guess.mjs PORT TAG [options]: guest login latency, with or without
// a password-guessing attack on the same hub (issue 16, hole 1).
//
//   --guests N      guest logins, one after the other (default 40)
//   --gap MS        pause between two guest logins (default 50)
//   --attack MODE   none; nick: ATTACKERS connections from 127.0.0.1 at
//                   once, then RATE new ones a second, each sending
//                   GUESSES wrong passwords for the member `alice` and
//                   closing once answered (the attack of the issue);
//                   spread: the same from a new loopback address per
//                   connection (127.x.y.z) with a new unknown nick each,
//                   so that no throttle bites and every guess costs a
//                   crypt (the password workers' worst case)
//   --attackers A   connections in the first burst (default 20)
//   --rate R        new connections a second after it (default 5)
//   --guesses G     wrong passwords per connection (default 10)
//   --secs S        the attack's hard time limit (default 60)
//
// A guest login is timed from the connect to the <identify> answer; one
// refused or unanswered within 10 s counts as 10 s.  Prints one line:
//   RESULT TAG guests=N ok=K p50_us= p95_us= max_us= conns= guesses=
//          failed= throttled= other=
// Every loop is bounded in count and time; every socket is closed.
import net from 'node:net';

const [port, tag = '', ...rest] = process.argv.slice(2);
const opt = { guests: 40, gap: 50, attack: 'none', attackers: 20, rate: 5, guesses: 10, secs: 60 };
for (let i = 0; i < rest.length; i += 2) {
  const k = rest[i].replace(/^--/, '');
  if (!(k in opt)) { console.error(`guess.mjs: unknown option ${rest[i]}`); process.exit(2); }
  opt[k] = k === 'attack' ? rest[i + 1] : +rest[i + 1];
}
const ANSWER_MS = 10000;
const MAX_CONNS = 20000;	// attack connections, at most
const MAX_RUNNING = 200;	// open at once, at most

// Connect, send each of `lines` (NUL-terminated), collect answers until
// `enough(answers)` or `ms`; resolves with { answers, us, closed }.
function exchange(lines, enough, ms, localAddress) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const answers = [];
    let buf = '', done = false;
    const sock = net.connect({ port: +port, host: '127.0.0.1', localAddress });
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ answers, us: Number(process.hrtime.bigint() - t0) / 1000, closed });
    };
    const timer = setTimeout(() => finish(false), ms);
    sock.setEncoding('utf8');
    sock.on('connect', () => { for (const l of lines) sock.write(l + '\0'); });
    sock.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.search(/[\0\n]/)) >= 0) {
        if (i > 0) answers.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      if (enough(answers)) finish(false);
    });
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
  });
}

const stats = { conns: 0, guesses: 0, failed: 0, throttled: 0, other: 0 };
let stop = false;

// One attacking connection, number c: its guesses, then close.
async function attackOne(c) {
  const spread = opt.attack === 'spread';
  const addr = spread ? `127.${1 + ((c >> 16) & 0xff)}.${(c >> 8) & 0xff}.${c & 0xff}` : undefined;
  const lines = [];
  for (let g = 0; g < opt.guesses; g++)
    lines.push(`IDENTIFY ${spread ? `ghost${c}` : 'alice'} guess${c}x${g}`);
  const r = await exchange(lines, (a) => a.filter((m) => m.startsWith('<error')).length >= opt.guesses,
    ANSWER_MS, addr);
  stats.guesses += lines.length;
  for (const m of r.answers) {
    const code = /code="([a-z_]+)"/.exec(m)?.[1];
    if (code === 'login_failed') stats.failed++;
    else if (code === 'login_throttled') stats.throttled++;
    else if (m.startsWith('<error')) stats.other++;
  }
}

// ATTACKERS connections at once, then RATE new ones a second, until the
// guests are done or SECS pass; at most MAX_RUNNING open at a time.
async function attack() {
  const deadline = Date.now() + opt.secs * 1000;
  const running = new Set();
  const launch = () => {
    if (running.size >= MAX_RUNNING || stats.conns >= MAX_CONNS) return;
    const p = attackOne(stats.conns++).then(() => running.delete(p));
    running.add(p);
  };
  for (let k = 0; k < opt.attackers; k++) launch();
  while (!stop && Date.now() < deadline) {
    await sleep(1000 / opt.rate);
    launch();
  }
  await Promise.all([...running]);
}

const pct = (v, p) => v[Math.min(v.length - 1, Math.floor((v.length - 1) * p + 0.5))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let attacking = Promise.resolve();
if (opt.attack !== 'none') {
  attacking = attack();
  await sleep(1000);	// the first burst is under way
}
const lat = [];
let ok = 0;
for (let i = 0; i < opt.guests; i++) {
  const nick = `guest${process.pid % 1000}x${i}`;
  const r = await exchange([`IDENTIFY ${nick}`], (a) => a.some((m) => /^<(identify|error|close)/.test(m)),
    ANSWER_MS);
  const good = r.answers.some((m) => m.startsWith('<identify'));
  if (good) ok++;
  lat.push(good ? r.us : ANSWER_MS * 1000);
  await sleep(opt.gap);
}
stop = true;
await attacking;
lat.sort((a, b) => a - b);
console.log(`RESULT ${tag} guests=${opt.guests} ok=${ok} p50_us=${pct(lat, 0.5).toFixed(0)} ` +
  `p95_us=${pct(lat, 0.95).toFixed(0)} max_us=${lat[lat.length - 1].toFixed(0)} conns=${stats.conns} ` +
  `guesses=${stats.guesses} failed=${stats.failed} throttled=${stats.throttled} other=${stats.other}`);
