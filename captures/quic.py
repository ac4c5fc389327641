"""HTTP/3 over QUIC on loopback with aioquic (PyPI), for the bundled QUIC captures.

    quic.py serve PORT CERT KEY [--retry] [--v2] [--chacha] [--draft29]
    quic.py client PORT SECRETS_LOG SCENARIO [--v2] [--chacha] [--draft29] [--hq]

--hq speaks HTTP/0.9 over QUIC (ALPN hq-interop), as the QUIC interop runner does.

--draft29 needs aioquic 0.9 (the last release that speaks the IETF drafts).

The server answers GET / with a login page that posts itself (for a browser), and every other
request with 200, a short text body and a session cookie (a login's answer). The client runs one scenario on one connection and writes its TLS
secrets (NSS key log) to SECRETS_LOG. Only 127.0.0.1 is used.

Scenarios:
  login      POST /login (form body), then GET /account with HTTP Basic credentials
  keyupdate  POST /login, a key update, then GET /account (Basic), on new 1-RTT keys
  hq         (with --hq) GET /login?user=...&password=... then GET /hello, HTTP/0.9
  bighello   a ClientHello with many ALPN values (longer than one packet: CRYPTO frames over
             two Initial packets), then GET /hello
"""

import asyncio
import base64
import ssl
import sys

from aioquic.asyncio import QuicConnectionProtocol, connect, serve
from aioquic.h3.connection import H3_ALPN, H3Connection

try:
    from aioquic.h0.connection import H0_ALPN, H0Connection
except ImportError:  # aioquic 0.9 keeps it too, but be safe
    H0_ALPN, H0Connection = [], None
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated
from aioquic.quic.packet import QuicProtocolVersion
from aioquic.tls import CipherSuite

HOST = "127.0.0.1"
SERVER_NAME = "quic.plainsight.test"


LOGIN_PAGE = b"""<!doctype html><title>login</title>
<form method="post" action="/login">
<input name="username" value="chris"><input type="password" name="password" value="Chromium-H3-Secret">
</form><script>document.forms[0].submit()</script>
"""


class Server(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = None
        self.paths = {}

    def quic_event_received(self, event):
        if isinstance(event, ProtocolNegotiated):
            if event.alpn_protocol in H0_ALPN:
                self.h3 = H0Connection(self._quic)
            else:
                self.h3 = H3Connection(self._quic)
        if self.h3 is None:
            return
        for ev in self.h3.handle_event(event):
            if isinstance(ev, HeadersReceived):
                self.paths[ev.stream_id] = dict(ev.headers).get(b":path", b"")
            ended = isinstance(ev, (HeadersReceived, DataReceived)) and ev.stream_ended
            if ended:
                body, kind = b"welcome back\n", b"text/plain"
                if self.paths.pop(ev.stream_id, b"") == b"/":
                    # A login page that submits itself (a browser posting a form over HTTP/3).
                    body, kind = LOGIN_PAGE, b"text/html"
                self.h3.send_headers(
                    ev.stream_id,
                    [
                        (b":status", b"200"),
                        (b"content-type", kind),
                        (b"set-cookie", b"sessionid=h3-session-7; Secure; HttpOnly"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                )
                self.h3.send_data(ev.stream_id, body, end_stream=True)
                self.transmit()


class Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self._quic.configuration.alpn_protocols == H0_ALPN:
            self.h3 = H0Connection(self._quic)
        else:
            self.h3 = H3Connection(self._quic)
        self.waiting = {}

    def quic_event_received(self, event):
        for ev in self.h3.handle_event(event):
            if isinstance(ev, (HeadersReceived, DataReceived)) and ev.stream_ended:
                fut = self.waiting.pop(ev.stream_id, None)
                if fut is not None:
                    fut.set_result(True)

    async def request(self, method, path, headers=(), body=None):
        sid = self._quic.get_next_available_stream_id()
        head = [
            (b":method", method.encode()),
            (b":scheme", b"https"),
            (b":authority", SERVER_NAME.encode()),
            (b":path", path.encode()),
            (b"user-agent", b"aioquic-plainsight"),
        ] + [(n.encode(), v.encode()) for n, v in headers]
        self.h3.send_headers(sid, head, end_stream=body is None)
        if body is not None:
            self.h3.send_data(sid, body, end_stream=True)
        fut = asyncio.get_running_loop().create_future()
        self.waiting[sid] = fut
        self.transmit()
        await asyncio.wait_for(fut, 10)


def versions(args):
    if "--v2" in args:
        return [QuicProtocolVersion.VERSION_2]
    if "--draft29" in args:
        # aioquic 0.9 (the last with the drafts).
        return [QuicProtocolVersion.DRAFT_29]
    return [QuicProtocolVersion.VERSION_1]


def suites(args):
    if "--chacha" in args:
        return [CipherSuite.CHACHA20_POLY1305_SHA256]
    return None


async def run_server(port, cert, key, args):
    config = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN + H0_ALPN)
    config.load_cert_chain(cert, key)
    if "--draft29" in args:
        config.supported_versions = versions(args)
        config.alpn_protocols = ["h3-29"]
    else:
        config.supported_versions = [QuicProtocolVersion.VERSION_2, QuicProtocolVersion.VERSION_1]
    if suites(args):
        config.cipher_suites = suites(args)
    await serve(HOST, port, configuration=config, create_protocol=Server, retry="--retry" in args)
    print("listening", flush=True)
    await asyncio.Future()


async def run_client(port, secrets, scenario, args):
    alpn = ["h3-29"] if "--draft29" in args else ["h3"]
    if "--hq" in args:
        alpn = list(H0_ALPN)
    if scenario == "bighello":
        # Made-up protocol names after h3: the ClientHello outgrows one Initial packet.
        alpn += [f"x-plainsight-padding-{i:03d}" for i in range(60)]
    config = QuicConfiguration(is_client=True, alpn_protocols=alpn)
    config.server_name = SERVER_NAME
    config.verify_mode = ssl.CERT_NONE
    config.secrets_log_file = open(secrets, "a")
    config.supported_versions = versions(args)
    config.original_version = versions(args)[0]
    if suites(args):
        config.cipher_suites = suites(args)
    basic = base64.b64encode(b"quinn:H3-Basic-Secret").decode()
    async with connect(HOST, port, configuration=config, create_protocol=Client) as client:
        if scenario in ("login", "keyupdate"):
            form = b"username=quinn&password=H3-Form-Secret"
            await client.request(
                "POST",
                "/login",
                [("content-type", "application/x-www-form-urlencoded")],
                form,
            )
            if scenario == "keyupdate":
                client._quic.request_key_update()
                client.transmit()
            await client.request("GET", "/account", [("authorization", f"Basic {basic}")])
        elif scenario == "bighello":
            await client.request("GET", "/hello")
        elif scenario == "hq":
            # HTTP/0.9 has a request line only: a token in the query is all a login can send.
            await client.request("GET", "/login?user=quinn&password=Hq-Query-Secret")
            await client.request("GET", "/hello")
        else:
            raise SystemExit(f"unknown scenario {scenario}")
    config.secrets_log_file.close()


def main():
    args = sys.argv[1:]
    if args[:1] == ["serve"]:
        asyncio.run(run_server(int(args[1]), args[2], args[3], args[4:]))
    elif args[:1] == ["client"]:
        asyncio.run(run_client(int(args[1]), args[2], args[3], args[4:]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
