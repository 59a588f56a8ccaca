#!/usr/bin/env python3
"""The collector against hostile clients, on loopback.

Each attack runs against a collector this script starts (its own data directory, a free
port) and asserts the defended outcome; the legitimate traffic that must keep working
beside it is checked too. Clients spread over 127.0.0.0/8 source addresses, as devices
behind many addresses would come.

    hostile.py [--full] [ATTACK...]      MTD_BIN must point to build/bin

Without --full the combined run is scaled down to fit `make check` on a small machine;
--full runs it at the size of issue 14 (1,000 devices, 4,000 slow connections, 300
unauthenticated large bodies), as `make bench` does. Every attack is bounded in time.
"""
import base64
import json
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BIN = os.environ.get("MTD_BIN")
PASSED = 0


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def ok(msg):
    global PASSED
    PASSED += 1
    print("ok - " + msg, flush=True)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Collector:
    """A collector on 127.0.0.1:0 with its own data directory; stopped by stop()."""

    def __init__(self, *args):
        self.work = tempfile.mkdtemp(prefix="mtd-hostile-")
        self.data = os.path.join(self.work, "data")
        self.log = open(os.path.join(self.work, "collector.log"), "wb")
        env = dict(os.environ, MTD_LOG=os.environ.get("MTD_LOG", "info"))
        self.proc = subprocess.Popen([os.path.join(BIN, "mtd-collector"), "--data", self.data,
                                      "--listen", "127.0.0.1:0"] + list(args),
                                     stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        url_file = os.path.join(self.data, "collector.url")
        for _ in range(200):
            if os.path.exists(url_file) and os.path.getsize(url_file):
                break
            time.sleep(0.05)
        else:
            fail("collector did not start: " + self.log_text())
        self.url = open(url_file).read().strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        self.op = open(os.path.join(self.data, "operator.token")).read().strip()

    def log_text(self):
        self.log.flush()
        return open(os.path.join(self.work, "collector.log"), errors="replace").read()

    def status(self, key):
        """A field of /proc/PID/status in kB (VmRSS, VmHWM)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        subprocess.run(["rm", "-rf", self.work])


def http(col, method, path, token=None, body=None, headers=None, timeout=30, src="127.0.0.1"):
    """One request on its own connection: (status, body bytes)."""
    s = socket.create_connection(("127.0.0.1", col.port), timeout=timeout, source_address=(src, 0))
    h = {"Host": "127.0.0.1", "Connection": "close"}
    if token:
        h["Authorization"] = "Bearer " + token
    if body is not None:
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    req = "%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    s.sendall(req.encode() + (body or b""))
    data = b""
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        data += d
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    return status, rest


def http_json(col, method, path, token=None, obj=None, **kw):
    st, body = http(col, method, path, token, json.dumps(obj).encode() if obj is not None else None,
                    {"Content-Type": "application/json"} if obj is not None else None, **kw)
    try:
        return st, json.loads(body or b"null")
    except ValueError:
        return st, body


def tenant(col, name="hostile"):
    st, t = http_json(col, "POST", "/v1/operator/tenants", col.op, {"name": name})
    if st != 201:
        fail("tenant create: %s %s" % (st, t))
    return t


def pseudonym(i, tag="d"):
    raw = ("%s%012d" % (tag, i)).encode()[:16].ljust(16, b"0")
    return "ps_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def enroll(col, t, device, **ids):
    body = dict(device_id=device, **ids)
    st, r = http_json(col, "POST", "/v1/enroll", t["enroll_token"], body)
    if st != 200:
        fail("enroll %s: %s %s" % (device, st, r))
    return r["device_credential"]


def zstd(payloads):
    """Compresses each bytes object with the zstd tool."""
    d = tempfile.mkdtemp(prefix="mtd-hostile-z-")
    names = []
    for i, p in enumerate(payloads):
        n = os.path.join(d, "b%d" % i)
        with open(n, "wb") as f:
            f.write(p)
        names.append(n)
    for k in range(0, len(names), 500):
        subprocess.run(["zstd", "-q", "-1", "--rm"] + names[k:k + 500], check=True)
    out = [open(n + ".zst", "rb").read() for n in names]
    subprocess.run(["rm", "-rf", d])
    return out


def batch_lines(t, device, n, tag):
    return "".join(
        json.dumps({"event": "usage.action", "schema": 1, "event_id": "%s%09d" % (tag, i),
                    "time": "2026-11-24T10:00:00Z", "tenant_id": t["tenant_id"], "device_id": device,
                    "action": "scan_requested"}) + "\n" for i in range(n)).encode()


def stored(col, t, like):
    out = subprocess.run(["sqlite3", os.path.join(col.data, "tenants", t["tenant_id"], "store.sqlite"),
                          "select count(*) from ev_usage_action where event_id like '%s%%'" % like],
                         capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


def src_addr(group, i):
    """A loopback source address: 127.<group>.<i/250>.<i%250+1>."""
    return "127.%d.%d.%d" % (group, i // 250, i % 250 + 1)


# --- the attacks -------------------------------------------------------------------


def open_large_bodies(col, n, group, token=None):
    """n connections that announce a 16 MiB body, send its first 64 KiB and stall.
    Returns the sockets and how many got an answer before the body was sent."""
    socks = []
    head = ("POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
            "Idempotency-Key: large-body-0001\r\nContent-Length: %d\r\n%s\r\n"
            % ((16 << 20) - 100, "Authorization: Bearer %s\r\n" % token if token else "")).encode()
    for i in range(n):
        s = socket.socket()
        s.bind((src_addr(group, i), 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", col.port))
        socks.append(s)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_WRITE)
    pending = {s: head + b"\0" * 65536 for s in socks}
    answers = {}
    deadline = time.time() + 20
    while (pending or len(answers) < n) and time.time() < deadline:
        for key, ev in sel.select(0.2):
            s = key.fileobj
            if ev & selectors.EVENT_WRITE and s in pending:
                try:
                    k = s.send(pending[s])
                    pending[s] = pending[s][k:]
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    pending.pop(s, None)
                if s in pending and not pending[s]:
                    pending.pop(s)
                    sel.modify(s, selectors.EVENT_READ)
            if ev & selectors.EVENT_READ:
                try:
                    d = s.recv(4096)
                except (BlockingIOError, OSError):
                    d = b""
                answers[s] = answers.get(s, b"") + d
                sel.unregister(s)
    sel.close()
    return socks, answers


def attack_large_bodies(col, t, n=300):
    """Issue 14.1: unauthenticated 16 MiB bodies are refused from the head, unread."""
    rss0 = col.status("VmRSS")
    socks, answers = open_large_bodies(col, n, 10)
    codes = [a.split(b" ", 2)[1] if a.startswith(b"HTTP/1.1 ") else b"-" for a in answers.values()]
    if len(answers) != n or any(c != b"401" for c in codes):
        fail("large unauthenticated bodies: %d of %d answered, codes %s" % (len(answers), n, sorted(set(codes))))
    grown = (col.status("VmRSS") - rss0) // 1024
    for s in socks:
        s.close()
    if grown > 64:
        fail("the collector grew %d MiB for %d unauthenticated bodies" % (grown, n))
    ok("%d unauthenticated 16 MiB bodies answered 401 from the head, unread (RSS grew %d MiB)" % (n, grown))


class Slowloris(threading.Thread):
    """n connections from n/100 addresses, each trickling one byte of a request head
    every `every` seconds; a connection the collector closes is opened again, so the
    pool stays full for as long as the attack lasts."""

    HEAD = b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nX-Slow: " + b"a" * 4000

    def __init__(self, col, n, group, every=5.0):
        super().__init__(daemon=True)
        self.col, self.n, self.group, self.every = col, n, group, every
        self.stop_ev = threading.Event()
        self.reopened = 0
        self.open_now = 0
        self.ready = threading.Event()

    def connect(self, i):
        s = socket.socket()
        s.bind((src_addr(self.group, i // 100), 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", self.col.port))
        return s

    def run(self):
        socks = [self.connect(i) for i in range(self.n)]
        pos = [0] * self.n
        self.ready.set()
        while not self.stop_ev.is_set():
            t0 = time.time()
            alive = 0
            for i, s in enumerate(socks):
                try:
                    if s.send(self.HEAD[pos[i] % len(self.HEAD):][:1]) == 1:
                        pos[i] += 1
                    alive += 1
                except (BlockingIOError, InterruptedError):
                    alive += 1
                except OSError:  # closed by the collector: the attacker comes back
                    s.close()
                    socks[i] = self.connect(i)
                    pos[i] = 0
                    self.reopened += 1
            self.open_now = alive
            self.stop_ev.wait(max(0.0, self.every - (time.time() - t0)))
        for s in socks:
            s.close()


def metric(col, name, token=None):
    st, body = http(col, "GET", "/metrics", token, src="127.0.0.9")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def attack_slow_headers(col, t, n=4100):
    """Issue 14.2: 4,100 connections trickling header bytes lock nobody out."""
    loris = Slowloris(col, n, 20, every=2.0)
    loris.start()
    loris.ready.wait(30)
    time.sleep(3)
    lat = []
    for i in range(20):
        t0 = time.time()
        st, _ = http(col, "GET", "/healthz", src=src_addr(30, i), timeout=10)
        lat.append(time.time() - t0)
        if st != 200:
            fail("a request beside %d slow connections: status %s" % (n, st))
        dev = pseudonym(i, "slow")
        cred = enroll(col, t, dev)
        body = zstd([batch_lines(t, dev, 5, "slow%02d" % i)])[0]
        st, r = http(col, "POST", "/v1/batches", cred, body,
                     {"Content-Type": "application/x-ndjson", "Idempotency-Key": "slow-key-%04d" % i},
                     src=src_addr(30, i), timeout=10)
        if st != 200:
            fail("a batch beside %d slow connections: %s %s" % (n, st, r[:200]))
        time.sleep(0.4)
    time.sleep(8)  # past the head deadline: the first ones are cut
    shed = metric(col, "mtd_shed_total")
    loris.stop_ev.set()
    loris.join(30)
    if stored(col, t, "slow") != 100:
        fail("batches stored beside the slow connections: %d of 100" % stored(col, t, "slow"))
    if shed < 1:
        fail("no connection shed while %d slow ones were open" % n)
    if "shed in the last 10 s" not in col.log_text():
        fail("the shedding was not logged")
    lat.sort()
    ok("%d slow connections lock nobody out: 20 requests and 20 batches served (slowest %.0f ms),"
       " %d connections shed and counted, summary logged" % (n, lat[-1] * 1000, shed))


def post_batch(col, cred, body, key, src="127.0.0.1"):
    return http(col, "POST", "/v1/batches", cred, body,
                {"Content-Type": "application/x-ndjson", "Idempotency-Key": key}, src=src)


def attack_takeover(col, t):
    """Issue 14.3/14.4: an enrollment token and a victim's pseudonym take over nothing."""
    victim, vupn = pseudonym(1, "victim"), pseudonym(2, "vupn")
    vcred = enroll(col, t, victim, upn=vupn)
    st, r = http_json(col, "POST", "/v1/enroll", t["enroll_token"], {"device_id": victim})
    if st != 409 or r.get("error") != "device_enrolled":
        fail("enrolling a device that has a live credential: %s %s" % (st, r))
    # the attacker's own credential, sending as the victim, or under the victim's user
    mine = enroll(col, t, pseudonym(3, "attacker"))
    model = "".join(json.dumps({"event": "device.info", "schema": 1, "event_id": "pwned%016d" % i,
                                "time": "2026-11-24T10:00:00Z", "tenant_id": t["tenant_id"],
                                "device_id": dev, "os_name": "Android", "os_version": "14", "model": "PWNED",
                                "device_id_source": "mac", **extra}) + "\n"
                    for i, (dev, extra) in enumerate([(victim, {})]))
    st, r = post_batch(col, mine, zstd([model.encode()])[0], "takeover-0001")
    if st != 403 or b"wrong_device" not in r:
        fail("a batch as the victim device: %s %s" % (st, r[:200]))
    line = json.dumps({"event": "usage.action", "schema": 1, "event_id": "upnforged000000001",
                       "time": "2026-11-24T10:00:00Z", "tenant_id": t["tenant_id"],
                       "device_id": pseudonym(3, "attacker"), "upn": vupn, "action": "scan_requested"}) + "\n"
    st, r = post_batch(col, mine, zstd([line.encode()])[0], "takeover-0002")
    if st != 403 or b"wrong_identity" not in r:
        fail("a batch under the victim's user: %s %s" % (st, r[:200]))
    st, r = post_batch(col, vcred, zstd([batch_lines(t, victim, 3, "victim")])[0], "victim-0001")
    if st != 200:
        fail("the victim's own batch: %s %s" % (st, r[:200]))
    # 30 enrollments of one new device at once: one credential, 29 refusals
    dev, results = pseudonym(4, "race"), []
    def one():
        results.append(http_json(col, "POST", "/v1/enroll", t["enroll_token"], {"device_id": dev})[0])
    th = [threading.Thread(target=one) for _ in range(30)]
    [x.start() for x in th]
    [x.join() for x in th]
    if sorted(results) != [200] + [409] * 29:
        fail("30 concurrent enrollments of one device: %s" % sorted(results))
    # a token of 3 uses enrolls 3 devices, then nothing
    st, tok = http_json(col, "POST", "/v1/admin/tokens", t["admin_token"], {"role": "enroll", "max_uses": 3})
    codes = [http_json(col, "POST", "/v1/enroll", tok["token"], {"device_id": pseudonym(10 + i, "uses")})[0]
             for i in range(4)]
    if codes != [200, 200, 200, 401]:
        fail("a 3-use enrollment token: %s" % codes)
    # revoking it with its unused credentials: the 3 devices are refused from then on
    st, r = http_json(col, "DELETE", "/v1/admin/tokens/%s?credentials=unused" % tok["id"], t["admin_token"])
    if st != 200 or r.get("credentials_revoked") != 3:
        fail("revoking a token and its unused credentials: %s %s" % (st, r))
    st, creds = http_json(col, "GET", "/v1/admin/credentials", t["admin_token"])
    revoked = [c for c in creds["credentials"] if c["revoked_reason"] == "token_revoked"]
    if len(revoked) != 3 or not all(c["first_used"] is None for c in revoked):
        fail("credentials after the token's revocation: %s" % creds)
    ok("no takeover: a bound device is not enrolled again (409), nor written as by another credential"
       " or under another user (403); 30 racing enrollments give one credential; token uses and"
       " revocation of its unused credentials hold")


def raw(col, req, src="127.0.0.1", timeout=5):
    s = socket.create_connection(("127.0.0.1", col.port), timeout=timeout, source_address=(src, 0))
    s.sendall(req)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except socket.timeout:
        pass
    s.close()
    return data


def attack_framing_paths(col, t):
    """Issue 14.6/14.8: control characters and NUL in paths, ambiguous framing, media types."""
    cases = [
        (b"GET /healthz%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"GET /v1/admin/devices%00/../../whatever HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (("DELETE /v1/operator/tenants/%s%%00 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
          % (t["tenant_id"], col.op)).encode(), b"400"),
        (b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde", b"400"),
        (b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", b"400"),
    ]
    for req, want in cases:
        got = raw(col, req)
        if not got.startswith(b"HTTP/1.1 " + want):
            fail("%r: %r" % (req[:60], got[:120]))
    if not os.path.isdir(os.path.join(col.data, "tenants", t["tenant_id"])):
        fail("a path cut short by %00 deleted the tenant")
    if any(l.startswith("X-Injected") for l in col.log_text().splitlines()):
        fail("a percent-encoded CR LF forged a log line")
    cred = enroll(col, t, pseudonym(1, "media"))
    st, r = http(col, "POST", "/v1/batches", cred, b"x", {"Content-Type": "application/x-ndjsonFOO", "Idempotency-Key": "media-0001"})
    if st != 415:
        fail("Content-Type application/x-ndjsonFOO: %s" % st)
    ok("control characters and NUL in paths, two Content-Length, CL with TE: 400; a media type"
       " matched by prefix: 415; the tenant survives and the log holds no forged line")


def attack_guessing(col, t):
    """Issue 14.7/14.9 and 13.8: failed sign-ins are limited, summarized and audited, with one
    answer whatever was wrong; a good token is not locked out."""
    bad = [t["admin_token"][:-4] + "AAAA", "adm.%s.x" % ("0" * 16), "adm.zz.x", "garbage"]
    http_json(col, "GET", "/v1/admin/devices", t["admin_token"])  # the admin at work before the flood
    answers = set()
    for b in bad:
        st, r = http_json(col, "GET", "/v1/admin/devices", b, src="127.0.40.1")
        answers.add((st, r.get("detail")))
    if len(answers) != 1 or list(answers)[0][0] != 401:
        fail("failed tokens are told apart: %s" % answers)
    codes = [http_json(col, "GET", "/v1/admin/devices", bad[0], src="127.0.40.1")[0] for _ in range(40)]
    if 429 not in codes:
        fail("40 more guesses from one address: never 429 (%s)" % sorted(set(codes)))
    st, _ = http_json(col, "GET", "/v1/admin/devices", t["admin_token"], src="127.0.40.1")
    if st != 200:
        fail("the admin's good token from the guessing address: %s" % st)
    st, pol = http_json(col, "POST", "/v1/admin/tokens", t["admin_token"], {"role": "analyst"})
    st, _ = http_json(col, "PUT", "/v1/admin/policy", pol["token"], {"optional_data": True})
    if st != 403:
        fail("an analyst's policy set: %s" % st)
    time.sleep(2.5)
    st, audit = http_json(col, "GET", "/v1/admin/audit", t["admin_token"])
    acts = [a["action"] for a in audit["audit"]]
    if acts.count("auth.failed") != 1 or acts.count("call.refused") != 1:
        fail("audit after 44 failed sign-ins and a refused call: %s" % acts)
    lines = col.log_text().count("status=401")
    if lines:
        fail("%d request lines logged for failed sign-ins" % lines)
    ok("bad tokens all get one 401 text; guessing gets 429 while the good token still works;"
       " one auth.failed and one call.refused audit line, no log line per failure")


ATTACKS = {
    "large_bodies": attack_large_bodies,
    "slow_headers": attack_slow_headers,
    "takeover": attack_takeover,
    "framing_paths": attack_framing_paths,
    "guessing": attack_guessing,
}


def main():
    global BIN
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    full = "--full" in sys.argv
    if not BIN:
        fail("MTD_BIN must point to build/bin")
    raise_nofile()
    names = args or list(ATTACKS)
    for name in names:
        if name not in ATTACKS:
            fail("unknown attack %s (known: %s)" % (name, ", ".join(ATTACKS)))
    signal.alarm(1500 if full else 600)  # bounded: a hang fails the run
    for name in names:
        col = Collector()
        try:
            t = tenant(col)
            ATTACKS[name](col, t, full=full) if name == "combined" else ATTACKS[name](col, t)
            if not col.alive():
                fail("%s: the collector died: %s" % (name, col.log_text()[-2000:]))
        finally:
            col.stop()
    print("%d passed, 0 failed" % PASSED)


if __name__ == "__main__":
    main()
