"""vpn_web.py ROOT CERT KEY ADDR...: the "internet" of the VPN tests: on each address an
HTTP server (port 80), an HTTPS server (443, the given certificate) serving ROOT (a PUT
is answered with the SHA-256 of its body, so an upload is checked byte for byte), and a
UDP echo on 443 (plain datagrams come back; a QUIC client gets its bytes echoed too, so
a test sees whether a datagram reached the server at all), and on TCP port 9 a listener
that accepts and closes."""
import hashlib
import http.server
import socket
import ssl
import sys
import threading

root, cert, key, addrs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, *a, **kw):
        super().__init__(*a, directory=root, **kw)

    def log_message(self, *a):
        pass

    def do_PUT(self):
        left, h = int(self.headers.get("Content-Length", "0")), hashlib.sha256()
        while left > 0:
            b = self.rfile.read(min(left, 1 << 20))
            if not b:
                break
            h.update(b)
            left -= len(b)
        body = h.hexdigest().encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024  # the default 5 drops SYNs of a benchmark's connections


def serve_http(addr, port, ctx=None):
    srv = Server((addr, port), Handler)
    srv.daemon_threads = True
    if ctx:
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def echo_udp(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))

    def loop():
        while True:
            data, peer = s.recvfrom(65536)
            s.sendto(data, peer)

    threading.Thread(target=loop, daemon=True).start()


def accept_close(addr, port):
    """Port 9: accepts and closes, as fast as the kernel hands connections over (the
    benchmark's connection setup times)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4096)

    def loop():
        while True:
            c, _ = s.accept()
            c.close()

    threading.Thread(target=loop, daemon=True).start()


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
for a in addrs:
    serve_http(a, 80)
    serve_http(a, 443, ctx)
    echo_udp(a, 443)
    accept_close(a, 9)
print("ready", flush=True)
threading.Event().wait()
