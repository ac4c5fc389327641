#!/usr/bin/python3
"""HTTP as cameras, routers and printers send it, and protocols that borrow its syntax.

    devices.py server PORT        a server that answers each connection once, then closes
    devices.py http PORT          the quirky HTTP clients, one connection each
    devices.py sip PORT           a SIP REGISTER over TCP (answered by the same server)
    devices.py rtsp PORT          RTSP OPTIONS and DESCRIBE

Real sockets on 127.0.0.1; the bytes are written exactly as below, one send() per request
(with TCP_NODELAY), so the capture holds them as these devices put them on the wire.
"""

import base64
import socket
import socketserver
import sys


def basic(user, password):
    return base64.b64encode(f"{user}:{password}".encode()).decode()


# (what the client sends, whether it then closes its side to end an unframed body)
HTTP_REQUESTS = [
    # An IP camera's odd version token.
    (f"GET /cam HTTP/1.0.8\r\nAuthorization: Basic {basic('admin', 'cam-1234')}\r\n\r\n".encode(), False),
    # HTTP/1.2, bare LF line ends.
    (f"GET /img HTTP/1.2\nHost: cam\nAuthorization: Basic {basic('viewer', 'lf-only')}\n\n".encode(), False),
    # HTTP/0.9: no version, no headers; the answer is the bare document.
    (b"GET /secret.txt\r\n", False),
    # A router's login form: a body and no Content-Length; the client closes its side after it.
    (b"POST /login.cgi HTTP/1.0\r\nHost: router\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n"
     b"username=root&password=no-length", True),
    # A folded Authorization header.
    (f"GET /folded HTTP/1.1\r\nHost: printer\r\nAuthorization: Basic\r\n {basic('lp', 'folded-pw')}\r\n\r\n".encode(),
     False),
    # A NUL at the end of the target (a C string written with its terminator).
    (b"GET /cgi-bin/login?user=operator&password=nul-pass\0 HTTP/1.1\r\nHost: nas\r\n\r\n", False),
    # Session cookies and flag cookies: only user_session and PHPSESSID hold a secret.
    (b"GET /home HTTP/1.1\r\nHost: nas\r\nCookie: remember_me=yes; user_session=5f2b9c0e41; theme=dark; "
     b"sessionid=0; PHPSESSID=q8v3k1; login_ok=true\r\n\r\n", False),
]

SIP_REGISTER = (
    b"REGISTER sip:127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK776asdhds\r\n"
    b"From: <sip:alice@127.0.0.1>;tag=1928301774\r\n"
    b"To: <sip:alice@127.0.0.1>\r\n"
    b"Call-ID: a84b4c76e66710@127.0.0.1\r\n"
    b"CSeq: 2 REGISTER\r\n"
    b'Authorization: Digest username="alice", realm="lab", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", '
    b'uri="sip:127.0.0.1", response="dfe56131d1958046689d83306477ecc"\r\n'
    b"Content-Length: 0\r\n\r\n"
)
RTSP_REQUESTS = [
    b"OPTIONS rtsp://127.0.0.1/live RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: LibVLC/3.0.18\r\n\r\n",
    b"DESCRIBE rtsp://127.0.0.1/live RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n"
    b"Authorization: Basic " + basic("cam", "rtsp-pw").encode() + b"\r\n\r\n",
]


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = b""
        while True:
            head_end = max(data.find(b"\r\n\r\n"), data.find(b"\n\n"))
            first = data.split(b"\n", 1)[0]
            if b"\n" in data and b" HTTP/" not in first and b" RTSP/" not in first and b" SIP/" not in first:
                self.answer(b"HTTP/0.9", data)          # one line, no version: HTTP/0.9
                return
            if head_end >= 0 and not (data.startswith(b"POST") and b"Content-Length" not in data):
                self.answer(first, data)
                if data.startswith(b"OPTIONS rtsp"):
                    data = b""                          # RTSP keeps the connection for DESCRIBE
                    continue
                return
            chunk = sock.recv(65536)
            if not chunk:                               # the client closed its side: body done
                self.answer(first, data)
                return
            data += chunk

    def answer(self, first, data):
        sock = self.request
        if first == b"HTTP/0.9":
            sock.sendall(b"the whole document, as HTTP/0.9 sends it\n")
        elif b" SIP/" in first:
            sock.sendall(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK776asdhds\r\n"
                         b"CSeq: 2 REGISTER\r\nContent-Length: 0\r\n\r\n")
        elif b" RTSP/" in first:
            cseq = b"1" if first.startswith(b"OPTIONS") else b"2"
            sock.sendall(b"RTSP/1.0 200 OK\r\nCSeq: " + cseq + b"\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n")
        else:
            body = b"ok\n"
            sock.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\n" + body)


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_all(sock):
    while sock.recv(65536):
        pass


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "server":
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        with socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler) as server:
            print("listening", flush=True)
            server.serve_forever()
    elif mode == "http":
        for request, close_side in HTTP_REQUESTS:
            with connect(port) as sock:
                sock.sendall(request)
                if close_side:
                    sock.shutdown(socket.SHUT_WR)
                read_all(sock)
    elif mode == "sip":
        with connect(port) as sock:
            sock.sendall(SIP_REGISTER)
            read_all(sock)
    elif mode == "rtsp":
        with connect(port) as sock:
            for request in RTSP_REQUESTS:
                sock.sendall(request)
                sock.recv(65536)
    else:
        sys.exit(f"devices.py: unknown mode {mode}")


if __name__ == "__main__":
    main()
