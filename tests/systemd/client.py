#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Small Switchboard clients for tests/systemd/units.test.sh.

Run inside the test system's network namespace (nsenter -n).  Every read
has a deadline; every subcommand prints what it saw and exits 0 on
success, 1 on failure.

  client.py policy PORT            <policy-file-request/> NUL -> policy NUL
  client.py status                 GET /server-status -> "OK" first line
  client.py websocket              GET /chat Upgrade -> 101, right accept key;
                                   dave logs in and joins lobby over
                                   WebSocket, writes to erin on XMLSocket
  client.py chat [--while CMD] [--restart CMD]
                                   seed-000 XMLSocket: alice and bob identify,
                                   alice -> MSG bob hi; with --restart, CMD
                                   runs and the two must still chat after it
  client.py say ROOM TEXT         carol identifies, joins ROOM, says TEXT
  client.py proxied               as HAProxy on 8081: a PROXY v2 header naming
                                  192.0.2.7:4321, then frank chats with an
                                  XMLSocket client on 80
  client.py tls CA.pem             on 443, trusting CA.pem only: henry chats
                                   over TLS with ivy on 80; GET /server-status
                                   over https
  client.py flood N SECONDS        N connections within SECONDS, each asking
                                   for the policy; counts the replies
"""

import base64
import hashlib
import os
import re
import socket
import ssl
import subprocess
import sys
import time

HOST = "127.0.0.1"
POLICY_REQUEST = b"<policy-file-request/>\0"
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def connect(port, timeout=5.0):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_until(s, pred, timeout):
    """Read from s until pred(data) or EOF or the deadline; return data."""
    deadline = time.monotonic() + timeout
    data = b""
    while not pred(data):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def cmd_policy(port):
    s = connect(int(port))
    s.sendall(POLICY_REQUEST)
    data = read_until(s, lambda d: d.endswith(b"\0"), 5.0)
    s.close()
    print(repr(data))
    ok = b"<cross-domain-policy>" in data and data.endswith(b"\0")
    return 0 if ok else 1


def cmd_status():
    s = connect(80)
    s.sendall(b"GET /server-status HTTP/1.1\r\nHost: localhost\r\n"
              b"Connection: close\r\n\r\n")
    data = read_until(s, lambda d: False, 5.0)
    s.close()
    print(data.decode("utf-8", "replace"))
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        return 1
    return 0 if body.split(b"\n", 1)[0].strip() == b"OK" else 1


class WebSocket:
    """A minimal RFC 6455 client: masked text frames out, frames in."""

    def __init__(self, path):
        key = base64.b64encode(os.urandom(16))
        self.s = connect(80)
        self.s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\n"
                       b"Host: localhost\r\nUpgrade: websocket\r\n"
                       b"Connection: Upgrade\r\n"
                       b"Sec-WebSocket-Key: " + key + b"\r\n"
                       b"Sec-WebSocket-Version: 13\r\n\r\n")
        data = read_until(self.s, lambda d: b"\r\n\r\n" in d, 5.0)
        head, _, self.buf = data.partition(b"\r\n\r\n")
        print(head.decode("utf-8", "replace"))
        want = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
        self.ok = (head.startswith(b"HTTP/1.1 101") and
                   re.search(rb"(?im)^sec-websocket-accept:\s*" +
                             re.escape(want) + rb"\s*$", head) is not None)

    def send(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x81])
        if n < 126:
            head += bytes([0x80 | n])
        else:
            head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        self.s.sendall(head + mask +
                       bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _frame(self):
        """One complete frame from buf as (opcode, payload), or None."""
        b = self.buf
        if len(b) < 2:
            return None
        n, off = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, off = int.from_bytes(b[2:4], "big"), 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, off = int.from_bytes(b[2:10], "big"), 10
        if len(b) < off + n:
            return None
        self.buf = b[off + n:]
        return b[0] & 0x0F, b[off:off + n]

    def expect(self, pattern, timeout=10.0):
        """Wait for a text frame matching the regex; return it or None."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            f = self._frame()
            while f is not None:
                op, payload = f
                text = payload.decode("utf-8", "replace")
                print("ws <- %d %s" % (op, text))
                if op == 1 and rx.search(text):
                    return text
                if op == 8:
                    return None
                f = self._frame()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except (socket.timeout, OSError):
                return None
            if not chunk:
                return None
            self.buf += chunk


def cmd_websocket():
    """dave logs in over WebSocket /chat, joins lobby and writes to erin,
    who is a Flash client: one chat across both transports."""
    erin = Flash("erin")
    erin.send("IDENTIFY erin")
    ok_erin = erin.expect(r'<identify [^>]*aid="erin"') is not None
    ws = WebSocket("/chat")
    print("result handshake %s" % ("ok" if ws.ok else "fail"))
    if not ws.ok:
        return 1
    ws.send('{"type":"login","nick":"dave"}')
    ok = ws.expect(r'"type":\s*"welcome"') is not None
    ws.send('{"type":"join","room":"lobby"}')
    ok = ok and ws.expect(r'"type":\s*"join"') is not None
    print("result wsjoin %s" % ("ok" if ok else "fail"))
    ws.send('{"type":"msg","to":"erin","text":"hello from ws"}')
    got = ok_erin and erin.expect(
        r'<msg [^>]*aid="dave"[^>]*msg="hello from ws"') is not None
    print("result wsmsg %s" % ("ok" if got else "fail"))
    return 0 if ok and got else 1


class Flash:
    """One seed-000 XMLSocket client: NUL-terminated messages."""

    def __init__(self, name, port=80, first=b"", tls=None):
        self.name = name
        self.s = connect(port)
        if tls is not None:
            self.s = tls.wrap_socket(self.s, server_hostname=HOST)
        self.s.sendall(first)
        self.buf = b""
        self.closed = False

    def send(self, line):
        try:
            self.s.sendall(line.encode() + b"\0")
        except OSError as e:
            print("%s: send: %s" % (self.name, e))
            self.closed = True

    def expect(self, pattern, timeout=10.0):
        """Wait for a message matching the regex; return it or None."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            while b"\0" in self.buf:
                msg, _, self.buf = self.buf.partition(b"\0")
                text = msg.decode("utf-8", "replace")
                print("%s <- %s" % (self.name, text))
                if rx.search(text):
                    return text
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except (socket.timeout, OSError):
                return None
            if not chunk:
                print("%s: connection closed" % self.name)
                self.closed = True
                return None
            self.buf += chunk


def run(cmd):
    r = subprocess.run(cmd, shell=True, timeout=60)
    return r.returncode == 0


def cmd_chat(args):
    during = restart = None
    while args:
        opt = args.pop(0)
        if opt == "--while":
            during = args.pop(0)
        elif opt == "--restart":
            restart = args.pop(0)
        else:
            print("chat: unknown option " + opt)
            return 1
    status = 0
    alice, bob = Flash("alice"), Flash("bob")
    alice.send("IDENTIFY alice")
    got_a = alice.expect(r'<identify [^>]*aid="alice"')
    bob.send("IDENTIFY bob")
    got_b = bob.expect(r'<identify [^>]*aid="bob"')
    print("result login %s" % ("ok" if got_a and got_b else "fail"))
    if during is not None:
        print("result while %s" % ("ok" if run(during) else "fail"))
    alice.send("MSG bob hi")
    got = bob.expect(r'<msg [^>]*aid="alice"[^>]*msg="hi"')
    print("result msg %s" % ("ok" if got else "fail"))
    if not (got_a and got_b and got):
        status = 1
    if restart is not None:
        ok = run(restart)
        if ok:
            # The handlers re-register with the new hub; give them until
            # the deadline to deliver.
            deadline = time.monotonic() + 15.0
            got = None
            while (got is None and time.monotonic() < deadline and
                   not alice.closed and not bob.closed):
                alice.send("MSG bob again")
                got = bob.expect(r'<msg [^>]*aid="alice"[^>]*msg="again"',
                                 timeout=1.0)
            ok = got is not None
        print("result restart %s" % ("ok" if ok else "fail"))
    return status


def cmd_say(room, text):
    carol = Flash("carol")
    carol.send("IDENTIFY carol")
    ok = carol.expect(r'<identify [^>]*aid="carol"') is not None
    carol.send("JOIN " + room)
    ok = ok and carol.expect(r'<join [^>]*room="%s"' % re.escape(room))
    carol.send("SAY %s %s" % (room, text))
    # The hub may echo the message to the room; either way, give it a
    # moment to arrive before the connection goes.
    carol.expect(re.escape(text), timeout=2.0)
    print("result say %s" % ("ok" if ok else "fail"))
    return 0 if ok else 1


def cmd_proxied():
    """frank behind a proxy (switchboard-proxied.socket) chats with gina."""
    header = (b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c" +
              socket.inet_aton("192.0.2.7") + socket.inet_aton("127.0.0.1") +
              (4321).to_bytes(2, "big") + (8081).to_bytes(2, "big"))
    frank = Flash("frank", 8081, header)
    frank.send("IDENTIFY frank")
    ok = frank.expect(r'<identify [^>]*aid="frank"') is not None
    gina = Flash("gina")
    gina.send("IDENTIFY gina")
    ok = ok and gina.expect(r'<identify [^>]*aid="gina"') is not None
    frank.send("MSG gina hi via proxy")
    ok = ok and gina.expect(r'<msg [^>]*aid="frank"[^>]*msg="hi via proxy"')
    print("result proxied %s" % ("ok" if ok else "fail"))
    return 0 if ok else 1


def cmd_tls(ca):
    """henry over TLS on 443 chats with ivy on 80; https /server-status."""
    ctx = ssl.create_default_context(cafile=ca)
    henry = Flash("henry", 443, tls=ctx)
    henry.send("IDENTIFY henry")
    ok = henry.expect(r'<identify [^>]*aid="henry"') is not None
    ivy = Flash("ivy")
    ivy.send("IDENTIFY ivy")
    ok = ok and ivy.expect(r'<identify [^>]*aid="ivy"') is not None
    henry.send("MSG ivy hi over tls")
    ok = ok and ivy.expect(r'<msg [^>]*aid="henry"[^>]*msg="hi over tls"')
    print("result tlschat %s" % ("ok" if ok else "fail"))
    s = ctx.wrap_socket(connect(443), server_hostname=HOST)
    s.sendall(b"GET /server-status HTTP/1.1\r\nHost: localhost\r\n"
              b"Connection: close\r\n\r\n")
    data = read_until(s, lambda d: False, 5.0)
    s.close()
    print(repr(data[:200]))
    https = b"\r\n\r\nOK" in data
    print("result https %s" % ("ok" if https else "fail"))
    return 0 if ok and https else 1


def cmd_flood(n, seconds):
    n, seconds = int(n), float(seconds)
    socks, refused = [], 0
    start = time.monotonic()
    for _ in range(n):
        try:
            s = socket.create_connection((HOST, 80), timeout=2.0)
            s.sendall(POLICY_REQUEST)
            socks.append(s)
        except OSError:
            refused += 1
    opened = time.monotonic() - start
    replies = 0
    deadline = time.monotonic() + 20.0
    for s in socks:
        data = read_until(s, lambda d: d.endswith(b"\0"),
                          max(0.01, deadline - time.monotonic()))
        if b"<cross-domain-policy>" in data:
            replies += 1
        s.close()
    print("flood: %d connections opened in %.2f s, %d refused, "
          "%d policy replies" % (len(socks), opened, refused, replies))
    return 0 if opened <= seconds and len(socks) + refused == n else 1


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "policy":
        return cmd_policy(*args)
    if cmd == "status":
        return cmd_status()
    if cmd == "websocket":
        return cmd_websocket()
    if cmd == "chat":
        return cmd_chat(args)
    if cmd == "say":
        return cmd_say(*args)
    if cmd == "flood":
        return cmd_flood(*args)
    if cmd == "proxied":
        return cmd_proxied()
    if cmd == "tls":
        return cmd_tls(*args)
    print(__doc__)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError as e:
        print("error: %s" % e)
        sys.exit(1)
