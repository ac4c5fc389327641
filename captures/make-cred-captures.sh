#!/usr/bin/env bash
# Regenerate the credential sample captures in this directory: real clients
# logging in, over loopback, to real or small scripted servers, with fixed
# made-up credentials.  Run as root (packet capture needs it):
#
#     sudo captures/make-cred-captures.sh
#
# Only 127.0.0.1 is used; nothing leaves the machine.  Every file is made
# with "tcpdump -i lo" (Ethernet link type, pcap, µs timestamps).
#
# Needs these Debian packages (captures/apt-packages.txt lists them, plus
# openssl for make-captures.sh):
#   tcpdump            capture
#   tshark             tshark + capinfos, to check the captures
#   curl               HTTP client (Basic, Digest, NTLM, proxy, forms)
#   python3            Debian's /usr/bin/python3: scripted servers and the
#                      ftplib / poplib / imaplib / smtplib / pty clients
#   python3-pyftpdlib  the FTP server
#   python3-aiosmtpd   the SMTP server
#   inetutils-telnet   the telnet client
#   bind9-dnsutils     dig
#   iproute2           ss
#
# The Python servers and clients run with /usr/bin/python3, because the
# pyftpdlib and aiosmtpd modules come from Debian packages and a python3
# earlier in PATH (pyenv, a venv) would not see them.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# PLAINSIGHT_CAPTURES_OUT: write the captures elsewhere (to check this script without
# replacing the bundled ones).
OUT=${PLAINSIGHT_CAPTURES_OUT:-$SCRIPT_DIR}
# shellcheck source=captures/lib.sh
source "$SCRIPT_DIR/lib.sh"
PY=/usr/bin/python3

die() { echo "make-cred-captures: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (tcpdump needs CAP_NET_RAW)"
for t in tcpdump tshark capinfos curl "$PY" telnet dig ss; do
    command -v "$t" >/dev/null || die "missing tool: $t (see captures/apt-packages.txt)"
done
"$PY" -c 'import pyftpdlib, aiosmtpd' 2>/dev/null \
    || die "$PY cannot import pyftpdlib and aiosmtpd (apt-get install python3-pyftpdlib python3-aiosmtpd)"
curl --version | grep -q '^Features:.* NTLM' || die "this curl has no NTLM support"

# Proxy settings in the environment would send curl elsewhere.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

TCP_PORTS=(8090 8091 8092 8093 8094 2121 2122 2123 2124 2125 1110 1143 2525 2323 5353)
for p in "${TCP_PORTS[@]}"; do
    if [[ -n $(ss -Htln "sport = :$p") ]]; then die "tcp port $p already in use"; fi
done
if [[ -n $(ss -Huln "sport = :5353") ]]; then die "udp port 5353 already in use"; fi

make_workdir cred-captures

# ---------------------------------------------------------------- servers
# All the scripted HTTP servers: one file, the first argument picks the
# behaviour.  HTTP/1.1 keep-alive, every response has a Content-Length,
# TCP_NODELAY so each response leaves at once.
cat >"$WORK/http_lab.py" <<'EOF'
import base64, hashlib, hmac, http.server, re, socket, struct, sys

MODE, HOST, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])

BASIC_USERS = {"alice": "Wonderland-42", "bob": "Pr0xy-Pass"}
DIGEST_USERS = {"carol": "D1gest-Secret"}
NTLM_USERS = {("LAB", "dave"): "Ntlm-Pass-7"}
REALM = "lab"
# Fixed so that the challenge is the same on every run.
DIGEST_NONCE = "5f3a9c2e7b1d4e6f8a0b2c4d6e8f0a1b"
DIGEST_OPAQUE = "0pl41ns1ght0paque"
NTLM_CHALLENGE = bytes.fromhex("1122334455667788")

PAGE = """<!DOCTYPE html>
<html><head><title>plainsight lab</title></head>
<body><p>{}</p></body></html>
"""
LOGIN_FORM = """<!DOCTYPE html>
<html><head><title>Sign in - plainsight lab</title></head>
<body>
<form method="post" action="/login">
<label>User <input type="text" name="username"></label>
<label>Password <input type="password" name="password"></label>
<button>Sign in</button>
</form>
</body></html>
"""


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def md4(data):
    """MD4 (RFC 1320); OpenSSL 3 no longer gives it to hashlib by default."""
    def rotl(v, s):
        return ((v << s) | (v >> (32 - s))) & 0xFFFFFFFF
    rounds = (
        (lambda x, y, z: (x & y) | (~x & z), range(16), (3, 7, 11, 19), 0),
        (lambda x, y, z: (x & y) | (x & z) | (y & z),
         (0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), (3, 5, 9, 13), 0x5A827999),
        (lambda x, y, z: x ^ y ^ z,
         (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15), (3, 9, 11, 15), 0x6ED9EBA1),
    )
    msg = bytearray(data) + b"\x80"
    while len(msg) % 64 != 56:
        msg.append(0)
    msg += struct.pack("<Q", len(data) * 8)
    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[off:off + 64])
        v = list(h)
        for fn, order, shifts, const in rounds:
            for i in range(16):
                j = -i % 4
                t = v[j] + fn(v[(j + 1) % 4], v[(j + 2) % 4], v[(j + 3) % 4]) + x[order[i]] + const
                v[j] = rotl(t & 0xFFFFFFFF, shifts[i % 4])
        h = [(a + b) & 0xFFFFFFFF for a, b in zip(h, v)]
    return struct.pack("<4I", *h)


assert md4(b"").hex() == "31d6cfe0d16ae931b73c59d7e0c089c0"


def ntlm_type2():
    """An NTLMSSP CHALLENGE message (MS-NLMP 2.2.1.2)."""
    target = "LAB".encode("utf-16-le")
    info = b""
    for av_id, value in ((2, "LAB"), (1, "FILESERVER"), (4, "lab.test"), (3, "fileserver.lab.test")):
        v = value.encode("utf-16-le")
        info += struct.pack("<HH", av_id, len(v)) + v
    info += struct.pack("<HH", 0, 0)                      # MsvAvEOL
    flags = (0x00000001      # NEGOTIATE_UNICODE
             | 0x00000004    # REQUEST_TARGET
             | 0x00000200    # NEGOTIATE_NTLM
             | 0x00008000    # NEGOTIATE_ALWAYS_SIGN
             | 0x00010000    # TARGET_TYPE_DOMAIN
             | 0x00080000    # NEGOTIATE_EXTENDED_SESSIONSECURITY
             | 0x00800000    # NEGOTIATE_TARGET_INFO
             | 0x02000000    # NEGOTIATE_VERSION
             | 0x20000000    # NEGOTIATE_128
             | 0x80000000)   # NEGOTIATE_56
    base = 56
    return (b"NTLMSSP\0" + struct.pack("<I", 2)
            + struct.pack("<HHI", len(target), len(target), base)
            + struct.pack("<I", flags)
            + NTLM_CHALLENGE + b"\0" * 8
            + struct.pack("<HHI", len(info), len(info), base + len(target))
            + bytes([10, 0]) + struct.pack("<H", 19041) + b"\0\0\0\x0f"   # version 10.0.19041, rev 15
            + target + info)


def ntlm_type3_ok(msg):
    """Check an NTLMSSP AUTHENTICATE message (NTLMv2) against NTLM_USERS."""
    if msg[:8] != b"NTLMSSP\0" or struct.unpack_from("<I", msg, 8)[0] != 3:
        return False, "not a type 3 message"

    def field(off):
        ln, _, at = struct.unpack_from("<HHI", msg, off)
        return msg[at:at + ln]
    nt = field(20)
    domain = field(28).decode("utf-16-le")
    user = field(36).decode("utf-16-le")
    password = NTLM_USERS.get((domain.upper(), user.lower()))
    if password is None:
        return False, f"unknown user {domain}\\{user}"
    if len(nt) <= 24:
        return False, f"{domain}\\{user}: NTLMv1 response, not checked"
    nt_hash = md4(password.encode("utf-16-le"))
    v2_key = hmac.new(nt_hash, (user.upper() + domain).encode("utf-16-le"), "md5").digest()
    proof = hmac.new(v2_key, NTLM_CHALLENGE + nt[16:], "md5").digest()
    return proof == nt[:16], f"{domain}\\{user} NTProofStr {nt[:16].hex()}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))
        sys.stderr.flush()

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, code, body, ctype="text/html; charset=utf-8", headers=()):
        body = body.encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        getattr(self, "mode_" + MODE.replace("-", "_"))()

    do_POST = do_PUT = do_GET

    # -- Basic, also as a proxy ----------------------------------------
    def mode_basic(self):
        self.read_body()
        proxy = self.path.startswith("http://")
        value = self.headers.get("Proxy-Authorization" if proxy else "Authorization", "")
        user = None
        if value.startswith("Basic "):
            u, _, p = base64.b64decode(value[6:]).decode().partition(":")
            if BASIC_USERS.get(u) == p:
                user = u
        if user:
            self.reply(200, PAGE.format(f"Welcome, {user}."))
        elif proxy:
            self.reply(407, PAGE.format("Proxy authentication required."),
                       headers=[("Proxy-Authenticate", 'Basic realm="lab-proxy"')])
        else:
            self.reply(401, PAGE.format("Authentication required."),
                       headers=[("WWW-Authenticate", f'Basic realm="{REALM}"')])

    # -- Digest (RFC 7616, MD5, qop=auth) --------------------------------
    def mode_digest(self):
        self.read_body()
        value = self.headers.get("Authorization", "")
        if value.startswith("Digest "):
            p = {m.group(1).lower(): (m.group(3) if m.group(3) is not None else m.group(2))
                 for m in re.finditer(r'(\w+)=("((?:[^"\\]|\\.)*)"|[^,\s]*)', value[7:])}
            password = DIGEST_USERS.get(p.get("username"))
            if password is not None and p.get("nonce") == DIGEST_NONCE:
                ha1 = md5(f"{p['username']}:{REALM}:{password}")
                ha2 = md5(f"{self.command}:{p['uri']}")
                want = md5(f"{ha1}:{DIGEST_NONCE}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}")
                if p.get("response") == want:
                    self.reply(200, PAGE.format(f"Welcome, {p['username']} (digest)."))
                    return
        self.reply(401, PAGE.format("Authentication required."), headers=[(
            "WWW-Authenticate",
            f'Digest realm="{REALM}", qop="auth", algorithm=MD5, '
            f'nonce="{DIGEST_NONCE}", opaque="{DIGEST_OPAQUE}"')])

    # -- NTLM ------------------------------------------------------------
    def mode_ntlm(self):
        self.read_body()
        value = self.headers.get("Authorization", "")
        if value.startswith("NTLM "):
            msg = base64.b64decode(value[5:])
            kind = struct.unpack_from("<I", msg, 8)[0] if len(msg) >= 12 else 0
            if kind == 1:
                self.reply(401, PAGE.format("NTLM challenge."), headers=[
                    ("WWW-Authenticate", "NTLM " + base64.b64encode(ntlm_type2()).decode())])
                return
            if kind == 3:
                ok, why = ntlm_type3_ok(msg)
                self.log_message("NTLM type 3: %s: %s", "ok" if ok else "REJECTED", why)
                if ok:
                    self.reply(200, PAGE.format("Welcome (NTLM)."))
                    return
        self.reply(401, PAGE.format("Authentication required."),
                   headers=[("WWW-Authenticate", "NTLM")])

    # -- anything goes ---------------------------------------------------
    def mode_any(self):
        self.read_body()
        self.reply(200, PAGE.format(f"You asked for {self.path}."))

    # -- forms -----------------------------------------------------------
    def mode_forms(self):
        body = self.read_body()
        if self.command == "GET" and self.path == "/login":
            self.reply(200, LOGIN_FORM)
        elif self.command == "GET":
            self.reply(200, PAGE.format("Welcome back."))
        else:
            self.reply(200, PAGE.format(f"Received {len(body)} bytes."))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


Server((HOST, PORT), Handler).serve_forever()
EOF

# POP3 (RFC 1939: USER/PASS, APOP, STAT, QUIT), IMAP4rev1 (CAPABILITY,
# LOGIN with quoted strings and literals, AUTHENTICATE PLAIN, LOGOUT),
# telnet (option negotiation, login: with echo, Password: without) and
# DNS (UDP and TCP).  The first argument picks the server.
cat >"$WORK/lab_servers.py" <<'EOF'
import base64, hashlib, re, socket, socketserver, struct, sys, threading

KIND, HOST, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class Nodelay:
    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()


# ------------------------------------------------------------------ POP3
APOP_STAMP = b"<1896.697170952@lab.test>"
POP_USERS = {b"kate": b"P0p3-Pass", b"leo": b"apop-secret"}


class POP3(Nodelay, socketserver.StreamRequestHandler):
    def handle(self):
        out = self.wfile.write
        out(b"+OK plainsight lab POP3 server ready " + APOP_STAMP + b"\r\n")
        user = authed = None
        for line in self.rfile:
            cmd, _, arg = line.rstrip(b"\r\n").partition(b" ")
            cmd = cmd.upper()
            log("POP3", cmd, arg)
            if cmd == b"USER" and not authed:
                user = arg
                out(b"+OK send your password\r\n")
            elif cmd == b"PASS" and user and not authed:
                if POP_USERS.get(user) == arg:
                    authed = user
                    out(b"+OK maildrop locked and ready\r\n")
                else:
                    out(b"-ERR [AUTH] invalid user name or password\r\n")
            elif cmd == b"APOP" and not authed:
                name, _, digest = arg.partition(b" ")
                pw = POP_USERS.get(name)
                if pw and hashlib.md5(APOP_STAMP + pw).hexdigest().encode() == digest:
                    authed = name
                    out(b"+OK maildrop locked and ready\r\n")
                else:
                    out(b"-ERR [AUTH] permission denied\r\n")
            elif cmd == b"STAT" and authed:
                out(b"+OK 1 320\r\n")
            elif cmd == b"NOOP" and authed:
                out(b"+OK\r\n")
            elif cmd == b"QUIT":
                out(b"+OK plainsight lab POP3 server signing off\r\n")
                return
            else:
                out(b"-ERR command not understood here\r\n")


# ------------------------------------------------------------------ IMAP
IMAP_USERS = {b"mallory": b"Imap-Pass-3", b"nina": b'pass with "quotes" and spaces',
              b"oscar": b"Plain-Auth-4", b"peggy": b"Lit-Pass!"}
TOKEN = re.compile(rb'\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))')


def tokens(s):
    out, pos = [], 0
    while True:
        m = TOKEN.match(s, pos)
        if not m:
            return out
        out.append(re.sub(rb"\\(.)", rb"\1", m.group(1)) if m.group(1) is not None else m.group(2))
        pos = m.end()


class IMAP(Nodelay, socketserver.StreamRequestHandler):
    def read_command(self):
        """One command as a list of strings; literals {N} are read inline."""
        line = self.rfile.readline()
        if not line:
            return None
        args = []
        while True:
            body = line.rstrip(b"\r\n")
            m = re.search(rb"\{(\d+)\}$", body)
            if not m:
                return args + tokens(body)
            args += tokens(body[:m.start()])
            self.wfile.write(b"+ Ready for literal data\r\n")
            args.append(self.rfile.read(int(m.group(1))))
            line = self.rfile.readline()

    def login(self, tag, user, password, what):
        if IMAP_USERS.get(user) == password:
            self.wfile.write(tag + b" OK [CAPABILITY IMAP4rev1] " + what + b" completed\r\n")
        else:
            self.wfile.write(tag + b" NO [AUTHENTICATIONFAILED] invalid credentials\r\n")

    def handle(self):
        out = self.wfile.write
        out(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
        while True:
            args = self.read_command()
            if args is None:
                return
            log("IMAP", args)
            if len(args) < 2:
                out(b"* BAD missing command\r\n")
                continue
            tag, cmd = args[0], args[1].upper()
            if cmd == b"CAPABILITY":
                out(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK CAPABILITY completed\r\n")
            elif cmd == b"LOGIN" and len(args) == 4:
                self.login(tag, args[2], args[3], b"LOGIN")
            elif cmd == b"AUTHENTICATE" and len(args) >= 3 and args[2].upper() == b"PLAIN":
                if len(args) == 4:
                    resp = args[3]
                else:
                    out(b"+ \r\n")
                    resp = self.rfile.readline().strip()
                try:
                    _authz, user, password = base64.b64decode(resp, validate=True).split(b"\0")
                except ValueError:
                    out(tag + b" BAD invalid SASL PLAIN response\r\n")
                    continue
                self.login(tag, user, password, b"AUTHENTICATE")
            elif cmd == b"NOOP":
                out(tag + b" OK NOOP completed\r\n")
            elif cmd == b"LOGOUT":
                out(b"* BYE plainsight lab IMAP server logging out\r\n" + tag + b" OK LOGOUT completed\r\n")
                return
            else:
                out(tag + b" BAD command not understood here\r\n")


# ------------------------------------------------------------------ telnet
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA, TTYPE = 1, 3, 24
TELNET_USERS = {b"sam": b"Tel-Pass-8"}


class Telnet(Nodelay, socketserver.BaseRequestHandler):
    def setup(self):
        super().setup()
        self.data = bytearray()      # user data, IAC sequences removed
        self.raw = bytearray()       # received, not yet parsed
        self.said = {}               # option -> client's WILL/WONT
        self.ttype = None

    def send(self, b):
        self.request.sendall(b)

    def pump(self):
        chunk = self.request.recv(4096)
        if not chunk:
            raise EOFError
        self.raw += chunk
        r = self.raw
        while r:
            if r[0] != IAC:
                self.data.append(r.pop(0))
                continue
            if len(r) < 2:
                return
            if r[1] == IAC:
                self.data.append(IAC)
                del r[:2]
            elif r[1] in (WILL, WONT, DO, DONT):
                if len(r) < 3:
                    return
                verb, opt = r[1], r[2]
                del r[:3]
                if verb in (WILL, WONT):
                    self.said[opt] = verb
                    if verb == WILL and opt != TTYPE:
                        self.send(bytes([IAC, DONT, opt]))
                elif verb == DO and opt not in (ECHO, SGA):
                    self.send(bytes([IAC, WONT, opt]))
            elif r[1] == SB:
                end = r.find(bytes([IAC, SE]))
                if end < 0:
                    return
                sub = bytes(r[2:end])
                del r[:end + 2]
                if sub[:2] == bytes([TTYPE, 0]):          # TTYPE IS ...
                    self.ttype = sub[2:].decode(errors="replace")
            else:
                del r[:2]                                 # NOP, GA, ...

    def readline(self, echo):
        line = bytearray()
        while True:
            while not self.data:
                self.pump()
            c = self.data.pop(0)
            if c in (0, 10) and not line:                 # the \0 / \n after \r
                continue
            if c in (13, 10):
                if echo:
                    self.send(b"\r\n")
                return bytes(line)
            if c in (8, 127):
                if line:
                    line.pop()
                    if echo:
                        self.send(b"\b \b")
                continue
            line.append(c)
            if echo:
                self.send(bytes([c]))

    def handle(self):
        try:
            self.send(bytes([IAC, DO, TTYPE, IAC, WILL, ECHO, IAC, WILL, SGA]))
            while TTYPE not in self.said:
                self.pump()
            if self.said[TTYPE] == WILL:
                self.send(bytes([IAC, SB, TTYPE, 1, IAC, SE]))   # TTYPE SEND
                while self.ttype is None:
                    self.pump()
            self.send(b"\r\nDebian GNU/Linux 12 (plainsight lab)\r\n\r\nlab login: ")
            user = self.readline(echo=True)
            self.send(b"Password: ")
            password = self.readline(echo=False)
            self.send(b"\r\n")
            log("telnet", self.ttype, user, password)
            if TELNET_USERS.get(user) != password:
                self.send(b"\r\nLogin incorrect\r\n")
                return
            self.send(b"Linux lab 6.1.0 x86_64\r\n\r\n"
                      b"The programs included with the plainsight lab are free software.\r\n"
                      + user + b"@lab:~$ ")
            while self.readline(echo=True) != b"exit":
                self.send(user + b"@lab:~$ ")
            self.send(b"logout\r\n")
        except EOFError:
            pass


# ------------------------------------------------------------------ DNS
ZONE = {                                               # (name, qtype) -> RDATA
    ("lab.plainsight.test", 1): socket.inet_pton(socket.AF_INET, "192.0.2.10"),
    ("lab.plainsight.test", 28): socket.inet_pton(socket.AF_INET6, "2001:db8::10"),
    ("tcp.plainsight.test", 16): b"\x1cplainsight answered over TCP",   # one 28-byte string
}
NAMES = {name for name, _ in ZONE}


def dns_answer(q):
    qid, flags = struct.unpack_from(">HH", q)
    pos, labels = 12, []
    while q[pos]:
        labels.append(q[pos + 1:pos + 1 + q[pos]])
        pos += 1 + q[pos]
    qtype, _qclass = struct.unpack_from(">HH", q, pos + 1)
    question = q[12:pos + 5]
    name = b".".join(labels).decode().lower()
    rdata = ZONE.get((name, qtype))
    rcode = 0 if name in NAMES else 3                     # NOERROR / NXDOMAIN
    answers = b""
    if rdata is not None:
        answers = b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, 300, len(rdata)) + rdata
    rflags = 0x8000 | 0x0400 | (flags & 0x0100) | rcode    # QR, AA, RD copied
    log("DNS", name, qtype, "rcode", rcode)
    return struct.pack(">HHHHHH", qid, rflags, 1, 1 if answers else 0, 0, 0) + question + answers


class DNSUDP(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(dns_answer(data), self.client_address)


class DNSTCP(Nodelay, socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            q = self.rfile.read(struct.unpack(">H", head)[0])
            a = dns_answer(q)
            self.wfile.write(struct.pack(">H", len(a)) + a)


class UDPServer(socketserver.UDPServer):
    allow_reuse_address = True


if KIND == "dns":
    udp = UDPServer((HOST, PORT), DNSUDP)
    threading.Thread(target=udp.serve_forever, daemon=True).start()
    TCPServer((HOST, PORT), DNSTCP).serve_forever()
else:
    TCPServer((HOST, PORT), {"pop3": POP3, "imap": IMAP, "telnet": Telnet}[KIND]).serve_forever()
EOF

cat >"$WORK/ftp_server.py" <<'EOF'
import logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

host, port, home = sys.argv[1], int(sys.argv[2]), sys.argv[3]
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
authorizer = DummyAuthorizer()
authorizer.add_user("ftpuser", "Ftp-Pass-1", home, perm="elr")
FTPHandler.authorizer = authorizer
FTPHandler.banner = "plainsight lab FTP server (pyftpdlib) ready."
FTPHandler.passive_ports = list(range(port + 1, port + 5))
FTPHandler.auth_failed_timeout = 1      # delay before "530" (default 3 s)
FTPServer((host, port), FTPHandler).serve_forever()
EOF

cat >"$WORK/smtp_server.py" <<'EOF'
import sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

host, port = sys.argv[1], int(sys.argv[2])
USERS = {b"quentin": b"Smtp-Plain-5", b"rachel": b"Smtp-Login-6"}


class Handler:
    async def handle_DATA(self, server, session, envelope):
        print("mail from", envelope.mail_from, "to", envelope.rcpt_tos,
              len(envelope.content), "bytes", file=sys.stderr, flush=True)
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and USERS.get(auth_data.login) == auth_data.password
    print("AUTH", mechanism, auth_data, ok, file=sys.stderr, flush=True)
    return AuthResult(success=ok)


controller = Controller(Handler(), hostname=host, port=port, server_hostname="mail.lab.test",
                        authenticator=authenticator, auth_require_tls=False)
controller.start()      # also makes one test connection, before tcpdump starts
print("listening", file=sys.stderr, flush=True)
threading.Event().wait()
EOF

# ---------------------------------------------------------------- clients
cat >"$WORK/ftp_client.py" <<'EOF'
import ftplib, sys
host, port = sys.argv[1], int(sys.argv[2])
ftp = ftplib.FTP()
ftp.connect(host, port)
ftp.login("ftpuser", "Ftp-Pass-1")
listing = []
ftp.retrlines("LIST", listing.append)
assert any("readme.txt" in l for l in listing), listing
ftp.quit()
ftp = ftplib.FTP()
ftp.connect(host, port)
try:
    ftp.login("ftpuser", "bad-ftp-pass")
    sys.exit("bad-ftp-pass was accepted")
except ftplib.error_perm as e:
    print("rejected as expected:", e, file=sys.stderr)
ftp.quit()
EOF

cat >"$WORK/pop3_client.py" <<'EOF'
import hashlib, poplib, sys
host, port = sys.argv[1], int(sys.argv[2])
p = poplib.POP3(host, port)
p.user("kate")
p.pass_("P0p3-Pass")
print("kate:", p.stat(), file=sys.stderr)
p.quit()
p = poplib.POP3(host, port)
p.apop("leo", "apop-secret")
print("leo:", p.stat(), file=sys.stderr)
p.quit()
print("APOP digest:", hashlib.md5(b"<1896.697170952@lab.test>apop-secret").hexdigest(), file=sys.stderr)
EOF

cat >"$WORK/imap_client.py" <<'EOF'
import imaplib, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
for user, password in (("mallory", "Imap-Pass-3"), ("nina", 'pass with "quotes" and spaces')):
    m = imaplib.IMAP4(host, port)
    print(user, m.login(user, password), file=sys.stderr)
    m.logout()
m = imaplib.IMAP4(host, port)
print("oscar", m.authenticate("PLAIN", lambda _: b"\0oscar\0Plain-Auth-4"), file=sys.stderr)
m.logout()

# LOGIN with both arguments as literals, by hand: imaplib never sends those.
s = socket.create_connection((host, port))
f = s.makefile("rb")
def expect(prefix):
    line = f.readline()
    assert line.startswith(prefix), (prefix, line)
expect(b"* OK")
s.sendall(b"a1 LOGIN {5}\r\n")
expect(b"+ ")
s.sendall(b"peggy {9}\r\n")
expect(b"+ ")
s.sendall(b"Lit-Pass!\r\n")
expect(b"a1 OK")
s.sendall(b"a2 LOGOUT\r\n")
expect(b"* BYE")
expect(b"a2 OK")
f.close()
s.close()
EOF

cat >"$WORK/smtp_client.py" <<'EOF'
import smtplib, sys
host, port = sys.argv[1], int(sys.argv[2])
s = smtplib.SMTP(host, port, local_hostname="client.lab.test")
s.ehlo()
s.user, s.password = "quentin", "Smtp-Plain-5"
print(s.auth("PLAIN", s.auth_plain), file=sys.stderr)       # AUTH PLAIN <initial response>
s.sendmail("quentin@lab.test", ["rachel@lab.test"],
           "From: quentin@lab.test\r\nTo: rachel@lab.test\r\nSubject: plainsight lab\r\n"
           "\r\nThis mail travelled in clear text.\r\n")
s.quit()
s = smtplib.SMTP(host, port, local_hostname="client.lab.test")
s.ehlo()
s.user, s.password = "rachel", "Smtp-Login-6"
print(s.auth("LOGIN", s.auth_login, initial_response_ok=False), file=sys.stderr)  # two 334 prompts
s.quit()
EOF

# The real telnet client on a pseudo-terminal, typing one key at a time.
cat >"$WORK/telnet_client.py" <<'EOF'
import os, pty, select, sys, time
host, port = sys.argv[1], sys.argv[2]
os.environ["TERM"] = "xterm"
pid, fd = pty.fork()
if pid == 0:
    os.execvp("telnet", ["telnet", host, port])
seen = bytearray()
def expect(pattern, timeout=10):
    deadline = time.monotonic() + timeout
    while pattern not in seen:
        if time.monotonic() > deadline:
            sys.exit(f"telnet: timed out waiting for {pattern!r}; got {bytes(seen)!r}")
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:          # EIO: telnet has exited
                chunk = b""
            if not chunk:
                sys.exit(f"telnet: ended while waiting for {pattern!r}; got {bytes(seen)!r}")
            seen.extend(chunk)
def type_slowly(text):
    for ch in text:
        os.write(fd, ch.encode())
        time.sleep(0.2)
    os.write(fd, b"\r")
expect(b"login: ")
type_slowly("sam")
expect(b"Password: ")
type_slowly("Tel-Pass-8")
expect(b"sam@lab:~$ ")
type_slowly("exit")
expect(b"Connection closed by foreign host")
os.waitpid(pid, 0)
sys.stderr.write(seen.decode(errors="replace").replace("\r", "") + "\n")
EOF

# ---------------------------------------------------------------- helpers



start_server() {  # port logname command...
    local port=$1 name=$2; shift 2
    "$@" >>"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    wait_listen "$port"
}

CAP_PID=


# Every TCP connection must have SYN, SYN/ACK, a FIN from each side and no
# RST; tshark must flag nothing (retransmissions, lost segments...).
check_tcp() {     # file expected-connection-count
    tshark -r "$1" -Y tcp -T fields -E separator=' ' \
        -e tcp.stream -e tcp.srcport -e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.fin -e tcp.flags.reset \
        | "$PY" -c '
import collections, sys
want = int(sys.argv[1])
st = collections.defaultdict(lambda: {"syn": 0, "synack": 0, "fin": set(), "rst": 0, "ports": set()})
for line in sys.stdin:
    s, port, syn, ack, fin, rst = line.split()
    c = st[s]
    c["ports"].add(port)
    c["syn"] += syn == "1" and ack == "0"
    c["synack"] += syn == "1" and ack == "1"
    if fin == "1":
        c["fin"].add(port)
    c["rst"] += rst == "1"
bad = [s for s, c in st.items() if c["syn"] != 1 or c["synack"] != 1 or len(c["fin"]) != 2 or c["rst"]]
if bad or len(st) != want:
    sys.exit(f"{sys.argv[2]}: {len(st)} TCP connections (want {want}), incomplete: {bad} {dict(st)}")
' "$2" "$1"
    local flagged
    flagged=$(tshark -r "$1" -Y tcp.analysis.flags | wc -l)
    [[ $flagged -eq 0 ]] || die "$1: tshark flags $flagged packets (tcp.analysis.flags)"
}

expect_pkts() {   # file display-filter [decode-as]
    local n
    n=$(tshark -r "$1" ${3:+-d "$3"} -Y "$2" | wc -l)
    if [[ $n -eq 0 ]]; then
        cp "$1" "/tmp/failed-$(basename "$1")"
        die "$(basename "$1"): no packet matches: $2 (capture kept in /tmp/failed-$(basename "$1"))"
    fi
}

publish() {       # workfile expected-tcp-connections
    check_tcp "$1" "$2"
    install -m 0644 "$1" "$OUT/$(basename "$1")"
    log "wrote $OUT/$(basename "$1")"
}

code() {          # expected-status curl-args...: run curl, check the status
    local want=$1 got; shift
    got=$(curl -q -sS -o /dev/null -w '%{http_code}' "$@")
    [[ $got == "$want" ]] || die "curl $*: HTTP $got, expected $want"
}

B64() { printf '%s' "$1" | base64 -w0; }

# ---------------------------------------------------------------- 1. HTTP Basic
log "http-basic.pcap (127.0.0.1:8090)"
F=$WORK/http-basic.pcap
start_server 8090 http-8090 "$PY" "$WORK/http_lab.py" basic 127.0.0.1 8090
start_tcpdump "$F" 'tcp port 8090'
code 200 -u alice:Wonderland-42 http://127.0.0.1:8090/private
code 200 --proxy-user bob:Pr0xy-Pass --proxy http://127.0.0.1:8090 http://example.test/
code 401 -u alice:wrong-guess http://127.0.0.1:8090/private
stop_capture "$F"
expect_pkts "$F" "http.authorization == \"Basic $(B64 alice:Wonderland-42)\""
expect_pkts "$F" "http.proxy_authorization == \"Basic $(B64 bob:Pr0xy-Pass)\""
expect_pkts "$F" "http.authorization == \"Basic $(B64 alice:wrong-guess)\""
expect_pkts "$F" 'http.response.code == 401 and http.www_authenticate == "Basic realm=\"lab\""'
publish "$F" 3

# ---------------------------------------------------------------- 2. HTTP Digest
log "http-digest.pcap (127.0.0.1:8091)"
F=$WORK/http-digest.pcap
start_server 8091 http-8091 "$PY" "$WORK/http_lab.py" digest 127.0.0.1 8091
start_tcpdump "$F" 'tcp port 8091'
code 200 --digest -u carol:D1gest-Secret http://127.0.0.1:8091/digest
stop_capture "$F"
expect_pkts "$F" 'http.authorization contains "username=\"carol\""'
expect_pkts "$F" 'http.response.code == 200'
publish "$F" 1

# ---------------------------------------------------------------- 3. HTTP NTLM
log "http-ntlm.pcap (127.0.0.1:8092)"
F=$WORK/http-ntlm.pcap
start_server 8092 http-8092 "$PY" "$WORK/http_lab.py" ntlm 127.0.0.1 8092
start_tcpdump "$F" 'tcp port 8092'
code 200 --ntlm -u 'LAB\dave:Ntlm-Pass-7' http://127.0.0.1:8092/ntlm
stop_capture "$F"
grep -q 'NTLM type 3: ok' "$WORK/http-8092.log" || die "the server did not verify the NTLMv2 response"
expect_pkts "$F" 'ntlmssp.auth.username == "dave" and ntlmssp.auth.domain == "LAB"'
publish "$F" 1

# ---------------------------------------------------------------- 4. Bearer token, cookies
log "http-bearer-cookie.pcap (127.0.0.1:8093)"
F=$WORK/http-bearer-cookie.pcap
start_server 8093 http-8093 "$PY" "$WORK/http_lab.py" any 127.0.0.1 8093
start_tcpdump "$F" 'tcp port 8093'
code 200 -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJlcmluIn0.c2lnbmF0dXJl' \
    http://127.0.0.1:8093/api/me
code 200 -b 'PHPSESSID=9f8e7d6c5b4a; theme=dark; lang=en' http://127.0.0.1:8093/account
stop_capture "$F"
expect_pkts "$F" 'http.authorization == "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJlcmluIn0.c2lnbmF0dXJl"'
expect_pkts "$F" 'http.cookie == "PHPSESSID=9f8e7d6c5b4a; theme=dark; lang=en"'
publish "$F" 2

# ---------------------------------------------------------------- 5. Forms
log "http-forms.pcap (127.0.0.1:8094)"
F=$WORK/http-forms.pcap
printf 'a tiny fake avatar\n' >"$WORK/avatar.txt"
{ printf 'username=judy&password=Expect-100&filler='; printf 'x%.0s' $(seq 2000); } >"$WORK/bigform.txt"
[[ $(stat -c %s "$WORK/bigform.txt") -eq 2041 ]] || die "bigform.txt is not 2041 bytes"
start_server 8094 http-8094 "$PY" "$WORK/http_lab.py" forms 127.0.0.1 8094
start_tcpdump "$F" 'tcp port 8094'
code 200 http://127.0.0.1:8094/login
code 200 -d 'username=frank&password=S3cret%21+pass&remember=1' http://127.0.0.1:8094/login
( cd "$WORK" && code 200 -F 'email=grace@example.test' -F 'passwd=Multi-Part-9' -F 'avatar=@avatar.txt' \
    http://127.0.0.1:8094/signup )
code 200 -H 'Content-Type: application/json' \
    -d '{"auth":{"login":"heidi","pwd":"Js0n-Nested"},"stay":true}' http://127.0.0.1:8094/api/login
code 200 'http://127.0.0.1:8094/login?user=ivan&pass=Qu3ry-Str1ng'
code 200 -d 'q=password+reset&lang=en' http://127.0.0.1:8094/search
# curl 7.88.1 does not add "Expect: 100-continue" by itself for this 2041-byte
# body, so ask for it; curl then holds the body back until the server's
# "100 Continue" (http.server sends it when protocol_version is HTTP/1.1).
code 200 -H 'Expect: 100-continue' -d @"$WORK/bigform.txt" http://127.0.0.1:8094/login
stop_capture "$F"
expect_pkts "$F" 'http.request.method == "POST" and http.file_data contains "password=S3cret%21+pass"'
expect_pkts "$F" 'mime_multipart.header.content-disposition contains "passwd"'
expect_pkts "$F" 'http.request.uri == "/login?user=ivan&pass=Qu3ry-Str1ng"'
expect_pkts "$F" 'http.request.line contains "Expect: 100-continue"'
expect_pkts "$F" 'http.response.code == 100'
expect_pkts "$F" 'http.response.code == 200 and http.file_data contains "type=\"password\""'
publish "$F" 7

# ---------------------------------------------------------------- 6. FTP
log "ftp.pcap (pyftpdlib 127.0.0.1:2121, passive ports 2122-2125)"
F=$WORK/ftp.pcap
mkdir -p "$WORK/ftp-home"
printf 'Nothing secret here; the password was on the wire.\n' >"$WORK/ftp-home/readme.txt"
touch -d '2024-01-01 12:00:00 UTC' "$WORK/ftp-home/readme.txt" "$WORK/ftp-home"
start_server 2121 ftp "$PY" "$WORK/ftp_server.py" 127.0.0.1 2121 "$WORK/ftp-home"
start_tcpdump "$F" 'tcp portrange 2121-2125'
"$PY" "$WORK/ftp_client.py" 127.0.0.1 2121
stop_capture "$F"
expect_pkts "$F" 'ftp.request.command == "PASS" and ftp.request.arg == "Ftp-Pass-1"' tcp.port==2121,ftp
expect_pkts "$F" 'ftp.request.command == "PASS" and ftp.request.arg == "bad-ftp-pass"' tcp.port==2121,ftp
expect_pkts "$F" 'ftp.response.code == 530' tcp.port==2121,ftp
publish "$F" 3

# ---------------------------------------------------------------- 7. POP3
log "pop3.pcap (127.0.0.1:1110)"
F=$WORK/pop3.pcap
start_server 1110 pop3 "$PY" "$WORK/lab_servers.py" pop3 127.0.0.1 1110
start_tcpdump "$F" 'tcp port 1110'
"$PY" "$WORK/pop3_client.py" 127.0.0.1 1110
stop_capture "$F"
APOP=$("$PY" -c 'import hashlib; print(hashlib.md5(b"<1896.697170952@lab.test>apop-secret").hexdigest())')
expect_pkts "$F" 'pop.request.command == "PASS" and pop.request.parameter == "P0p3-Pass"' tcp.port==1110,pop
expect_pkts "$F" "pop.request.command == \"APOP\" and pop.request.parameter == \"leo $APOP\"" tcp.port==1110,pop
publish "$F" 2

# ---------------------------------------------------------------- 8. IMAP
log "imap.pcap (127.0.0.1:1143)"
F=$WORK/imap.pcap
start_server 1143 imap "$PY" "$WORK/lab_servers.py" imap 127.0.0.1 1143
start_tcpdump "$F" 'tcp port 1143'
"$PY" "$WORK/imap_client.py" 127.0.0.1 1143
stop_capture "$F"
[[ $(grep -c "b'LOGIN'\|b'AUTHENTICATE'" "$WORK/imap.log") -eq 4 ]] || die "expected 4 IMAP logins"
expect_pkts "$F" 'imap.request contains "Imap-Pass-3"' tcp.port==1143,imap
expect_pkts "$F" 'imap.request contains "Lit-Pass!"' tcp.port==1143,imap
publish "$F" 4

# ---------------------------------------------------------------- 9. SMTP
log "smtp.pcap (aiosmtpd 127.0.0.1:2525)"
F=$WORK/smtp.pcap
start_server 2525 smtp "$PY" "$WORK/smtp_server.py" 127.0.0.1 2525
wait_grep "$WORK/smtp.log" listening      # after aiosmtpd's own test connection
start_tcpdump "$F" 'tcp port 2525'
"$PY" "$WORK/smtp_client.py" 127.0.0.1 2525
stop_capture "$F"
[[ $(grep -c 'AUTH .* True$' "$WORK/smtp.log") -eq 2 ]] || die "expected 2 accepted SMTP logins"
expect_pkts "$F" "smtp.req.parameter == \"PLAIN $(printf '\0quentin\0Smtp-Plain-5' | base64 -w0)\"" tcp.port==2525,smtp
expect_pkts "$F" "smtp.auth.username == \"$(B64 rachel)\"" tcp.port==2525,smtp
expect_pkts "$F" "smtp.auth.password == \"$(B64 Smtp-Login-6)\"" tcp.port==2525,smtp
publish "$F" 2

# ---------------------------------------------------------------- 10. telnet
log "telnet.pcap (127.0.0.1:2323)"
F=$WORK/telnet.pcap
start_server 2323 telnet "$PY" "$WORK/lab_servers.py" telnet 127.0.0.1 2323
start_tcpdump "$F" 'tcp port 2323'
"$PY" "$WORK/telnet_client.py" 127.0.0.1 2323 2>"$WORK/telnet-client.log"
stop_capture "$F"
grep -q "b'sam' b'Tel-Pass-8'" "$WORK/telnet.log" || die "telnet server did not see sam / Tel-Pass-8"
publish "$F" 1

# ---------------------------------------------------------------- 11. DNS
log "dns.pcap (127.0.0.1:5353, UDP and TCP)"
F=$WORK/dns.pcap
start_server 5353 dns "$PY" "$WORK/lab_servers.py" dns 127.0.0.1 5353
start_tcpdump "$F" 'host 127.0.0.1 and port 5353'
DIG=(dig @127.0.0.1 -p 5353 +tries=1 +time=2)
"${DIG[@]}" lab.plainsight.test A >"$WORK/dig.log"
"${DIG[@]}" lab.plainsight.test AAAA >>"$WORK/dig.log"
"${DIG[@]}" www.example.test MX >>"$WORK/dig.log"
"${DIG[@]}" +tcp tcp.plainsight.test TXT >>"$WORK/dig.log"
stop_capture "$F"
[[ $(grep -c 'status: NOERROR' "$WORK/dig.log") -eq 3 && $(grep -c 'status: NXDOMAIN' "$WORK/dig.log") -eq 1 ]] \
    || { cat "$WORK/dig.log" >&2; die "unexpected dig answers"; }
publish "$F" 1

# ---------------------------------------------------------------- summary
FILES=(http-basic.pcap http-digest.pcap http-ntlm.pcap http-bearer-cookie.pcap http-forms.pcap
       ftp.pcap pop3.pcap imap.pcap smtp.pcap telnet.pcap dns.pcap)

log "tool versions"
{
    curl --version | head -1
    tcpdump --version 2>&1 | head -2
    tshark --version 2>&1 | head -1
    echo "$("$PY" --version) ($PY)"
    "$PY" -c 'import pyftpdlib; print("pyftpdlib", pyftpdlib.__ver__)'
    "$PY" -c 'import aiosmtpd; print("aiosmtpd", aiosmtpd.__version__)'
    telnet --version | head -1
    dig -v 2>&1
    dpkg-query -W -f='${Package} ${Version}\n' curl tcpdump tshark python3 python3-pyftpdlib \
        python3-aiosmtpd inetutils-telnet bind9-dnsutils
} | sed 's/^/    /' >&2

log "credentials on the wire"
{
    echo "http-basic:"
    tshark -r "$OUT/http-basic.pcap" -Y 'http.authorization or http.proxy_authorization' \
        -T fields -e tcp.srcport -e http.authorization -e http.proxy_authorization
    echo "http-digest:"
    tshark -r "$OUT/http-digest.pcap" -Y http.authorization -T fields -e http.authorization
    echo "http-ntlm (domain, user, host, NTLMv2 response):"
    tshark -r "$OUT/http-ntlm.pcap" -Y ntlmssp.messagetype==3 -T fields -E separator=' ' \
        -e ntlmssp.auth.domain -e ntlmssp.auth.username -e ntlmssp.auth.hostname -e ntlmssp.ntlmv2_response
    echo "http-bearer-cookie:"
    tshark -r "$OUT/http-bearer-cookie.pcap" -Y http.request -T fields -e http.authorization -e http.cookie
    echo "http-forms:"
    tshark -r "$OUT/http-forms.pcap" -Y http.request -T fields -e http.request.method -e http.request.uri \
        -e http.file_data | cut -c1-150
    echo "ftp:"
    tshark -r "$OUT/ftp.pcap" -d tcp.port==2121,ftp -Y ftp.request.command -T fields -E separator=' ' \
        -e ftp.request.command -e ftp.request.arg
    echo "pop3 (APOP digest $APOP):"
    tshark -r "$OUT/pop3.pcap" -d tcp.port==1110,pop -Y pop.request -T fields -E separator=' ' \
        -e pop.request.command -e pop.request.parameter
    echo "imap:"
    tshark -r "$OUT/imap.pcap" -d tcp.port==1143,imap -Y imap.request -T fields -e imap.request
    echo "smtp:"
    tshark -r "$OUT/smtp.pcap" -d tcp.port==2525,smtp -Y smtp.req -T fields \
        -e smtp.command_line -e smtp.auth.username -e smtp.auth.password | tr -s '\t' ' '
} | sed 's/^/    /' >&2

log "summary"
for f in "${FILES[@]}"; do
    capinfos -t -E -c "$OUT/$f" | sed 's/^/    /' >&2
    tshark -r "$OUT/$f" -q -z conv,tcp | grep '<->' | sed 's/^/      /' >&2 || true
done
