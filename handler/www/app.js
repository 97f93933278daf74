// SPDX-License-Identifier: ISC
/* Switchboard browser client.  Plain JS, no dependencies.  Client data is
 * only ever put in the page with textContent, never as markup. */
(function () {
  'use strict';

  var ROOM = 'lobby';
  var BACKOFF_MIN = 500, BACKOFF_MAX = 15000;
  var PING_EVERY = 25000, DEAD_AFTER = 70000;
  var LOG_MAX = 500;

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    login: $('login'), nick: $('nick'), password: $('password'), loginError: $('login-error'),
    chat: $('chat'), users: $('users'), userCount: $('user-count'), log: $('log'),
    target: $('target'), targetLabel: $('target-label'), back: $('back'),
    send: $('send-form'), message: $('message'), status: $('status'), me: $('me')
  };

  var st = {
    want: '',          /* nick to (re)log in with */
    password: '',
    me: '',            /* nick the server gave us */
    ws: null,
    online: false,     /* welcome received on the current socket */
    everOnline: false, /* logged in at least once: drops are retried */
    retry: 0, retryTimer: 0,
    lastRx: 0,
    to: null,          /* null: the room; else the nick we whisper to */
    users: [],
    unread: {}
  };

  function setStatus(state, text) {
    el.status.dataset.state = state;
    el.status.textContent = text || state;
  }

  function hhmm(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d)) d = new Date();
    return ('0' + d.getHours()).slice(-2) + ':' + ('0' + d.getMinutes()).slice(-2);
  }

  function span(cls, text) {
    var s = document.createElement('span');
    s.className = cls;
    s.textContent = text;
    return s;
  }

  function nickSpan(nick) {
    var s = span('who', nick);
    if (nick && nick !== st.me) {
      s.dataset.nick = nick;
      s.title = 'Whisper to ' + nick;
    }
    return s;
  }

  /* One log line; kind: room, private, action, notice, error. */
  function entry(kind, m, parts) {
    var li = document.createElement('li');
    li.className = 'entry ' + kind + (m && m.history ? ' history' : '');
    li.setAttribute('data-testid', 'log-entry');
    li.dataset.kind = kind;
    if (m && m.from) li.dataset.from = m.from;
    if (m && m.to) li.dataset.to = m.to;
    if (m && m.room) li.dataset.room = m.room;
    li.appendChild(span('time', hhmm(m && m.time)));
    for (var i = 0; i < parts.length; i++)
      li.appendChild(typeof parts[i] === 'string' ? span('text', parts[i]) : parts[i]);
    var stick = el.log.scrollTop + el.log.clientHeight >= el.log.scrollHeight - 8;
    el.log.appendChild(li);
    while (el.log.childNodes.length > LOG_MAX) el.log.removeChild(el.log.firstChild);
    if (stick) el.log.scrollTop = el.log.scrollHeight;
    return li;
  }

  function notice(text, m) { return entry('notice', m, [text]); }

  function send(obj) {
    if (st.ws && st.ws.readyState === 1) { st.ws.send(JSON.stringify(obj)); return true; }
    return false;
  }

  /* who is online */

  function renderUsers() {
    var list = st.users.slice().sort(function (a, b) {
      return a.toLowerCase() < b.toLowerCase() ? -1 : 1;
    });
    el.users.textContent = '';
    list.forEach(function (n) {
      var li = document.createElement('li');
      li.setAttribute('data-testid', 'user-item');
      li.dataset.nick = n;
      var b = document.createElement('button');
      b.type = 'button';
      b.textContent = n;
      if (n === st.me) { li.className = 'self'; b.disabled = true; b.title = 'you'; }
      else b.title = 'Whisper to ' + n;
      if (n === st.to) li.className = 'active';
      li.appendChild(b);
      if (st.unread[n]) {
        var u = span('unread', String(st.unread[n]));
        u.setAttribute('data-testid', 'unread');
        li.appendChild(u);
      }
      el.users.appendChild(li);
    });
    el.userCount.textContent = String(list.length);
  }

  function addUser(n) { if (n && st.users.indexOf(n) < 0) { st.users.push(n); renderUsers(); } }
  function delUser(n) {
    var i = st.users.indexOf(n);
    if (i >= 0) { st.users.splice(i, 1); renderUsers(); }
  }

  /* whom we talk to */

  function setTarget(nick) {
    st.to = nick && nick !== st.me ? nick : null;
    if (st.to) {
      delete st.unread[st.to];
      el.target.dataset.kind = 'private';
      el.target.dataset.nick = st.to;
      el.targetLabel.textContent = 'Whispering to ' + st.to;
      el.message.placeholder = 'Whisper to ' + st.to;
      el.back.hidden = false;
    } else {
      el.target.dataset.kind = 'room';
      delete el.target.dataset.nick;
      el.targetLabel.textContent = '# ' + ROOM;
      el.message.placeholder = 'Message #' + ROOM;
      el.back.hidden = true;
    }
    renderUsers();
    el.message.focus();
  }

  el.users.addEventListener('click', function (e) {
    var li = e.target.closest('li');
    if (li && li.dataset.nick && li.dataset.nick !== st.me) setTarget(li.dataset.nick);
  });
  el.log.addEventListener('click', function (e) {
    var w = e.target.closest('.who');
    if (w && w.dataset.nick) setTarget(w.dataset.nick);
  });
  el.back.addEventListener('click', function () { setTarget(null); });
  el.message.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && st.to) setTarget(null);
  });

  /* sending */

  el.send.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = el.message.value.trim();
    if (!text) return;
    var now = new Date().toISOString(), mine = { from: st.me, time: now };
    var cmd = /^\/(\w+)\s*(.*)$/.exec(text);
    if (cmd && cmd[1] === 'nick' && cmd[2]) {
      if (send({ type: 'nick', nick: cmd[2] })) el.message.value = '';
      return;
    }
    if (cmd && cmd[1] === 'me' && cmd[2]) {
      var me = { type: 'me', text: cmd[2] };
      if (st.to) me.to = mine.to = st.to; else me.room = mine.room = ROOM;
      if (!send(me)) return offlineNote();
      entry(st.to ? 'private' : 'action', mine, ['* ', nickSpan(st.me), ' ' + cmd[2]]);
    } else if (st.to) {
      if (!send({ type: 'msg', to: st.to, text: text })) return offlineNote();
      mine.to = st.to;
      entry('private', mine, [nickSpan(st.me), span('arrow', ' \u2192 '), nickSpan(st.to), ': ', text]);
    } else {
      if (!send({ type: 'say', room: ROOM, text: text })) return offlineNote();
      mine.room = ROOM;
      entry('room', mine, [nickSpan(st.me), ': ', text]);
    }
    el.message.value = '';
  });

  function offlineNote() { entry('error', null, ['Not connected; your message was not sent.']); }

  /* receiving */

  function onMsg(m) {
    var from = m.from || '';
    if (m.announce || !from) return entry('notice', m, ['\u2691 ' + (m.text || '')]);
    if (from === st.me && !m.history) return;   /* our own echo: shown when sent */
    /* Past presence_max the server stops announcing logins: whoever
     * speaks is online. */
    if (!m.history) addUser(from);
    if (m.room) {
      if (m.action) entry('action', m, ['* ', nickSpan(from), ' ' + (m.text || '')]);
      else entry('room', m, [nickSpan(from), ': ', m.text || '']);
      return;
    }
    /* private */
    var who = from === st.me ? m.to : from;
    var parts = from === st.me
      ? [nickSpan(st.me), span('arrow', ' \u2192 '), nickSpan(m.to || ''), ': ']
      : [nickSpan(from), span('arrow', ' \u2192 you'), ': '];
    if (m.action) parts.push('* ' + (m.text || '')); else parts.push(m.text || '');
    entry('private', m, parts);
    if (who && who !== st.to && !m.history) {
      st.unread[who] = (st.unread[who] || 0) + 1;
      renderUsers();
    }
  }

  var handlers = {
    welcome: function (m) {
      var again = st.everOnline;
      st.me = m.nick || st.want;
      st.want = st.me;
      st.online = st.everOnline = true;
      st.retry = 0;
      el.me.textContent = st.me;
      el.login.hidden = true;
      el.chat.hidden = false;
      setStatus('online', 'online');
      notice(again ? 'Reconnected as ' + st.me + '.' : 'Welcome, ' + st.me + '.', m)
        .dataset.event = again ? 'reconnected' : 'welcome';
      send({ type: 'join', room: ROOM });
      send({ type: 'users' });
      if (!st.to) el.message.placeholder = 'Message #' + ROOM;
      el.message.focus();
    },
    login: function (m) {
      addUser(m.nick);
      if (m.nick !== st.me) notice(m.nick + ' logged in.', m).dataset.event = 'login';
    },
    quit: function (m) {
      delUser(m.nick);
      var li = notice(m.nick + ' quit' + (m.reason ? ' (' + m.reason + ')' : '') + '.', m);
      li.dataset.event = 'quit';
      if (st.to === m.nick) notice(m.nick + ' is gone; whispers to them will fail.');
    },
    users: function (m) {
      st.users = (m.users || []).filter(function (n) { return typeof n === 'string'; });
      addUser(st.me);
      renderUsers();
    },
    join: function (m) {
      if (m.nick === st.me) {
        var n = m.members ? m.members.length - 1 : -1;
        notice('You joined #' + m.room + (n < 0 ? '' : n ? ' (' + n + ' other' + (n > 1 ? 's' : '') + ' here)' : ' (nobody else here yet)') + '.', m)
          .dataset.event = 'self-join';
        (m.members || []).forEach(addUser);
      } else {
        addUser(m.nick);
        notice(m.nick + ' joined #' + m.room + '.', m).dataset.event = 'join';
      }
    },
    part: function (m) { notice(m.nick + ' left #' + m.room + '.', m).dataset.event = 'part'; },
    nick: function (m) {
      var i = st.users.indexOf(m.old);
      if (i >= 0) st.users[i] = m['new']; else addUser(m['new']);
      if (st.unread[m.old]) { st.unread[m['new']] = st.unread[m.old]; delete st.unread[m.old]; }
      if (m.old === st.me) { st.me = st.want = m['new']; el.me.textContent = st.me; }
      if (st.to === m.old) setTarget(m['new']); else renderUsers();
      notice(m.old + ' is now known as ' + m['new'] + '.', m).dataset.event = 'nick';
    },
    msg: onMsg,
    error: function (m) {
      var text = m.text || m.code || 'error';
      if (!st.online) {
        if (st.everOnline) {
          /* re-login refused (our old session may linger): try again later */
          notice('Server said: ' + text + ' \u2014 retrying.');
          if (st.ws) st.ws.close();
          return;
        }
        el.loginError.textContent = text;
        stop();
        return;
      }
      entry('error', m, [text]);
    },
    usermsg: function (m) { onMsg({ from: m.name, to: st.me, text: m.message, time: m.time }); },
    ping: function (m) { send(m.token ? { type: 'pong', token: m.token } : { type: 'pong' }); },
    close: function (m) { notice('Server closed the connection' + (m.reason ? ': ' + m.reason : '') + '.', m); }
  };

  /* the connection */

  function connect() {
    clearTimeout(st.retryTimer);
    st.retryTimer = 0;
    st.online = false;
    setStatus('connecting', st.everOnline ? 'reconnecting\u2026' : 'connecting\u2026');
    var ws;
    try {
      ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat');
    } catch (e) { return dropped(null); }
    st.ws = ws;
    ws.onopen = function () {
      st.lastRx = Date.now();
      var m = { type: 'login', nick: st.want };
      if (st.password) m.password = st.password;   /* the server refuses "" */
      send(m);
    };
    ws.onmessage = function (e) {
      if (ws !== st.ws) return;
      st.lastRx = Date.now();
      var m;
      try { m = JSON.parse(e.data); } catch (x) { return; }
      if (m && typeof m.type === 'string' && handlers.hasOwnProperty(m.type)) handlers[m.type](m);
    };
    ws.onclose = function (e) { dropped(ws, e); };
  }

  /* Close codes after which the server does not want us back
   * (docs/protocol.md): kicked, banned, session ended. */
  var FINAL = { 4000: 'kicked', 4001: 'banned', 4004: 'ended', 4005: 'disabled' };

  function dropped(ws, e) {
    if (ws && ws !== st.ws) return;
    var was = st.online;
    st.ws = null;
    st.online = false;
    if (!st.want) return;                       /* stopped on purpose */
    if (e && FINAL.hasOwnProperty(e.code)) {
      var why = FINAL[e.code];
      notice((why === 'kicked' ? 'You were kicked' : why === 'banned' ?
        'You are banned' : why === 'disabled' ? 'Your membership is disabled' :
        'The server ended your session') +
        (e.reason ? ': ' + e.reason : '') + '. Not reconnecting.').dataset.event = why;
      st.want = '';
      clearTimeout(st.retryTimer);
      st.retryTimer = 0;
      setStatus('offline', why);
      return;
    }
    if (!st.everOnline && !was && st.retry >= 2) {
      /* never got in: do not hammer, let the user try again */
      el.loginError.textContent = 'Cannot reach the server.';
      stop();
      return;
    }
    if (was) notice('Connection lost.').dataset.event = 'lost';
    var delay = Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, st.retry++));
    delay = Math.round(delay * (0.8 + Math.random() * 0.4));
    setStatus('reconnecting', 'reconnecting in ' + Math.ceil(delay / 1000) + 's');
    st.retryTimer = setTimeout(connect, delay);
  }

  function stop() {
    st.want = '';
    clearTimeout(st.retryTimer);
    if (st.ws) { var w = st.ws; st.ws = null; w.close(); }
    setStatus('offline');
    el.login.hidden = false;
    el.chat.hidden = true;
  }

  setInterval(function () {
    if (!st.ws || st.ws.readyState !== 1) return;
    if (Date.now() - st.lastRx > DEAD_AFTER) { st.ws.close(); return; }
    send({ type: 'ping' });
  }, PING_EVERY);

  el.login.addEventListener('submit', function (e) {
    e.preventDefault();
    var n = el.nick.value.trim();
    if (!n) return;
    el.loginError.textContent = '';
    st.want = n;
    st.password = el.password.value;
    st.everOnline = false;
    st.retry = 0;
    if (st.ws) { var w = st.ws; st.ws = null; w.close(); }
    connect();
  });

  /* For tests: drop the connection as a network failure would (no logout),
   * and let the page's own reconnect logic bring it back. */
  window.__sbTestDropConnection = function () {
    var ws = st.ws;
    if (!ws) return false;
    ws.onmessage = ws.onclose = null;
    ws.close(4000, 'test drop');
    dropped(ws);
    return true;
  };
  window.__sbState = function () {
    return { me: st.me, online: st.online, to: st.to, users: st.users.slice(), retry: st.retry,
      want: st.want, retryPending: !!st.retryTimer, connecting: !!st.ws };
  };
})();
