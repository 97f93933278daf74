// SPDX-License-Identifier: ISC
// The Node reference for the benchmarks: one process, the `ws` package.
// /echo echoes; /chat speaks the subset of Switchboard's JSON dialect the
// load generator uses (login -> welcome, join -> join with members,
// say -> msg to every client, the sender included).
//   node bench/ws-server.mjs PORT
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: +process.argv[2], perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  if (req.url === '/echo') { ws.on('message', (d, bin) => ws.send(d, { binary: bin })); return; }
  ws.on('message', (d) => {
    let m; try { m = JSON.parse(d); } catch { return; }
    if (m.type === 'login') { ws.nick = m.nick; ws.send(JSON.stringify({ type: 'welcome', nick: m.nick })); }
    else if (m.type === 'join') ws.send(JSON.stringify({ type: 'join', room: m.room, nick: ws.nick, members: [] }));
    else if (m.type === 'say') {
      const out = JSON.stringify({ type: 'msg', from: ws.nick, room: m.room, text: m.text });
      for (const c of wss.clients) c.send(out);
    }
  });
});
wss.on('listening', () => console.error(`ws-server listening on ${process.argv[2]}`));
process.on('SIGTERM', () => process.exit(0));
