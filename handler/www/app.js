// SPDX-License-Identifier: ISC
/* Switchboard browser client: rooms, private conversations, commands,
 * catch-up after a reconnect.  Plain JS, no dependencies, no build step;
 * it speaks the JSON dialect (docs/protocol-dialects.md).
 *
 * Text from the server only ever reaches the page through textContent.
 * The one exception is a link: an <a> element, made here, whose href is an
 * http(s) URL cut from the text and whose text is that URL. */
(function () {
  'use strict';

  var FIRST_ROOM = 'lobby';               /* joined at the first login */
  var BACKOFF_MIN = 500, BACKOFF_MAX = 15000;
  var PING_EVERY = 25000, DEAD_AFTER = 70000;
  var ROOMS_EVERY = 60000;                /* room list refresh while visible */
  var LOG_MAX = 500;                      /* entries kept per log */
  var BURST = 8, REFILL_MS = 600;         /* our pace, under the hub's flood_rate */
  var LOGOUT_WAIT = 3000;
  var JOIN_NOTE_MS = 400;                 /* "You joined" waits for the replay */

  /* Close codes after which the server does not want us back
   * (docs/protocol.md, "How a session ends"). */
  var FINAL = { 4000: 'kicked', 4001: 'banned', 4004: 'ended', 4005: 'disabled' };
  var FINAL_BY_NAME = { kicked: 'kicked', banned: 'banned', ended: 'ended', login_disabled: 'disabled' };
  var FINAL_TEXT = { kicked: 'You were kicked', banned: 'You are banned',
    ended: 'The server ended your session', disabled: 'Your membership is disabled' };
  /* Commands the hub meters (docs/protocol.md, "Limits"): paced here. */
  var METERED = { say: 1, msg: 1, me: 1, nick: 1, join: 1, part: 1, users: 1, names: 1, rooms: 1 };

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    login: $('login'), nick: $('nick'), password: $('password'), loginError: $('login-error'),
    chat: $('chat'), status: $('status'), me: $('me'), notify: $('notify'), logout: $('logout'),
    navToggle: $('nav-toggle'), peopleToggle: $('people-toggle'), sidebar: $('sidebar'),
    rooms: $('rooms'), others: $('other-rooms'), othersH: $('others-h'), convs: $('convs'),
    joinForm: $('join-form'), joinRoom: $('join-room'),
    pane: document.querySelector('.pane'), target: $('target'), targetLabel: $('target-label'),
    targetInfo: $('target-info'), leave: $('leave'), banner: $('banner'),
    bannerText: $('banner-text'), bannerAction: $('banner-action'), logs: $('logs'),
    send: $('send-form'), message: $('message'), messageLabel: $('message-label'),
    people: $('people'), membersBox: $('members-box'), membersTitle: $('members-title'),
    memberCount: $('member-count'), members: $('members'), users: $('users'),
    userCount: $('user-count'), stale: $('stale')
  };

  var st = {
    want: '',            /* nick to (re)log in with; '' = do not reconnect */
    password: '',
    me: '',              /* nick the server gave us */
    ws: null,
    online: false,       /* welcome received on the current socket */
    everOnline: false,   /* logged in at least once: drops are retried */
    retry: 0, retryTimer: 0, lastRx: 0, connects: 0,
    views: {},           /* key -> view: the server notices, rooms, conversations */
    active: '', lastRoom: '',
    users: [],           /* everyone online */
    roomList: [],        /* [{name, members}] from the last `rooms` */
    queue: [], tokens: BURST, tokenTimer: 0,
    pending: [],         /* commands sent, oldest first, awaiting their answer */
    closeInfo: null, final: '', loggingOut: false, logoutTimer: 0,
    offlineSince: 0, titleCount: 0,
    route: parseRoute(location.hash)
  };

  /* small helpers */

  function node(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function srOnly(text) { return node('span', 'sr-only', text); }
  function fold(s) { return String(s).toLowerCase(); }
  function same(a, b) { return fold(a) === fold(b); }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function dayOf(d) { return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()); }
  function toDate(iso) {
    var d = iso ? new Date(iso) : new Date();
    return isNaN(d) ? new Date() : d;
  }
  /* HH:MM today, YYYY-MM-DD HH:MM on any other day. */
  function clock(d) {
    var t = pad(d.getHours()) + ':' + pad(d.getMinutes());
    return dayOf(d) === dayOf(new Date()) ? t : dayOf(d) + ' ' + t;
  }
  function dayLabel(d) {
    var today = new Date(), y = new Date(today.getTime());
    y.setDate(y.getDate() - 1);
    var long = d.toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
    return dayOf(d) === dayOf(today) ? 'Today, ' + long : dayOf(d) === dayOf(y) ? 'Yesterday, ' + long : long;
  }
  function sortNicks(list) {
    return list.slice().sort(function (a, b) { return fold(a) < fold(b) ? -1 : fold(a) > fold(b) ? 1 : 0; });
  }
  function stripHash(s) { return String(s || '').replace(/^#/, ''); }

  /* Text with its http(s) links as <a> elements; everything else text. */
  var URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;
  function richText(text) {
    var frag = document.createDocumentFragment(), last = 0, m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text)) !== null) {
      var url = trimUrl(m[0]);
      if (url.length < 10) continue;
      frag.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = node('a', '', url);
      a.href = url;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      frag.appendChild(a);
      last = m.index + url.length;
      URL_RE.lastIndex = last;
    }
    frag.appendChild(document.createTextNode(text.slice(last)));
    var s = node('span', 'text');
    s.appendChild(frag);
    return s;
  }
  /* Punctuation after a URL ends the sentence, not the URL; a closing
   * bracket stays when the URL opened one. */
  function trimUrl(u) {
    for (;;) {
      var c = u.charAt(u.length - 1), open = { ')': '(', ']': '[', '}': '{' }[c];
      if ('.,;:!?\'*'.indexOf(c) >= 0) u = u.slice(0, -1);
      else if (open && u.split(open).length <= u.split(c).length - 1) u = u.slice(0, -1);
      else return u;
    }
  }
  function mentionsMe(text) {
    if (!st.me) return false;
    var esc = st.me.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    try {
      return new RegExp('(^|[^\\p{L}\\p{N}_])' + esc + '(?![\\p{L}\\p{N}_])', 'iu').test(text);
    } catch (e) { return text.toLowerCase().indexOf(st.me.toLowerCase()) >= 0; }
  }

  /* views: the server notices, each room, each private conversation */

  function viewKey(kind, name) { return kind + ':' + fold(name); }
  function title(v) { return v.kind === 'room' ? '#' + v.name : v.kind === 'pm' ? v.name : 'Server messages'; }
  function serverView() { return st.views['server:server'] || null; }
  function activeView() { return st.views[st.active] || serverView(); }

  /* The view of that kind and name; made (with its log) when create is set. */
  function view(kind, name, create) {
    var k = viewKey(kind, name), v = st.views[k];
    if (v || !create) return v || null;
    v = { key: k, kind: kind, name: name, unread: 0, mention: false, members: [],
      joined: kind !== 'room', seq: 0, lastDay: '', lastHistory: false, since: false,
      joinNote: null, joinTimer: 0, unconfirmed: [] };
    v.log = node('div', 'log');
    v.log.setAttribute('role', 'log');
    v.log.setAttribute('aria-live', 'polite');
    v.log.setAttribute('aria-relevant', 'additions');
    v.log.setAttribute('data-testid', 'log');
    v.log.tabIndex = 0;
    v.list = node('ol');
    v.log.appendChild(v.list);
    v.log.hidden = true;
    labelLog(v);
    el.logs.appendChild(v.log);
    st.views[k] = v;
    renderSidebar();
    return v;
  }
  function labelLog(v) {
    v.log.setAttribute('aria-label', 'Messages: ' + title(v));
    v.log.dataset.kind = v.kind;
    tagView(v.log, v);
  }
  /* data-room or data-nick on `n`: the room or the person view `v` is about. */
  function tagView(n, v) {
    delete n.dataset.room;
    delete n.dataset.nick;
    if (v.kind === 'room') n.dataset.room = v.name;
    if (v.kind === 'pm') n.dataset.nick = v.name;
  }
  function views(kind) {
    return Object.keys(st.views).map(function (k) { return st.views[k]; })
      .filter(function (v) { return !kind || v.kind === kind; })
      .sort(function (a, b) { return fold(a.name) < fold(b.name) ? -1 : 1; });
  }
  function ordered() { return views('server').concat(views('room'), views('pm')); }

  function switchTo(v, keepFocus) {
    if (!v) return;
    var old = st.views[st.active];
    if (old && old !== v) old.log.hidden = true;
    st.active = v.key;
    if (v.kind === 'room') st.lastRoom = v.key;
    v.log.hidden = false;
    v.unread = 0;
    v.mention = false;
    var kind = v.kind === 'pm' ? 'private' : v.kind;
    el.pane.dataset.kind = el.target.dataset.kind = kind;
    tagView(el.target, v);
    el.targetLabel.textContent = v.kind === 'pm' ? 'Private: ' + v.name : title(v);
    el.message.placeholder = v.kind === 'room' ? 'Message #' + v.name :
      v.kind === 'pm' ? 'Message ' + v.name + ' in private' : 'Commands here, e.g. /join music';
    el.messageLabel.textContent = el.message.placeholder;
    v.log.scrollTop = v.log.scrollHeight;
    setRoute(v);
    renderAll();
    closeDrawers();
    if (!keepFocus) el.message.focus();
  }

  /* Forget a view (a room left, a conversation closed). */
  function dropView(v) {
    clearTimeout(v.joinTimer);
    v.log.remove();
    delete st.views[v.key];
    if (st.active === v.key) {
      var next = st.views[st.lastRoom] || views('room')[0] || views('pm')[0] || serverView();
      switchTo(next);
    } else renderAll();
  }
  function renameView(v, name) {
    delete st.views[v.key];
    if (st.lastRoom === v.key) st.lastRoom = viewKey(v.kind, name);
    var was = st.active === v.key;
    v.name = name;
    v.key = viewKey(v.kind, name);
    st.views[v.key] = v;
    labelLog(v);
    if (was) switchTo(v, true); else renderSidebar();
  }
  function closeView(v) {
    if (v.kind === 'room' && v.joined) {
      if (!sendCmd({ type: 'part', room: v.name }, { room: v.name }))
        note(v, 'Not connected: cannot leave #' + v.name + ' now.');
      return;
    }
    dropView(v);
  }

  /* the log */

  /* Append an entry to v's log and return it.  kind: room, private,
   * action, notice, error; m: the event (time, from, to, room, history);
   * parts: strings and nodes. */
  function entry(v, kind, m, parts) {
    v = v || activeView();
    m = m || {};
    if (!m.history && v.joinNote) flushJoinNote(v);
    var d = toDate(m.time), li = node('li', 'entry ' + kind);
    dayBreak(v, d);
    if (m.history && !v.lastHistory)
      marker(v, v.since ? 'Missed while you were away' : 'Earlier messages, from the room history');
    v.lastHistory = !!m.history;
    li.setAttribute('data-testid', 'log-entry');
    li.dataset.kind = kind;
    if (m.from) li.dataset.from = m.from;
    if (m.to) li.dataset.to = m.to;
    if (m.room) li.dataset.room = m.room;
    if (m.history) { li.classList.add('history'); li.dataset.history = '1'; li.appendChild(srOnly('History: ')); }
    var t = node('time', 'time', clock(d));
    t.dateTime = d.toISOString();
    t.title = d.toLocaleString();
    li.appendChild(t);
    for (var i = 0; i < parts.length; i++)
      li.appendChild(typeof parts[i] === 'string' ? node('span', '', parts[i]) : parts[i]);
    append(v, li);
    return li;
  }
  function append(v, li) {
    var log = v.log, stick = log.hidden || log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    v.list.appendChild(li);
    while (v.list.childNodes.length > LOG_MAX) v.list.removeChild(v.list.firstChild);
    if (stick) log.scrollTop = log.scrollHeight;
  }
  /* A separator when the day changes from one entry to the next. */
  function dayBreak(v, d) {
    var day = dayOf(d);
    if (day === v.lastDay) return;
    v.lastDay = day;
    var li = node('li', 'day', dayLabel(d));
    li.setAttribute('data-testid', 'day-separator');
    li.dataset.day = day;
    append(v, li);
  }
  function marker(v, text) {
    var li = node('li', 'marker', text);
    li.setAttribute('data-testid', 'history-marker');
    append(v, li);
  }
  function note(v, text, m, event) {
    var li = entry(v, 'notice', m, [text]);
    if (event) li.dataset.event = event;
    return li;
  }
  /* A notice in the active view, and in the server view if that is not it. */
  function tell(text, m, event) {
    var a = activeView(), s = serverView();
    if (s && s !== a) note(s, text, m, event);
    return note(a, text, m, event);
  }
  function errorEntry(v, text, code) {
    var li = entry(v, 'error', null, [text]);
    if (code) li.dataset.code = code;
    return li;
  }
  /* "You joined" waits until the history replay that follows the join
   * is in, so the log stays in time order. */
  function joinNote(v, text) {
    v.joinNote = text;
    clearTimeout(v.joinTimer);
    v.joinTimer = setTimeout(function () { flushJoinNote(v); }, JOIN_NOTE_MS);
  }
  function flushJoinNote(v) {
    var text = v.joinNote;
    clearTimeout(v.joinTimer);
    v.joinNote = null;
    if (text) note(v, text, null, 'self-join');
  }

  function nickSpan(nick) {
    var s = node('span', 'who', nick);
    if (nick && nick !== st.me) { s.dataset.nick = nick; s.title = 'Talk with ' + nick + ' in private'; }
    return s;
  }

  /* One chat message in v: m has from, time, to/room, history. */
  function showMsg(v, m, text, action, own) {
    var kind = v.kind === 'pm' ? 'private' : action ? 'action' : 'room';
    var parts = action ? ['* ', nickSpan(m.from), ' ', richText(text)] : [nickSpan(m.from), ': ', richText(text)];
    var li = entry(v, kind, m, parts);
    if (action) li.classList.add('action');
    if (own) { li.classList.add('own'); li.dataset.own = '1'; }
    else if (mentionsMe(text)) { li.classList.add('mention'); li.dataset.mention = '1'; }
    return li;
  }
  function setState(li, state, why) {
    li.dataset.state = state;
    var old = li.querySelector('.fail');
    if (old) old.remove();
    if (state === 'failed') li.appendChild(node('span', 'fail', '\u26a0 Not sent: ' + why));
    if (state === 'unconfirmed') li.appendChild(node('span', 'fail', '\u26a0 ' + why));
  }

  /* sidebar, people, header */

  function renderAll() { renderSidebar(); renderPeople(); renderTarget(); setTitle(); }

  function renderSidebar() {
    var fk = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.fk;
    fill(el.rooms, views('server').concat(views('room')).map(viewItem));
    fill(el.convs, views('pm').map(viewItem));
    var others = st.roomList.filter(function (r) {
      var v = view('room', r.name);
      return !v || !v.joined;
    }).map(otherItem);
    fill(el.others, others);
    el.others.hidden = el.othersH.hidden = !others.length;
    if (fk) {
      var f = el.sidebar.querySelector('[data-fk="' + CSS.escape(fk) + '"]');
      if (f) f.focus();
    }
  }
  function fill(list, items) {
    list.textContent = '';
    items.forEach(function (i) { list.appendChild(i); });
  }
  function button(text, fk, onclick) {
    var b = node('button', '', text);
    b.type = 'button';
    if (fk) b.dataset.fk = fk;
    b.addEventListener('click', onclick);
    return b;
  }
  function viewItem(v) {
    var li = node('li', v.kind === 'pm' ? 'conv' : v.kind);
    li.setAttribute('data-testid', v.kind === 'room' ? 'room-item' : v.kind === 'pm' ? 'conv-item' : 'server-item');
    if (v.kind === 'room') { li.dataset.room = v.name; li.dataset.joined = v.joined ? 'yes' : 'no'; }
    if (v.kind === 'pm') li.dataset.nick = v.name;
    var b = button(null, 'v:' + v.key, function () { switchTo(v); });
    b.appendChild(node('span', 'name', title(v)));
    if (v.key === st.active) { li.dataset.active = ''; b.setAttribute('aria-current', 'page'); }
    if (v.kind === 'room') {
      var c = node('span', 'count', String(roomCount(v)));
      c.setAttribute('data-testid', 'room-count');
      b.appendChild(c);
      b.appendChild(srOnly(v.joined ? ' people' : ' people, not joined'));
    }
    if (v.unread) {
      var u = node('span', 'unread' + (v.mention ? ' mention' : ''), String(v.unread));
      u.setAttribute('data-testid', 'unread');
      b.appendChild(u);
      b.appendChild(srOnly(' unread'));
    }
    li.appendChild(b);
    if (v.kind !== 'server') {
      var x = button('\u00d7', 'x:' + v.key, function () { closeView(v); });
      x.className = 'close';
      x.setAttribute('data-testid', 'close-view');
      x.setAttribute('aria-label', v.kind === 'room' && v.joined ? 'Leave #' + v.name : 'Close ' + title(v));
      li.appendChild(x);
    }
    return li;
  }
  function otherItem(r) {
    var li = node('li', 'room');
    li.setAttribute('data-testid', 'other-room');
    li.dataset.room = r.name;
    var b = button(null, 'o:' + fold(r.name), function () { joinRoom(r.name, true); });
    b.appendChild(node('span', 'name', '#' + r.name));
    b.appendChild(node('span', 'count', String(r.members)));
    b.appendChild(srOnly(' people; join'));
    li.appendChild(b);
    return li;
  }
  function roomCount(v) {
    if (v.joined) return v.members.length;
    var r = st.roomList.filter(function (x) { return same(x.name, v.name); })[0];
    return r ? r.members : 0;
  }

  function nameItem(n, testid) {
    var li = node('li');
    li.setAttribute('data-testid', testid);
    li.dataset.nick = n;
    var b = button(n, testid + ':' + fold(n), function () { if (n !== st.me) openConv(n); });
    if (n === st.me) { li.className = 'self'; b.disabled = true; }
    else b.setAttribute('aria-label', 'Talk with ' + n + ' in private');
    li.appendChild(b);
    return li;
  }
  function renderPeople() {
    var v = activeView(), fk = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.fk;
    el.membersBox.hidden = !v || v.kind !== 'room';
    if (v && v.kind === 'room') {
      el.membersTitle.textContent = 'In #' + v.name;
      el.memberCount.textContent = String(v.members.length);
      fill(el.members, sortNicks(v.members).map(function (n) { return nameItem(n, 'member-item'); }));
    }
    fill(el.users, sortNicks(st.users).map(function (n) { return nameItem(n, 'user-item'); }));
    el.userCount.textContent = String(st.users.length);
    var stale = st.everOnline && !st.online;
    if (stale) el.people.dataset.stale = ''; else delete el.people.dataset.stale;
    el.stale.hidden = !stale;
    if (stale) el.stale.textContent = 'You are offline. These lists are from ' +
      clock(new Date(st.offlineSince || Date.now())) + ' and may be out of date.';
    if (fk) {
      var f = el.people.querySelector('[data-fk="' + CSS.escape(fk) + '"]');
      if (f) f.focus();
    }
  }
  function renderTarget() {
    var v = activeView();
    if (!v) return;
    var info = '';
    if (v.kind === 'room') info = v.joined ? v.members.length + (v.members.length === 1 ? ' person' : ' people') : 'not joined';
    if (v.kind === 'pm') info = isOnline(v.name) ? 'online' : 'not online';
    el.targetInfo.textContent = info;
    el.leave.hidden = v.kind === 'server';
    el.leave.textContent = v.kind === 'room' && v.joined ? 'Leave' : 'Close';
    el.leave.setAttribute('aria-label', v.kind === 'room' && v.joined ? 'Leave #' + v.name : 'Close ' + title(v));
  }
  function setTitle() {
    var v = activeView();
    document.title = (st.titleCount ? '(' + st.titleCount + ') ' : '') +
      (v && st.everOnline && v.kind !== 'server' ? title(v) + ' \u2013 ' : '') + 'Switchboard';
  }

  function isOnline(n) { return st.users.some(function (u) { return same(u, n); }); }
  function addUser(n) {
    if (n && !isOnline(n)) { st.users.push(n); renderPeople(); renderTarget(); }
  }
  function delUser(n) {
    st.users = st.users.filter(function (u) { return !same(u, n); });
  }
  function hasMember(v, n) { return v.members.some(function (u) { return same(u, n); }); }
  function addMember(v, n) { if (n && !hasMember(v, n)) v.members.push(n); }
  function delMember(v, n) { v.members = v.members.filter(function (u) { return !same(u, n); }); }

  function setStatus(state, text) {
    el.status.hidden = state === 'idle';
    el.status.dataset.state = state;
    el.status.textContent = text || state;
  }
  /* The bar above the log for the states that matter: offline, kicked. */
  function banner(text, action, fn) {
    el.banner.hidden = !text;
    el.bannerText.textContent = text || '';
    el.bannerAction.hidden = !action;
    el.bannerAction.textContent = action || '';
    el.bannerAction.onclick = fn || null;
  }
  function drawer(which, open) {
    var t = which === 'nav' ? el.navToggle : el.peopleToggle;
    if (open) document.body.setAttribute('data-' + which, ''); else document.body.removeAttribute('data-' + which);
    t.setAttribute('aria-expanded', open ? 'true' : 'false');
  }
  function closeDrawers() { drawer('nav', false); drawer('people', false); }
  /* Open or close one drawer (the other closes); focus the first of `sel` in `box` on opening. */
  function toggleDrawer(which, box, sel) {
    var open = !document.body.hasAttribute('data-' + which);
    drawer(which, open);
    drawer(which === 'nav' ? 'people' : 'nav', false);
    if (open) { var b = box.querySelector(sel); if (b) b.focus(); }
  }

  /* The URL fragment names the open view: #/room/NAME, #/private/NICK. */
  function parseRoute(h) {
    var r = /^#\/(room|private)\/(.+)$/.exec(h || '');
    if (!r) return null;
    try { return { kind: r[1] === 'room' ? 'room' : 'pm', name: decodeURIComponent(r[2]) }; } catch (e) { return null; }
  }
  function setRoute(v) {
    var h = v.kind === 'room' ? '#/room/' + encodeURIComponent(v.name) :
      v.kind === 'pm' ? '#/private/' + encodeURIComponent(v.name) : '#/';
    if (st.everOnline && location.hash !== h) history.replaceState(null, '', h);
  }
  function goRoute(r) {
    if (!r) return;
    if (r.kind === 'pm') { openConv(r.name); return; }
    var v = view('room', stripHash(r.name));
    if (v && v.joined) switchTo(v); else joinRoom(stripHash(r.name), true);
  }

  /* sending */

  /* Send a command; `expect` describes its answer (see answered()).
   * Metered commands go out at our own pace, so a burst of joins after a
   * reconnect stays under the hub's flood limit.  False when offline. */
  function sendCmd(obj, expect) {
    if (!st.ws || st.ws.readyState !== 1 || !st.online && obj.type !== 'login') return false;
    expect = expect || {};
    expect.type = obj.type;
    expect.view = expect.view || st.active;
    if (METERED[obj.type]) { st.queue.push([obj, expect]); pump(); } else transmit(obj, expect);
    return true;
  }
  function transmit(obj, expect) {
    st.ws.send(JSON.stringify(obj));
    if (expect) st.pending.push(expect);
  }
  function pump() {
    while (st.queue.length && st.tokens >= 1 && st.ws) {
      st.tokens--;
      var q = st.queue.shift();
      transmit(q[0], q[1]);
    }
    if (!st.tokenTimer && st.tokens < BURST)
      st.tokenTimer = setTimeout(function () {
        st.tokenTimer = 0;
        st.tokens = Math.min(BURST, st.tokens + 1);
        pump();
      }, REFILL_MS);
  }
  /* The answer to a command came: the first pending one that `fits`.
   * Answers come in the order of the commands (docs/delivery.md), so the
   * ones before it were answered already, by nothing we show. */
  function answered(fits) {
    for (var i = 0; i < st.pending.length; i++) {
      if (!fits(st.pending[i])) continue;
      var p = st.pending[i], before = st.pending.splice(0, i + 1);
      before.pop();
      before.forEach(function (b) { if (b.li) setState(b.li, 'sent'); });
      return p;
    }
    return null;
  }
  /* Nothing more will answer: the socket is gone. */
  function failPending(why) {
    st.pending.concat(st.queue.map(function (q) { return q[1]; })).forEach(function (p) {
      if (!p.li) return;
      setState(p.li, 'unconfirmed', why);
      var v = st.views[p.view];
      if (v) v.unconfirmed.push(p.li);
    });
    st.pending = [];
    st.queue = [];
  }

  /* A message typed in v: shown at once, marked when the echo (sent) or
   * an error (failed) answers it. */
  function sendText(v, text, action) {
    var mine = { from: st.me, time: new Date().toISOString() }, obj;
    if (v.kind === 'room') {
      mine.room = v.name;
      obj = { type: action ? 'me' : 'say', room: v.name, text: text };
    } else {
      mine.to = v.name;
      obj = { type: action ? 'me' : 'msg', to: v.name, text: text };
    }
    var li = showMsg(v, mine, text, action, true);
    li.dataset.text = text;
    setState(li, 'pending');
    /* A room being joined again after a reconnect (wanted) takes the
     * message: the join goes out first, from the same queue. */
    if (v.kind === 'room' && !v.joined && !v.wanted) setState(li, 'failed', 'you are not in #' + v.name + ' (/join ' + v.name + ')');
    else if (!sendCmd(obj, { li: li, text: text, view: v.key })) setState(li, 'failed', 'not connected.');
  }

  function joinRoom(name, activate) {
    name = stripHash(name);
    var v = view('room', name), obj = { type: 'join', room: name };
    if (v && v.seq) { obj.since = v.seq; v.since = true; }
    if (!sendCmd(obj, { room: name, activate: activate })) {
      errorEntry(activeView(), 'Not connected: cannot join #' + name + ' now.');
      return false;
    }
    return true;
  }
  function openConv(nick, stay) {
    var v = view('pm', nick, true);
    if (!stay) switchTo(v);
    return v;
  }

  /* commands */

  var COMMANDS = [
    ['join', 'ROOM', 'join a room, or create it', cmdJoin],
    ['part', '[ROOM]', 'leave this room, or ROOM', cmdPart],
    ['nick', 'NEW', 'change your nick', cmdNick],
    ['me', 'ACTION', 'say what you do: /me waves', cmdMe],
    ['msg', 'NICK TEXT', 'send NICK a private message', cmdMsg],
    ['names', '', 'list who is in this room', cmdNames],
    ['rooms', '', 'list the rooms of this server', cmdRooms],
    ['quit', '[REASON]', 'log out', cmdQuit],
    ['help', '', 'show this list', cmdHelp]
  ];

  function runCommand(text) {
    var m = /^\/(\S+)\s*([\s\S]*)$/.exec(text), name = fold(m[1]), v = activeView();
    for (var i = 0; i < COMMANDS.length; i++)
      if (COMMANDS[i][0] === name) return COMMANDS[i][3](m[2], v, COMMANDS[i]);
    errorEntry(v, 'Unknown command /' + m[1] + '. Type /help for the list; ' +
      'start with // to send a line that begins with /.', 'unknown_command').dataset.event = 'unknown-command';
  }
  function usage(v, c) { errorEntry(v, 'Usage: /' + c[0] + ' ' + c[1], 'usage'); }
  function oneWord(s) { return /^\S+$/.test(s); }

  function cmdJoin(arg, v, c) {
    var room = stripHash(arg.trim());
    if (!room || !oneWord(room)) return usage(v, c);
    var have = view('room', room);
    if (have && have.joined) switchTo(have); else joinRoom(room, true);
  }
  function cmdPart(arg, v, c) {
    var room = stripHash(arg.trim()), r = room ? view('room', room) : v;
    if (room && !oneWord(room)) return usage(v, c);
    if (!r || r.kind !== 'room') return errorEntry(v, room ? 'You are not in #' + room + '.' : 'This is not a room: /part ROOM.', 'not_in_room');
    closeView(r);
  }
  function cmdNick(arg, v, c) {
    var nick = arg.trim();
    if (!nick || !oneWord(nick)) return usage(v, c);
    if (!sendCmd({ type: 'nick', nick: nick })) errorEntry(v, 'Not connected.');
  }
  function cmdMe(arg, v, c) {
    if (!arg.trim()) return usage(v, c);
    if (v.kind === 'server') return errorEntry(v, '/me works in a room or a private conversation.');
    sendText(v, arg, true);
  }
  function cmdMsg(arg, v, c) {
    var m = /^(\S+)\s+([\s\S]*\S[\s\S]*)$/.exec(arg);
    if (!m) return usage(v, c);
    sendText(openConv(m[1]), m[2], false);
  }
  function cmdNames(arg, v) {
    var room = stripHash(arg.trim()) || (v.kind === 'room' ? v.name : '');
    if (!room) return errorEntry(v, 'This is not a room: /names ROOM.');
    if (!sendCmd({ type: 'names', room: room }, { print: true, room: room })) errorEntry(v, 'Not connected.');
  }
  function cmdRooms(arg, v) {
    if (!sendCmd({ type: 'rooms' }, { print: true })) errorEntry(v, 'Not connected.');
  }
  function cmdQuit(arg) { logout(arg.trim()); }
  function cmdHelp(arg, v) {
    var li = note(v, 'Commands:', null, 'help');
    COMMANDS.forEach(function (c) {
      note(v, '/' + c[0] + (c[1] ? ' ' + c[1] : '') + ' \u2014 ' + c[2], null, 'help');
    });
    note(v, 'Tab completes nicks and rooms; Alt+\u2191/\u2193 switch rooms; Esc closes a panel; ' +
      '//text sends a line that starts with /.', null, 'help');
    return li;
  }

  /* Tab completion of nicks, rooms and commands in the message box.  With
   * nothing to complete, Tab moves the focus on, as everywhere. */
  var comp = null;
  function completions(before, word) {
    var lw = fold(word), names, v = activeView();
    if (!before && word.charAt(0) === '/')
      names = COMMANDS.map(function (c) { return '/' + c[0] + ' '; });
    else if (word.charAt(0) === '#' || /^\/(join|part|names)\s+$/i.test(before)) {
      var pre = word.charAt(0) === '#' ? '#' : '';
      names = views('room').map(function (r) { return r.name; })
        .concat(st.roomList.map(function (r) { return r.name; }))
        .map(function (n) { return pre + n + ' '; });
    } else {
      var first = v && v.kind === 'room' ? sortNicks(v.members) : v && v.kind === 'pm' ? [v.name] : [];
      names = first.concat(sortNicks(st.users), views('pm').map(function (p) { return p.name; }))
        .filter(function (n) { return n !== st.me; })
        .map(function (n) { return n + (before ? ' ' : ': '); });
    }
    return names.filter(function (n, i) {
      return fold(n).indexOf(lw) === 0 && names.indexOf(n) === i;
    });
  }
  function complete() {
    var val = el.message.value, pos = el.message.selectionStart;
    if (comp && comp.value === val && comp.pos === pos) comp.i = (comp.i + 1) % comp.list.length;
    else {
      var start = val.lastIndexOf(' ', pos - 1) + 1, word = val.slice(start, pos);
      var list = word ? completions(val.slice(0, start), word) : [];
      if (!list.length) { comp = null; return false; }
      comp = { start: start, list: list, i: 0, tail: val.slice(pos) };
    }
    var ins = comp.list[comp.i];
    comp.value = val.slice(0, comp.start) + ins + comp.tail;
    comp.pos = comp.start + ins.length;
    el.message.value = comp.value;
    el.message.setSelectionRange(comp.pos, comp.pos);
    return true;
  }

  /* receiving */

  function onMsg(m) {
    var from = m.from || '', own = from === st.me;
    if (m.announce || !from) { tell('\u2691 ' + (m.text || ''), m, 'announce'); return; }
    /* Past presence_max the server stops announcing logins: whoever
     * speaks is online. */
    if (!m.history) addUser(from);
    if (own && !m.history && echoed(m)) return;
    var v = m.room ? view('room', m.room, true) : view('pm', own ? m.to || '' : from, true);
    if (m.room && !m.history && (!hasMember(v, from) || !v.joined)) {
      addMember(v, from);
      v.joined = true;
      renderAll();
    }
    if (m.room_seq) {
      if (m.room_seq <= v.seq) return;		/* shown already */
      v.seq = m.room_seq;
    }
    if (own && m.history && reconfirm(v, m)) return;
    if (!m.history) v.since = false;
    var li = showMsg(v, m, m.text || '', m.action, own);
    if (m.room_seq) li.dataset.seq = m.room_seq;
    if (own) li.dataset.state = 'sent';
    else if (!m.history || v.since) arrived(v, m, li);
  }
  /* Our own message came back: the one we showed is confirmed. */
  function echoed(m) {
    var p = answered(function (p) {
      return p.li && p.text === m.text && (m.room ? same(p.li.dataset.room || '', m.room) : same(p.li.dataset.to || '', m.to || ''));
    });
    if (!p) return false;
    setState(p.li, 'sent');
    var v = st.views[p.view];
    if (m.room_seq && v) { p.li.dataset.seq = m.room_seq; if (m.room_seq > v.seq) v.seq = m.room_seq; }
    return true;
  }
  /* A catch-up replay holds a message of ours whose echo the lost
   * connection took: it did get through. */
  function reconfirm(v, m) {
    for (var i = 0; i < v.unconfirmed.length; i++) {
      var li = v.unconfirmed[i];
      if (li.dataset.text === m.text) {
        v.unconfirmed.splice(i, 1);
        setState(li, 'sent');
        li.dataset.seq = m.room_seq || '';
        return true;
      }
    }
    return false;
  }
  /* Unread counts, the title count and a notification for a new message. */
  function arrived(v, m, li) {
    var important = v.kind === 'pm' || li.dataset.mention === '1';
    if (v.key !== st.active || document.hidden) {
      if (v.key !== st.active) { v.unread++; v.mention = v.mention || important; }
      renderSidebar();
    }
    if (document.hidden && important && !m.history) {
      st.titleCount++;
      setTitle();
      notify(v, m);
    }
  }
  function notify(v, m) {
    if (!window.Notification || Notification.permission !== 'granted') return;
    try {
      var n = new Notification(v.kind === 'pm' ? m.from + ' (private)' : m.from + ' in #' + v.name,
        { body: String(m.text || '').slice(0, 200), tag: v.key });
      n.onclick = function () { window.focus(); switchTo(v); n.close(); };
    } catch (e) { /* not allowed here (some mobile browsers) */ }
  }

  var handlers = {
    welcome: onWelcome,
    login: function (m) {
      addUser(m.nick);
      if (m.nick !== st.me) note(serverView(), m.nick + ' logged in.', m, 'login');
    },
    quit: function (m) {
      delUser(m.nick);
      var text = m.nick + ' quit' + (m.reason ? ' (' + m.reason + ')' : '') + '.';
      views('room').forEach(function (v) {
        if (hasMember(v, m.nick)) { delMember(v, m.nick); note(v, text, m, 'quit'); }
      });
      var c = view('pm', m.nick);
      if (c) note(c, m.nick + ' quit; messages to them will fail until they are back.', m, 'quit');
      note(serverView(), text, m, 'quit');
      renderAll();
    },
    users: function (m) {
      var list = (m.users || []).filter(function (n) { return typeof n === 'string'; });
      if (m.room) return onNames(m, list);
      answered(function (p) { return p.type === 'users'; });
      st.users = list;
      addUser(st.me);
      renderAll();
    },
    rooms: function (m) {
      var p = answered(function (p) { return p.type === 'rooms'; });
      st.roomList = (m.rooms || []).filter(function (r) { return r && typeof r.name === 'string'; });
      renderAll();
      if (p && p.print) {
        var v = st.views[p.view] || activeView();
        note(v, st.roomList.length ? 'Rooms: ' + st.roomList.map(function (r) {
          return '#' + r.name + ' (' + r.members + ')';
        }).join(', ') : 'There are no rooms.', m, 'rooms');
      }
    },
    join: onJoin,
    part: onPart,
    nick: onNick,
    msg: onMsg,
    gap: onGap,
    error: onError,
    usermsg: function (m) { onMsg({ from: m.name, to: st.me, text: m.message, time: m.time }); },
    ping: function (m) {
      if (st.ws) transmit(m.token ? { type: 'pong', token: m.token } : { type: 'pong' }, { type: 'ping' });
    },
    pong: function () { answered(function (p) { return p.type === 'ping'; }); },
    close: function (m) { st.closeInfo = { code: m.code || '', reason: m.reason || '' }; }
  };

  function onWelcome(m) {
    var again = st.everOnline;
    st.me = m.nick || st.want;
    st.want = st.me;
    st.online = st.everOnline = true;
    st.retry = 0;
    st.offlineSince = 0;
    el.me.textContent = st.me;
    showChat(true);
    setStatus('online', 'online');
    banner(null);
    sendCmd({ type: 'users' });
    var rooms = again ? views('room').filter(function (v) { return v.joined || v.wanted; }) : firstRooms();
    rooms.forEach(function (v) {
      v.joined = false;
      v.wanted = true;
      joinRoom(v.name, false);
    });
    sendCmd({ type: 'rooms' });
    if (!again && rooms.length) switchTo(rooms[0]);
    if (st.route && st.route.kind === 'pm') openConv(st.route.name);
    st.route = null;
    /* The welcome goes to the server notices only: the room's log starts
     * with its history, in time order. */
    if (again) tell('Reconnected as ' + st.me + '.', m, 'reconnected');
    else note(serverView(), 'Welcome, ' + st.me + '.', m, 'welcome');
    renderAll();
    el.message.focus();
  }
  /* The rooms of a first login: the one the link names, and the lobby. */
  function firstRooms() {
    var names = [FIRST_ROOM];
    if (st.route && st.route.kind === 'room') names.unshift(stripHash(st.route.name));
    return names.filter(function (n, i) { return n && names.indexOf(n) === i; })
      .map(function (n) { return view('room', n, true); });
  }

  function onJoin(m) {
    if (m.nick !== st.me) {
      var o = view('room', m.room);
      if (!o) return;
      addMember(o, m.nick);
      addUser(m.nick);
      note(o, m.nick + ' joined #' + m.room + '.', m, 'join');
      renderAll();
      return;
    }
    var p = answered(function (p) { return p.type === 'join' && same(p.room, m.room); });
    var v = view('room', m.room, true);
    if (v.name !== m.room) renameView(v, m.room);
    v.joined = v.wanted = true;
    v.members = (m.members || []).filter(function (n) { return typeof n === 'string'; });
    addMember(v, st.me);
    var n = v.members.length - 1;
    joinNote(v, 'You joined #' + m.room + (n ? ' (' + n + ' other' + (n > 1 ? 's' : '') + ' here)' : ' (nobody else here yet)') + '.');
    if (p && p.activate) switchTo(v); else renderAll();
  }
  function onPart(m) {
    var v = view('room', m.room);
    if (m.nick !== st.me) {
      if (!v) return;
      delMember(v, m.nick);
      note(v, m.nick + ' left #' + m.room + (m.reason && m.reason !== 'left' ? ' (' + m.reason + ')' : '') + '.', m, 'part');
      renderAll();
      return;
    }
    answered(function (p) { return p.type === 'part' && same(p.room, m.room); });
    if (v) dropView(v);
    tell('You left #' + m.room + '.', m, 'self-part');
    sendCmd({ type: 'rooms' });
  }
  function onNick(m) {
    var oldN = m.old, newN = m['new'], text = oldN + ' is now known as ' + newN + '.';
    var self = oldN === st.me;
    if (self) {
      answered(function (p) { return p.type === 'nick'; });
      st.me = st.want = newN;
      el.me.textContent = st.me;
    }
    st.users = st.users.map(function (u) { return same(u, oldN) ? newN : u; });
    views('room').forEach(function (v) {
      if (!hasMember(v, oldN)) return;
      v.members = v.members.map(function (u) { return same(u, oldN) ? newN : u; });
      note(v, text, m, 'nick');
    });
    var c = view('pm', oldN);
    if (c) { renameView(c, newN); note(c, text, m, 'nick'); }
    if (self || !c) note(serverView(), text, m, 'nick');
    if (self && activeView().kind !== 'room') note(activeView(), text, m, 'nick');
    renderAll();
  }
  function onNames(m, list) {
    var p = answered(function (p) { return p.type === 'names' && same(p.room, m.room); });
    var v = view('room', m.room);
    if (v && v.joined) { v.members = list; renderAll(); }
    if (p && p.print) note(st.views[p.view] || activeView(), 'In #' + m.room + ' (' + list.length + '): ' + sortNicks(list).join(', '), m, 'names');
  }
  /* The hub no longer holds every message after our `since`. */
  function onGap(m) {
    var v = view('room', m.room || '');
    if (!v) return;
    var first = Number(m.first) || 0, missed = first - (Number(m.since) || 0) - 1;
    if (first && first <= v.seq) v.seq = first - 1;	/* the room's numbering began again */
    note(v, missed > 0 ? missed + ' message' + (missed > 1 ? 's' : '') + ' from while you were away ' +
      (missed > 1 ? 'are' : 'is') + ' no longer in the history.' :
      'Some messages from while you were away may be missing.', m, 'gap');
  }
  function onError(m) {
    var text = m.text || m.code || 'error';
    if (!st.online) {
      if (st.everOnline) {
        /* re-login refused (our old session may linger): try again later */
        note(activeView(), 'Server said: ' + text + ' \u2014 retrying.');
        if (st.ws) st.ws.close();
        return;
      }
      el.loginError.textContent = text;
      stop();
      return;
    }
    /* The answer to the oldest command that can fail (a ping cannot). */
    var p = answered(function (x) { return x.type !== 'ping'; }), v = (p && st.views[p.view]) || activeView();
    if (p && p.li) { setState(p.li, 'failed', text); return; }
    if (p && p.type === 'join') {
      var r = view('room', p.room);
      if (m.code === 'already_joined' && r) { r.joined = true; renderAll(); return; }
      if (r && !r.joined) { r.wanted = false; v = r; renderAll(); }
      text = 'Could not join #' + p.room + ': ' + text;
    }
    errorEntry(v, text, m.code);
  }

  /* the connection */

  function connect() {
    clearTimeout(st.retryTimer);
    st.retryTimer = 0;
    st.online = false;
    st.pending = [];
    st.queue = [];
    st.tokens = BURST;
    st.closeInfo = null;
    st.connects++;
    setStatus('connecting', st.everOnline ? 'reconnecting\u2026' : 'connecting\u2026');
    /* No button while the attempt is on its way: a second would open a
     * second connection beside it (reconnectNow). */
    if (st.everOnline)
      banner('You are offline. Reconnecting\u2026 What you send now is not delivered.');
    var ws;
    try {
      ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat');
    } catch (e) { return dropped(null); }
    st.ws = ws;
    ws.onopen = function () {
      st.lastRx = Date.now();
      var m = { type: 'login', nick: st.want };
      if (st.password) m.password = st.password;   /* the server refuses "" */
      ws.send(JSON.stringify(m));
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

  /* "Reconnect now": a new attempt, unless one is on its way already. */
  function reconnectNow() {
    if (!st.ws) connect();
  }

  function dropped(ws, e) {
    if (ws && ws !== st.ws) return;
    var was = st.online, code = e && e.code;
    st.ws = null;
    st.online = false;
    failPending('Connection lost before the server confirmed this message.');
    if (st.loggingOut) { loggedOut(); return; }
    if (!st.want) return;                       /* stopped on purpose */
    var why = FINAL[code] || (st.closeInfo && FINAL_BY_NAME[st.closeInfo.code]);
    if (why) { finalStop(why, (e && e.reason) || (st.closeInfo && st.closeInfo.reason) || ''); return; }
    if (!st.everOnline && !was && st.retry >= 2) {
      /* never got in: do not hammer, let the user try again */
      el.loginError.textContent = 'Cannot reach the server.';
      stop();
      return;
    }
    if (was) {
      st.offlineSince = Date.now();
      tell('Connection lost.', null, 'lost');
    }
    var delay = Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, st.retry++));
    delay = Math.round(delay * (0.8 + Math.random() * 0.4));
    setStatus('reconnecting', 'offline, retrying in ' + Math.ceil(delay / 1000) + ' s');
    if (st.everOnline)
      banner('You are offline. Reconnecting in ' + Math.ceil(delay / 1000) + ' s; ' +
        'what you send now is not delivered.', 'Reconnect now', reconnectNow);
    st.retryTimer = setTimeout(connect, delay);
    renderAll();
  }

  /* Kicked, banned, ended: say why, and stay offline. */
  function finalStop(why, reason) {
    st.want = '';
    st.final = why;
    clearTimeout(st.retryTimer);
    st.retryTimer = 0;
    st.offlineSince = Date.now();
    var text = FINAL_TEXT[why] + (reason ? ': ' + reason : '') + '. Not reconnecting.';
    setStatus(why, why);
    tell(text, null, why);
    banner(text, 'Log in again', backToLogin);
    renderAll();
  }

  /* Back to the login form (the first login failed). */
  function stop() {
    st.want = '';
    clearTimeout(st.retryTimer);
    st.retryTimer = 0;
    if (st.ws) { var w = st.ws; st.ws = null; w.close(); }
    setStatus('idle');
    showChat(false);
  }

  /* Log out: QUIT, then the login form once the server has closed. */
  function logout(reason) {
    if (!st.ws || !st.online) { loggedOut(); return; }
    st.loggingOut = true;
    st.want = '';
    failPending('Logged out before the server confirmed this message.');
    var q = { type: 'quit' };
    if (reason) q.reason = reason;
    transmit(q, null);
    setStatus('connecting', 'logging out\u2026');
    st.logoutTimer = setTimeout(function () {
      if (st.ws) { var w = st.ws; st.ws = null; w.close(); }
      loggedOut();
    }, LOGOUT_WAIT);
  }
  function loggedOut() {
    clearTimeout(st.logoutTimer);
    st.loggingOut = false;
    stop();
    reset();
    el.loginError.textContent = 'You logged out.';
    el.nick.focus();
  }
  function backToLogin() {
    stop();
    reset();
    el.nick.focus();
  }

  /* A fresh page: no views but the server's, nobody known. */
  function reset() {
    Object.keys(st.views).forEach(function (k) { clearTimeout(st.views[k].joinTimer); st.views[k].log.remove(); });
    st.views = {};
    st.active = st.lastRoom = '';
    st.users = [];
    st.roomList = [];
    st.me = '';
    st.everOnline = false;
    st.final = '';
    st.titleCount = 0;
    banner(null);
    switchTo(view('server', 'server', true), true);
  }

  function showChat(on) {
    el.login.hidden = on;
    el.chat.hidden = !on;
    el.logout.hidden = !on;
    el.navToggle.hidden = !on;
    el.me.hidden = !on;
    el.notify.hidden = !on || !window.Notification || Notification.permission !== 'default';
    if (!on) closeDrawers();
  }

  setInterval(function () {
    if (!st.ws || st.ws.readyState !== 1) return;
    if (Date.now() - st.lastRx > DEAD_AFTER) { st.ws.close(); return; }
    if (st.online) transmit({ type: 'ping' }, { type: 'ping', view: st.active });
  }, PING_EVERY);
  setInterval(function () {
    if (st.online && !document.hidden) sendCmd({ type: 'rooms' });
  }, ROOMS_EVERY);

  /* what the user does */

  el.login.addEventListener('submit', function (e) {
    e.preventDefault();
    var n = el.nick.value.trim();
    if (!n) return;
    el.loginError.textContent = '';
    if (st.ws) { var w = st.ws; st.ws = null; w.close(); }
    reset();
    st.want = n;
    st.password = el.password.value;
    st.retry = 0;
    connect();
  });

  el.send.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = el.message.value.trim(), v = activeView();
    if (!text) return;
    el.message.value = '';
    comp = null;
    if (text.charAt(0) === '/' && text.charAt(1) !== '/') { runCommand(text); return; }
    if (text.charAt(0) === '/') text = text.slice(1);
    if (v.kind === 'server') {
      errorEntry(v, 'Nothing is sent from here: pick a room or a person, or type /help.', 'no_target');
      return;
    }
    sendText(v, text, false);
  });

  el.message.addEventListener('keydown', function (e) {
    if (e.key === 'Tab' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      if (complete()) e.preventDefault();
      return;
    }
    comp = null;
    if (e.key === 'Escape' && activeView().kind === 'pm' && st.views[st.lastRoom]) switchTo(st.views[st.lastRoom]);
  });

  el.joinForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var room = stripHash(el.joinRoom.value.trim());
    if (!room) return;
    if (!oneWord(room)) { errorEntry(activeView(), 'A room name is one word.'); return; }
    el.joinRoom.value = '';
    cmdJoin(room, activeView(), COMMANDS[0]);
  });

  el.leave.addEventListener('click', function () { var v = activeView(); if (v) closeView(v); });
  el.logout.addEventListener('click', function () { logout(''); });
  el.notify.addEventListener('click', function () {
    Notification.requestPermission().then(function () {
      el.notify.hidden = Notification.permission !== 'default';
    });
  });
  el.navToggle.addEventListener('click', function () { toggleDrawer('nav', el.sidebar, 'button'); });
  el.peopleToggle.addEventListener('click', function () { toggleDrawer('people', el.people, 'button:enabled'); });
  el.logs.addEventListener('click', function (e) {
    var w = e.target.closest('.who');
    if (w && w.dataset.nick) openConv(w.dataset.nick);
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && (document.body.hasAttribute('data-nav') || document.body.hasAttribute('data-people'))) {
      closeDrawers();
      el.message.focus();
      return;
    }
    if (!e.altKey || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown') || el.chat.hidden) return;
    var list = ordered(), i = list.indexOf(activeView());
    if (!list.length) return;
    e.preventDefault();
    switchTo(list[(i + (e.key === 'ArrowUp' ? list.length - 1 : 1)) % list.length]);
  });
  document.addEventListener('visibilitychange', function () {
    if (document.hidden) return;
    st.titleCount = 0;
    setTitle();
  });
  window.addEventListener('hashchange', function () {
    var r = parseRoute(location.hash);
    if (st.online) goRoute(r); else st.route = r;
  });

  reset();

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
    var a = activeView();
    return { me: st.me, online: st.online, active: a && a.key, to: a && a.kind === 'pm' ? a.name : null,
      users: st.users.slice(), retry: st.retry, want: st.want, retryPending: !!st.retryTimer,
      connecting: !!st.ws, connects: st.connects, final: st.final, pending: st.pending.length,
      views: ordered().map(function (v) {
        return { key: v.key, kind: v.kind, name: v.name, joined: v.joined, unread: v.unread, seq: v.seq,
          members: v.members.slice() };
      }) };
  };
})();
