#!/usr/bin/env python3
"""alert_receiver: the receivers the alert tests deliver to, on loopback.

  POST /hook/NAME          a webhook: checks X-Openmtd-Signature (HMAC-SHA256 of the body
                           under NAME's secret), that X-Openmtd-Timestamp equals the body's
                           "timestamp" and is within 300 s, and that X-Openmtd-Event-Id is
                           the body's event_id; deduplicates on the event ID. A batch
                           ({"type": "alert.batch", "timestamp", "count", "events": [...]},
                           a webhook with batch_max > 1): X-Openmtd-Event-Count and "count"
                           are the number of events, no X-Openmtd-Event-Id, each event is
                           a single POST's body with the batch's timestamp; each is
                           recorded (and deduplicated) on its own, "batch" its batch's size.
  POST /hec/services/collector/event
                           Splunk HTTP Event Collector: "Authorization: Splunk TOKEN",
                           a stream of JSON objects each with time, host, source,
                           sourcetype and an "event" that is an OCSF Detection Finding.
  POST /es/_bulk           Elasticsearch bulk: NDJSON pairs of {"index": {"_index",
                           "_id"}} and an OCSF Detection Finding document.

Every accepted message is appended to OUT/NAME.jsonl ({"event_id", "dup", "t", "body"}); a
refused one to OUT/rejected.jsonl with the reason, and answered 400/401. While the file
OUT/down exists every request is answered 503; while OUT/refuse-EVENT_ID exists, the
webhook with that event ID is, or the batch holding it (a failure in the middle of the
POSTs in flight).
"""
import argparse, hashlib, hmac, json, os, sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--secret", action="append", default=[], help="NAME=SECRET")
ap.add_argument("--hec-token", default="")
args = ap.parse_args()
secrets = dict(s.split("=", 1) for s in args.secret)
seen = set()


def record(name, event_id, body, batch=None):
    dup = (name, event_id) in seen  # each receiver deduplicates its own deliveries
    seen.add((name, event_id))
    rec = {"event_id": event_id, "dup": dup, "t": time.time(), "body": body}
    if batch is not None:
        rec["batch"] = batch
    with open(os.path.join(args.out, name + ".jsonl"), "a") as f:
        f.write(json.dumps(rec) + "\n")


def refused_for_test(eid):
    return eid.isalnum() and os.path.exists(os.path.join(args.out, "refuse-" + eid))


def batch_error(headers, body):
    """Why a batch body is not the documented shape, or None."""
    evs = body.get("events")
    if body.get("type") != "alert.batch" or not isinstance(evs, list) or not evs:
        return "a batch is {\"type\": \"alert.batch\", \"events\": [one or more]}"
    if body.get("count") != len(evs) or headers.get("X-Openmtd-Event-Count") != str(len(evs)):
        return "a batch's count and X-Openmtd-Event-Count differ from its events"
    if headers.get("X-Openmtd-Event-Id") is not None:
        return "a batch has no X-Openmtd-Event-Id"
    for e in evs:
        if not (isinstance(e, dict) and e.get("type") == "alert" and e.get("timestamp") == body["timestamp"]
                and isinstance(e.get("event_id"), str) and e["event_id"] and isinstance(e.get("data"), dict)
                and set(e) == {"type", "timestamp", "event_id", "data"}):
            return "a batch's event is not a single POST's body with the batch's timestamp"
    if len({e["event_id"] for e in evs}) != len(evs):
        return "an event twice in one batch"
    return None


def ocsf_ok(doc):
    return (isinstance(doc, dict) and doc.get("class_uid") == 2004 and doc.get("category_uid") == 2
            and isinstance(doc.get("finding_info"), dict) and doc["finding_info"].get("title")
            and doc.get("metadata", {}).get("version") == "1.3.0")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stall each

    def log_message(self, *a):
        pass

    def answer(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def refuse(self, code, why):
        with open(os.path.join(args.out, "rejected.jsonl"), "a") as f:
            f.write(json.dumps({"path": self.path, "why": why}) + "\n")
        self.answer(code, {"error": why})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        if os.path.exists(os.path.join(args.out, "down")):
            return self.answer(503, {"error": "down"})
        if self.path.startswith("/hook/"):
            return self.webhook(self.path[6:], raw)
        if self.path == "/hec/services/collector/event":
            return self.hec(raw)
        if self.path == "/es/_bulk":
            return self.bulk(raw)
        self.refuse(404, "no such receiver")

    def webhook(self, name, raw):
        key = secrets.get(name)
        sig = self.headers.get("X-Openmtd-Signature", "")
        if key is None:
            return self.refuse(404, "no hook " + name)
        want = "sha256=" + hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(sig, want):
            return self.refuse(401, "bad signature")
        body = json.loads(raw)
        ts = self.headers.get("X-Openmtd-Timestamp", "")
        if str(body.get("timestamp")) != ts or abs(time.time() - int(ts)) > 300:
            return self.refuse(401, "stale or mismatched timestamp")
        if "events" in body or body.get("type") == "alert.batch":
            return self.webhook_batch(name, body)
        if self.headers.get("X-Openmtd-Event-Id") != body.get("event_id"):
            return self.refuse(400, "event id header differs from the body")
        if refused_for_test(str(body.get("event_id"))):
            return self.answer(503, {"error": "refused for the test"})
        record(name, body["event_id"], body)
        self.answer(200, {"ok": True})

    def webhook_batch(self, name, body):
        why = batch_error(self.headers, body)
        if why:
            return self.refuse(400, why)
        if any(refused_for_test(e["event_id"]) for e in body["events"]):
            return self.answer(503, {"error": "refused for the test"})
        for e in body["events"]:
            record(name, e["event_id"], e, len(body["events"]))
        self.answer(200, {"ok": True})

    def hec(self, raw):
        if self.headers.get("Authorization") != "Splunk " + args.hec_token:
            return self.refuse(401, "bad HEC token")
        dec, text, i, events = json.JSONDecoder(), raw.decode(), 0, []
        while i < len(text):
            while i < len(text) and text[i] in " \r\n\t":
                i += 1
            if i == len(text):
                break
            obj, i = dec.raw_decode(text, i)
            events.append(obj)
        for e in events:
            if not (isinstance(e.get("time"), (int, float)) and e.get("host") and e.get("source")
                    and e.get("sourcetype") and ocsf_ok(e.get("event"))):
                return self.refuse(400, "not an HEC event of an OCSF Detection Finding")
        for e in events:
            record("hec", e["event"]["metadata"].get("uid") or e["event"]["finding_info"]["uid"], e)
        self.answer(200, {"text": "Success", "code": 0})

    def bulk(self, raw):
        if self.headers.get("Content-Type") != "application/x-ndjson":
            return self.refuse(400, "bulk needs application/x-ndjson")
        lines = raw.decode().split("\n")
        if lines[-1] != "" or (len(lines) - 1) % 2:
            return self.refuse(400, "bulk body must be action/document pairs ending in a newline")
        pairs = [(json.loads(lines[k]), json.loads(lines[k + 1])) for k in range(0, len(lines) - 1, 2)]
        for act, doc in pairs:
            idx = act.get("index", {})
            if not (idx.get("_index") and idx.get("_id") and ocsf_ok(doc)):
                return self.refuse(400, "bad bulk action or document")
        for act, doc in pairs:
            record("es", act["index"]["_id"], {"index": act["index"]["_index"], "doc": doc})
        self.answer(200, {"took": 1, "errors": False, "items": [{"index": {"status": 201}} for _ in pairs]})


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(args.port_file + ".tmp", args.port_file)
srv.serve_forever()
